import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryCommand, type BatchWriteItemCommandInput, type BatchWriteItemCommandOutput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoHistoryStore, ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import { HistoryStateLockedError, openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import type { DriftEvent } from '../../lambdas/engine/history/types.js';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';
import { result, uniqueImage } from './fixtures.js';

let dynamo: DynaliteHandle;
let dirs: string[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'image-drift-history-'));
  dirs.push(d);
  return d;
}

describe('local history store (embedded dynalite on disk)', () => {
  it('keeps history across close and reopen, so a second audit reports the transition', async () => {
    const dir = await tempDir();
    const img = 'ghcr.io/acme/api:1.0.0';
    const first = await openLocalHistoryStore(dir);
    const run1 = await trackDrift(
      { runId: 'local-1', repository: 'examples/gitops', startedAt: new Date('2026-11-28T07:00:00Z'), durationMs: 10, results: [result(img, 'OK')] },
      { store: first.store, clock: () => new Date('2026-11-28T07:00:00Z') },
    );
    expect(run1.transitions.map((t) => t.kind)).toEqual(['TRACKED']);
    await first.close();

    const second = await openLocalHistoryStore(dir);
    const run2 = await trackDrift(
      { runId: 'local-2', repository: 'examples/gitops', startedAt: new Date('2026-11-28T08:00:00Z'), durationMs: 10, results: [result(img, 'TAG_MISSING')] },
      { store: second.store, clock: () => new Date('2026-11-28T08:00:00Z') },
    );
    expect(run2.transitions).toEqual([expect.objectContaining({ kind: 'STATUS_CHANGED', from: 'PRESENT', to: 'DISAPPEARED' })]);
    expect(run2.drift.get(img)).toBe('DISAPPEARED');
    expect((await second.store.listRuns()).map((r) => r.runId)).toEqual(['local-2', 'local-1']);
    await second.close();
  });

  it('refuses a second opener of the same directory with a clear error, and frees it on close', async () => {
    const dir = await tempDir();
    const a = await openLocalHistoryStore(dir);
    const err = await openLocalHistoryStore(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryStateLockedError);
    expect((err as Error).message).toContain(`in use by process ${process.pid}`);
    await a.close();
    const b = await openLocalHistoryStore(dir);
    await b.close();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = await tempDir();
    const a = await openLocalHistoryStore(dir);
    await a.close();
    // A pid that cannot be alive (above the kernel's pid_max).
    await writeFile(join(dir, 'dynamodb.lock'), '99999999\n2026-01-01T00:00:00Z\n');
    const b = await openLocalHistoryStore(dir);
    await b.close();
  });
});

describe('DynamoHistoryStore', () => {
  let client: DynamoDBClient;
  beforeAll(() => {
    client = localDynamoClient(dynamo.endpoint);
  });
  afterAll(() => client?.destroy());

  it('retries UnprocessedItems of BatchWriteItem until every event is stored', async () => {
    const tableName = `store-batch-${process.pid}`;
    await ensureHistoryTable(client, tableName);
    // Simulate DynamoDB throttling part of each batch: send only the first half, hand back the rest as unprocessed.
    let batchCalls = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as BatchWriteItemCommandInput;
        const requests = input.RequestItems?.[tableName];
        if (!requests || requests.length < 2) return next(args);
        batchCalls += 1;
        const keep = requests.slice(0, Math.ceil(requests.length / 2));
        const defer = requests.slice(keep.length);
        const out = await next({ ...args, input: { ...input, RequestItems: { [tableName]: keep } } });
        const output = out.output as BatchWriteItemCommandOutput;
        output.UnprocessedItems = { [tableName]: defer };
        return out;
      },
      { step: 'initialize', name: 'throttleHalfOfBatch' },
    );
    const store = new DynamoHistoryStore({ client, tableName, batchBaseDelayMs: 1 });
    const image = uniqueImage('batch');
    const events: DriftEvent[] = Array.from({ length: 30 }, (_, i) => ({
      image,
      kind: 'DIGEST_CHANGED',
      at: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
      runId: `r${i}`,
      apps: [],
      version: i + 1,
    }));
    await store.appendEvents(events);
    client.middlewareStack.remove('throttleHalfOfBatch');
    expect(batchCalls).toBeGreaterThan(2);
    const stored = await client.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `IMG#${image}` } }, Select: 'COUNT' }),
    );
    expect(stored.Count).toBe(30);
  });

  it('rejects a state write whose version was overtaken (optimistic locking)', async () => {
    const tableName = `store-lock-${process.pid}`;
    await ensureHistoryTable(client, tableName);
    const store = new DynamoHistoryStore({ client, tableName });
    const now = new Date('2026-11-28T07:00:00Z');
    const out = await trackDrift({ runId: 'a', repository: 'r', startedAt: now, durationMs: 1, results: [result('x/y:1', 'OK')] }, { store, clock: () => now });
    expect(out.transitions).toHaveLength(1);
    const state = await store.getState('x/y:1');
    expect(state?.version).toBe(1);
    expect(await store.putState({ ...state!, status: 'PRIVATE', version: 2 })).toBe(true);
    expect(await store.putState({ ...state!, status: 'AUTH_FAILED', version: 2 })).toBe(false);
    expect(await store.putState({ ...state!, version: 1 })).toBe(false);
    expect((await store.getState('x/y:1'))?.status).toBe('PRIVATE');
  });

  it('creates the table idempotently with the GSI of HISTORY_TABLE_DESIGN', async () => {
    const tableName = `store-create-${process.pid}`;
    await ensureHistoryTable(client, tableName);
    await ensureHistoryTable(client, tableName);
    const q = await client.send(
      new QueryCommand({ TableName: tableName, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': { S: 'RUNS' } } }),
    );
    expect(q.Items).toEqual([]);
  });
});
