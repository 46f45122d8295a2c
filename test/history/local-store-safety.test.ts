/**
 * The embedded store under contention and damage, with real processes: two processes racing for the lock never
 * both hold it; a damaged store makes `image-drift` exit 3 with a sentence (never exit 1 and a stack trace), is
 * moved aside and rebuilt, and the next run works.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import { result } from './fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LOCK_CHILD = join(import.meta.dirname, 'support/lock-child.ts');
const CLI = join(ROOT, 'dist/cli/image-drift.js');
const RACES = 3;
const RACERS = 3;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'image-drift-store-'));
  dirs.push(d);
  return d;
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { onReady?: (go: () => void) => void } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (options.onReady && stdout.includes('ready\n')) {
        const onReady = options.onReady;
        delete options.onReady;
        onReady(() => child.stdin.end('go\n'));
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `n` lock children and releases them together once all are loaded. */
function startRace(dir: string, n: number, holdMs: number): Promise<Exit[]> {
  const gos: Array<() => void> = [];
  return Promise.all(
    Array.from({ length: n }, () =>
      run(['--import', 'tsx', LOCK_CHILD, dir, 'stdin', String(holdMs)], {
        onReady: (go) => {
          gos.push(go);
          if (gos.length === n) for (const g of gos) g();
        },
      }),
    ),
  );
}

function holding(out: string): { from: number; to: number } | undefined {
  const from = /acquired (\d+)/.exec(out)?.[1];
  const to = /released (\d+)/.exec(out)?.[1];
  return from && to ? { from: Number(from), to: Number(to) } : undefined;
}

async function seedHistory(stateDir: string): Promise<void> {
  const local = await openLocalHistoryStore(stateDir);
  const at = new Date('2026-11-20T08:00:00Z');
  await trackDrift(
    { runId: 'seed', repository: 'org/gitops', startedAt: at, durationMs: 1, results: [result('ghcr.io/acme/api:1.0.0', 'TAG_MISSING')] },
    { store: local.store, clock: () => at },
  );
  await local.close();
}

describe('the embedded history store between processes', () => {
  it(`never lets two racing processes hold the store at once (${RACES} races of ${RACERS}, over a lock a dead process left)`, async () => {
    const overlaps: string[] = [];
    let lockedOut = 0;
    for (let race = 0; race < RACES; race++) {
      const dir = await tempDir();
      // What a process killed by `kill -9` leaves: an owner note naming a pid that is gone.
      await writeFile(join(dir, 'dynamodb.lock'), '99999999\n2026-01-01T00:00:00Z\n');
      const outs = await startRace(dir, RACERS, 700);
      for (const out of outs) expect(out.code, out.stderr).toBe(0);
      const held = outs.map((o) => holding(o.stdout)).filter((h) => h !== undefined);
      expect(held.length).toBeGreaterThanOrEqual(1);
      lockedOut += outs.filter((o) => o.stdout.includes('locked')).length;
      for (const [i, a] of held.entries()) {
        for (const b of held.slice(i + 1)) if (a.from < b.to && b.from < a.to) overlaps.push(`race ${race}: ${JSON.stringify(held)}`);
      }
    }
    expect(overlaps).toEqual([]);
    // The races were real: most of them ended with one process told the store is in use.
    expect(lockedOut).toBeGreaterThan(0);
  }, 180_000);

  it('tells a second audit which process holds the store, with exit 3 and no stack trace; kill -9 frees it', async () => {
    const dir = await tempDir();
    let holderPid = 0;
    const holder = new Promise<Exit>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', LOCK_CHILD, dir, 'now', '600000'], {
        cwd: ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      holderPid = child.pid ?? 0;
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    // Wait until the holder has the lock (it writes the owner note once it holds it).
    for (let i = 0; i < 1200 && !existsSync(join(dir, 'dynamodb.lock')); i++) await new Promise((r) => setTimeout(r, 50));
    const second = await run([CLI, 'open', '--state-dir', dir]);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`in use by process ${holderPid} \\(started `));
    expect(second.stderr).not.toMatch(/\n\s+at /);
    process.kill(holderPid, 'SIGKILL');
    await holder;
    // The kernel released the lock with the process: no stale lock to clean up.
    const after = await run([CLI, 'open', '--state-dir', dir]);
    expect(after.code, after.stderr).toBe(0);
  }, 120_000);
});

describe('a damaged embedded history store', () => {
  const damages: Array<[string, (dataDir: string) => Promise<void>]> = [
    ['a CURRENT file that names no manifest', (d) => writeFile(join(d, 'CURRENT'), 'MANIFEST-999999\n')],
    [
      'a manifest overwritten with garbage',
      async (d) => {
        const manifest = (await readdir(d)).find((f) => f.startsWith('MANIFEST-'));
        await writeFile(join(d, manifest ?? 'MANIFEST-000001'), Buffer.alloc(4096, 0x5a));
      },
    ],
  ];

  for (const [name, damage] of damages) {
    it(`with ${name}: exit 3 "history store unusable", moved aside, rebuilt, and the next run works`, async () => {
      const stateDir = await tempDir();
      await seedHistory(stateDir);
      await damage(join(stateDir, 'dynamodb'));

      const first = await run([CLI, 'open', '--state-dir', stateDir]);
      expect(first.code, first.stderr).toBe(3);
      expect(first.stderr).toContain('history store unusable');
      expect(first.stderr).toMatch(/moved to .*dynamodb\.damaged-/);
      expect(first.stderr).not.toMatch(/\n\s+at /);
      const aside = (await readdir(stateDir)).filter((f) => f.startsWith('dynamodb.damaged-'));
      expect(aside).toHaveLength(1);

      const next = await run([CLI, 'open', '--state-dir', stateDir]);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout).toContain('No open drifts');
    }, 60_000);
  }

  it('with an entry that is not JSON: detected before dynalite reads it, moved aside and rebuilt', async () => {
    const stateDir = await tempDir();
    await seedHistory(stateDir);
    const { createRequire } = await import('node:module');
    const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
    const { Level } = fromDynalite('level') as { Level: new (p: string, o: object) => { put(k: string, v: string): Promise<void>; close(): Promise<void> } };
    const db = new Level(join(stateDir, 'dynamodb'), { valueEncoding: 'utf8' });
    await db.put('!item-image-drift-history!garbage', '{"pk": {"S": "IMG#x"'); // a torn value
    await db.close();

    const first = await run([CLI, 'history', '--state-dir', stateDir]);
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain('history store unusable');
    expect(first.stderr).toContain('unreadable entry');
    const next = await run([CLI, 'history', '--state-dir', stateDir]);
    expect(next.code, next.stderr).toBe(0);
  }, 60_000);
});
