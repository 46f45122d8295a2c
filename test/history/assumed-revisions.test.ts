/**
 * History and assumed revisions: an app whose revision cannot be read shows the audited tree's images,
 * marked `revisionAssumed`. Flipping between read and assumed must not by itself open ("new",
 * NEVER_PUSHED/DISAPPEARED) or close ("no longer desired") a drift state.
 */
import { describe, expect, it } from 'vitest';
import { result, uniqueImage } from './fixtures.js';
import { historyHarness, useLocalAwsServers } from './harness.js';

const servers = useLocalAwsServers();

const assumed = (image: string, status: Parameters<typeof result>[1]) => ({ ...result(image, status, { apps: ['dev'] }), revisionAssumed: true as const });

describe('trackDrift with assumed revisions', () => {
  it('an image desired only through an assumed revision neither opens a state nor alerts, even when missing', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const image = uniqueImage('assumed-only');
    const out = await h.run('run-1', [assumed(image, 'TAG_MISSING')]);
    expect(out.drift.has(image)).toBe(false);
    expect(out.transitions).toEqual([]);
    expect(await h.published()).toHaveLength(0);
    expect(await h.store.listEvents({ image })).toEqual([]);
    h.close();
  });

  it('a tracked image now desired only through an assumed revision is held as it is: not DISAPPEARED, not closed', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const branchImage = uniqueImage('from-branch');
    const treeImage = uniqueImage('from-tree');
    await h.run('run-1', [result(branchImage, 'OK', { apps: ['dev'] })]);
    h.advanceMinutes(15);
    // The branch was deleted: the app falls back to the audited tree, which asks for the same image (now missing) and a new one.
    const out = await h.run('run-2', [assumed(treeImage, 'TAG_MISSING'), assumed(branchImage, 'TAG_MISSING')]);
    expect(out.transitions).toEqual([]);
    expect(await h.published()).toHaveLength(0);
    const events = await h.store.listEvents({ image: branchImage });
    expect(events.map((event) => [event.kind, event.to])).toEqual([['TRACKED', 'PRESENT']]);
    h.close();
  });

  it('an app that flips to assumed keeps what it last synced: its old image, gone from the audited tree, is held, not "no longer desired"', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const synced = uniqueImage('synced-from-branch');
    const treeImage = uniqueImage('audited-tree');
    const prodOnly = uniqueImage('prod-only');
    await h.run('run-1', [result(synced, 'TAG_MISSING', { apps: ['dev'] }), result(prodOnly, 'OK', { apps: ['prod'] })]);
    h.advanceMinutes(15);
    await h.published(); // run 1's alert
    // dev's branch was deleted: the audited tree stands in and asks for another image; prod dropped its image for real.
    const out = await h.run('run-2', [assumed(treeImage, 'OK')]);
    expect(out.transitions.map((transition) => transition.image)).toEqual([prodOnly]);
    expect(out.drift.has(synced)).toBe(false);
    expect((await h.published()).map((message) => message.text).join('\n')).not.toContain(synced);
    const events = await h.store.listEvents({ image: synced });
    expect(events.map((event) => event.to)).toEqual(['NEVER_PUSHED']);
    expect((await h.store.loadActiveStates()).find((state) => state.image === synced)).toMatchObject({ tracked: true, status: 'NEVER_PUSHED' });
    h.close();
  });

  it('an app assumed for only some of an image\'s entries still holds its other old images (assumedApps)', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const old = uniqueImage('dev-old');
    const shared = uniqueImage('shared');
    await h.run('run-1', [result(old, 'OK', { apps: ['dev'] }), result(shared, 'OK', { apps: ['dev', 'prod'] })]);
    h.advanceMinutes(15);
    const out = await h.run('run-2', [{ ...result(shared, 'OK', { apps: ['dev', 'prod'] }), assumedApps: ['dev'] }]);
    expect(out.transitions).toEqual([]);
    expect((await h.store.loadActiveStates()).find((state) => state.image === old)).toMatchObject({ tracked: true });
    h.close();
  });

  it('the same image desired by an app that was read counts as usual', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const image = uniqueImage('both');
    const out = await h.run('run-1', [result(image, 'TAG_MISSING', { apps: ['prod'] })]);
    expect(out.drift.get(image)).toBe('NEVER_PUSHED');
    h.close();
  });
});
