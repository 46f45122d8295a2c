/**
 * Completeness in history (issue 9): while part of the desired state could not be read (a merge-conflict marker,
 * a missing path, a failed build...), the images last desired there are held as they are — no "no longer
 * desired", no alert — and the same drift continues once the part is readable again. Run on both stores:
 * DynamoDB (dynalite, alerts through fauxqs) and the CLI's embedded local store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import { trackDrift, type TrackDriftInput } from '../../lambdas/engine/history/index.js';
import type { AuditResult, UnknownScope } from '../../lambdas/engine/model.js';
import type { Notifier, OutgoingMessage } from '../../lambdas/engine/notify/types.js';
import { result, uniqueImage } from './fixtures.js';
import { historyHarness, T0, useLocalAwsServers } from './harness.js';

const servers = useLocalAwsServers();

const OVERLAY = 'overlays/dev/kustomization.yaml';
const inDev = (image: string, status: AuditResult['status']) => result(image, status, { apps: ['dev'], file: OVERLAY, line: 9 });
const inProd = (image: string, status: AuditResult['status']) => result(image, status, { apps: ['prod'], file: 'overlays/prod/kustomization.yaml', line: 9 });

/** A merge-conflict marker in the dev overlay: dev is unknown, prod resolved in full. */
const devUnknown: UnknownScope = {
  apps: [{ name: 'dev', cause: `YAML_ERROR at ${OVERLAY}:7` }],
  files: [{ file: OVERLAY }],
  resolvedApps: ['prod'],
};

describe('trackDrift holds what the run could not read (DynamoDB on dynalite, alerts on fauxqs)', () => {
  it('an open drift whose overlay cannot be parsed is neither closed nor announced, and continues unchanged once fixed', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const missing = uniqueImage('dev-api');
    const prod = uniqueImage('prod-api');
    const first = await h.run('run-1', [inDev(missing, 'TAG_MISSING'), inProd(prod, 'OK')]);
    expect(first.drift.get(missing)).toBe('NEVER_PUSHED');
    expect((await h.published()).flatMap((m) => m.payload.changes.map((c) => c.kind))).toEqual(['new']);

    h.advanceMinutes(60);
    // run 2: the dev overlay holds a conflict marker, so dev renders nothing.
    const second = await trackDrift(input('run-2', h.now(), [inProd(prod, 'OK')], devUnknown), { store: h.store, notifier: h.notifier, clock: h.now });
    expect(second.transitions).toEqual([]);
    expect(second.heldUnknown).toEqual([missing]);
    expect(await h.published()).toEqual([]);
    expect(await h.store.getState(missing)).toMatchObject({ tracked: true, status: 'NEVER_PUSHED' });

    h.advanceMinutes(60);
    // run 3: fixed; the same tag is still missing.
    const third = await h.run('run-3', [inDev(missing, 'TAG_MISSING'), inProd(prod, 'OK')]);
    expect(third.transitions).toEqual([]);
    expect(third.drift.get(missing)).toBe('NEVER_PUSHED');
    expect(await h.published()).toEqual([]);
    const events = await h.store.listEvents({ image: missing });
    expect(events.map((event) => [event.kind, event.to ?? 'untracked'])).toEqual([['TRACKED', 'NEVER_PUSHED']]);
    h.close();
  });

  it('still closes an image that an app resolved in full no longer desires, in the same run', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const held = uniqueImage('dev-held');
    const dropped = uniqueImage('prod-dropped');
    await h.run('run-1', [inDev(held, 'TAG_MISSING'), inProd(dropped, 'TAG_MISSING')]);
    await h.published();
    h.advanceMinutes(60);
    const out = await trackDrift(input('run-2', h.now(), [], devUnknown), { store: h.store, notifier: h.notifier, clock: h.now });
    expect(out.transitions.map((t) => [t.image, t.kind])).toEqual([[dropped, 'UNTRACKED']]);
    expect(out.heldUnknown).toEqual([held]);
    expect((await h.published()).flatMap((m) => m.payload.changes.map((c) => [c.image, c.kind]))).toEqual([[dropped, 'no-longer-desired']]);
    h.close();
  });

  it('holds an image whose file could not be read, and one whose app vanished while something is unknown (its declaration may be the unreadable file)', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const inBrokenFile = uniqueImage('broken-file');
    const vanished = uniqueImage('vanished');
    await h.run('run-1', [result(inBrokenFile, 'TAG_MISSING', { apps: ['prod'], file: 'base/api.yaml' }), result(vanished, 'TAG_MISSING', { apps: ['staging'] })]);
    h.advanceMinutes(60);
    const unknown: UnknownScope = { apps: [], files: [{ file: 'base/api.yaml' }, { file: 'apps/staging.yaml' }], resolvedApps: ['prod'] };
    const out = await trackDrift(input('run-2', h.now(), [], unknown), { store: h.store, clock: h.now });
    expect(out.transitions).toEqual([]);
    expect(out.heldUnknown).toEqual([inBrokenFile, vanished].sort());
    h.close();
  });

  it('an image desired only by unknown apps opens no state (no "new" alert), and continues one that is tracked', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const tracked = uniqueImage('tracked');
    const placeholder = uniqueImage('placeholder');
    await h.run('run-1', [inDev(tracked, 'TAG_MISSING')]);
    await h.published();
    h.advanceMinutes(60);
    // The base behind the unreadable dev overlay now looks like a unit of its own, with its placeholder tag.
    const base = (image: string) => result(image, 'TAG_MISSING', { apps: ['base'], file: 'base/web.yaml' });
    const unknown: UnknownScope = { ...devUnknown, apps: [...devUnknown.apps, { name: 'base', cause: `YAML_ERROR at ${OVERLAY}:7` }] };
    const out = await trackDrift(input('run-2', h.now(), [base(placeholder), base(tracked)], unknown), { store: h.store, notifier: h.notifier, clock: h.now });
    expect(out.transitions).toEqual([]);
    expect(out.drift.has(placeholder)).toBe(false);
    expect(out.drift.get(tracked)).toBe('NEVER_PUSHED');
    expect(await h.store.getState(placeholder)).toBeUndefined();
    expect(await h.published()).toEqual([]);
    h.close();
  });

  it('holds every image when the source was read in part (whole scope), as an unreadable repository does', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const image = uniqueImage('whole');
    await h.run('run-1', [inProd(image, 'TAG_MISSING')]);
    h.advanceMinutes(60);
    const out = await trackDrift(input('run-2', h.now(), [], { apps: [], files: [{ file: '' }], resolvedApps: ['prod'], whole: true }), { store: h.store, clock: h.now });
    expect(out.transitions).toEqual([]);
    expect(out.heldUnknown).toEqual([image]);
    h.close();
  });
});

describe('trackDrift holds what the run could not read (the CLI\'s local store)', () => {
  it('an unchanged drift across a broken and a fixed run: one "new" alert in all, no "no longer desired"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'image-drift-unknown-'));
    const messages: OutgoingMessage[] = [];
    const notifier: Notifier = {
      async publish(message) {
        messages.push(message);
        return { messageId: `m-${messages.length}` };
      },
    };
    const kinds = () => messages.map((m) => JSON.stringify(m.attributes?.['kinds'] ?? ''));
    const missing = uniqueImage('local-dev');
    let now = T0;
    const clock = () => now;
    const run = async (runId: string, results: AuditResult[], unknown?: UnknownScope) => {
      const local = await openLocalHistoryStore(dir);
      try {
        return await trackDrift(input(runId, now, results, unknown), { store: local.store, notifier, clock });
      } finally {
        await local.close();
      }
    };
    try {
      await run('run-1', [inDev(missing, 'TAG_MISSING')]);
      expect(messages).toHaveLength(1);
      now = new Date(T0.getTime() + 3_600_000);
      const second = await run('run-2', [], devUnknown);
      expect(second.transitions).toEqual([]);
      expect(second.heldUnknown).toEqual([missing]);
      now = new Date(T0.getTime() + 7_200_000);
      const third = await run('run-3', [inDev(missing, 'TAG_MISSING')]);
      expect(third.transitions).toEqual([]);
      expect(third.drift.get(missing)).toBe('NEVER_PUSHED');
      expect(messages).toHaveLength(1);
      expect(kinds()).toEqual([expect.stringContaining('new')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function input(runId: string, startedAt: Date, results: AuditResult[], unknown?: UnknownScope): TrackDriftInput {
  return { runId, repository: 'org/gitops', startedAt, durationMs: 1, results, ...(unknown ? { unknown } : {}) };
}
