import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';
import { startFauxqs, type FauxqsHandle } from '../support/sns.js';
import { result, uniqueImage } from './fixtures.js';
import { historyHarness } from './harness.js';

let dynamo: DynaliteHandle;
let fauxqs: FauxqsHandle;
let ddb: DynamoDBClient;

beforeAll(async () => {
  [dynamo, fauxqs] = await Promise.all([startDynalite(), startFauxqs()]);
  ddb = localDynamoClient(dynamo.endpoint);
});

afterAll(async () => {
  ddb?.destroy();
  await Promise.all([dynamo?.stop(), fauxqs?.stop()]);
});

describe('run summary of a retried invocation (same runId)', () => {
  it('keeps the summary of the attempt that recorded the transition and sent the message', async () => {
    const h = await historyHarness(ddb, fauxqs.endpoint);
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
    const h = await historyHarness(ddb, fauxqs.endpoint);
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
