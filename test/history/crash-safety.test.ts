/**
 * Crash safety of the history: a real `kill -9` of a child process at many points of its history phase, then a
 * rerun. Every transition must end up with exactly one event: none lost, none doubled.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';

const CHILD = join(import.meta.dirname, 'support/history-child.ts');
const IMAGES = 200;
const TRIALS = 5;
const T_SEED = '2026-11-20T08:00:00.000Z';
const T_FLIP = '2026-11-20T09:00:00.000Z';
const T_RERUN = '2026-11-20T10:00:00.000Z';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'image-drift-crash-'));
  dirs.push(d);
  return d;
}

interface ChildOutcome {
  finished: boolean;
  killed: boolean;
  /** Milliseconds from the start of the history phase to the end (or the kill). */
  phaseMs: number;
  stderr: string;
}

/** Runs the child; with `killAfterMs`, sends SIGKILL that long after it entered the history phase. */
function runChild(dir: string, runId: string, verdict: string, time: string, killAfterMs?: number): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, runId, verdict, String(IMAGES), time], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let phaseStart = 0;
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (!phaseStart && out.includes('history-phase\n')) {
        phaseStart = performance.now();
        if (killAfterMs !== undefined) {
          setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const finished = /done \d+ 0\n/.test(out);
      if (!finished && signal !== 'SIGKILL') {
        reject(new Error(`child failed (exit ${code}): ${stderr.slice(-2000)}`));
        return;
      }
      resolve({ finished, killed: killed && signal === 'SIGKILL', phaseMs: performance.now() - phaseStart, stderr });
    });
  });
}

async function inspect(dir: string) {
  const local = await openLocalHistoryStore(dir);
  try {
    const states = await local.store.loadActiveStates();
    const events = await local.store.listEvents({ since: new Date(T_SEED), limit: IMAGES * 10 });
    return {
      disappeared: states.filter((s) => s.status === 'DISAPPEARED').length,
      states: states.length,
      disappearedEvents: events.filter((e) => e.to === 'DISAPPEARED'),
      trackedEvents: events.filter((e) => e.kind === 'TRACKED'),
    };
  } finally {
    await local.close();
  }
}

describe('history under kill -9', () => {
  it(`loses no event when the process is killed at ${TRIALS} points of the history phase and run again`, async () => {
    const seeded = await tempDir();
    // The first run writes as many states and events as the second: its history phase times the kill points.
    const seed = await runChild(seeded, 'seed', 'OK', T_SEED);
    expect(seed.finished).toBe(true);

    const trials: Array<{ killAtMs: number; killed: boolean; writtenBeforeKill: number; lost: number; doubled: number }> = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = await tempDir();
      await cp(seeded, dir, { recursive: true });
      const killAtMs = Math.round(((trial + 0.5) / TRIALS) * seed.phaseMs);
      const killedRun = await runChild(dir, 'flip', 'TAG_MISSING', T_FLIP, killAtMs);
      const afterKill = await inspect(dir);
      const rerun = await runChild(dir, 'flip-rerun', 'TAG_MISSING', T_RERUN);
      expect(rerun.finished).toBe(true);
      const converged = await inspect(dir);
      const perImage = new Map<string, number>();
      for (const e of converged.disappearedEvents) perImage.set(e.image, (perImage.get(e.image) ?? 0) + 1);
      trials.push({
        killAtMs,
        killed: killedRun.killed,
        writtenBeforeKill: afterKill.disappeared,
        lost: IMAGES - perImage.size,
        doubled: [...perImage.values()].filter((n) => n > 1).length,
      });
      expect(converged.disappeared).toBe(IMAGES);
      expect(converged.trackedEvents).toHaveLength(IMAGES);
    }
    if (process.env.IMAGE_DRIFT_TEST_REPORT) console.info(JSON.stringify({ phaseMs: Math.round(seed.phaseMs), trials }));
    expect(trials.map((t) => ({ lost: t.lost, doubled: t.doubled }))).toEqual(trials.map(() => ({ lost: 0, doubled: 0 })));
    // The kills really landed inside the phase: at least one left some, but not all, transitions written.
    expect(trials.some((t) => t.killed && t.writtenBeforeKill > 0 && t.writtenBeforeKill < IMAGES)).toBe(true);
  }, 300_000);
});
