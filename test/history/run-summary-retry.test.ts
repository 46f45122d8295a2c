import { describe, expect, it } from 'vitest';

import { result, uniqueImage } from './fixtures.js';
import { historyHarness, useLocalAwsServers } from './harness.js';

const servers = useLocalAwsServers();

describe('run summary of a retried invocation (same runId)', () => {
  it('keeps the summary of the attempt that recorded the transition and sent the message', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('r0', [result(img, 'OK')]);
    h.advanceMinutes(60);
    await h.run('r1', [result(img, 'TAG_MISSING')]);
    expect(await h.published()).toHaveLength(1);
    h.advanceMinutes(1);
    const retry = await h.run('r1', [result(img, 'TAG_MISSING')]);
    expect(retry.transitions).toEqual([]);
    const runs = (await h.store.listRuns({ limit: 10 })).filter((run) => run.runId === 'r1');
    expect(runs).toEqual([expect.objectContaining({ transitions: 1, notification: expect.objectContaining({ sent: true }) })]);
    h.close();
  });

  it('lets a retry that did something replace the summary of an attempt that did nothing', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('r0', [result(img, 'OK')]);
    h.advanceMinutes(60);
    await h.run('r1', [result(img, 'OK')], { errors: ['org/gitops: first attempt failed'] });
    h.advanceMinutes(1);
    await h.run('r1', [result(img, 'TAG_MISSING')]);
    const runs = (await h.store.listRuns({ limit: 10 })).filter((run) => run.runId === 'r1');
    expect(runs).toEqual([expect.objectContaining({ transitions: 1, errors: [] })]);
    h.close();
  });
});
