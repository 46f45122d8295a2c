/**
 * The history table's lifecycle on dynalite (real DynamoDB wire protocol): events carry the TTL attribute that
 * historyRetentionDays sets (dynalite has no UpdateTimeToLive and never deletes; the attribute is what the deployed
 * table's TTL acts on), and the run parts the fan-out's per-repository steps leave for the digest step.
 */
import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, QueryCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHistoryStore, ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import type { AuditResult } from '../../lambdas/engine/model.js';
import type { RepositoryAudit } from '../../lambdas/engine/scheduled/index.js';
import { DynamoRunPartsStore } from '../../lambdas/engine/scheduled/parts-dynamodb.js';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const DAY_S = 86_400;

let dynalite: DynaliteHandle;
let ddb: DynamoDBClient;
let tables = 0;

async function table(): Promise<string> {
  tables += 1;
  const name = `lifecycle-${tables}`;
  await ensureHistoryTable(ddb, name);
  return name;
}

function result(image: string, status: AuditResult['status'] = 'TAG_MISSING'): AuditResult {
  return {
    image,
    status,
    apps: ['web'],
    locations: [{ file: `apps/${image.length}/deployment.yaml`, line: 12 }],
    evidence: { registry: 'ghcr.io', probes: [] },
  } as unknown as AuditResult;
}

/** Random image names, so that gzip cannot shrink the part below one 300 KB chunk. */
function randomImages(count: number): AuditResult[] {
  return Array.from({ length: count }, (_, i) => result(`ghcr.io/acme/${randomBytes(16).toString('hex')}:v${i}`));
}

function audit(index: number, results: AuditResult[], extra: Partial<RepositoryAudit> = {}): RepositoryAudit {
  return { index, repo: `acme/gitops-${index}`, commit: 'a'.repeat(40), images: results.length, failing: results.length, results, counts: { TAG_MISSING: results.length }, findings: 0, ...extra };
}

beforeAll(async () => {
  dynalite = await startDynalite();
  ddb = localDynamoClient(dynalite.endpoint);
});

afterAll(async () => {
  await dynalite.stop();
});

describe('event retention', () => {
  it('gives every event item (per image, per app, per month) an expiresAt historyRetentionDays after the event', async () => {
    const tableName = await table();
    const store = new DynamoHistoryStore({ client: ddb, tableName, runRetentionDays: 30, clock: () => NOW });
    const at = '2026-11-20T08:00:00.000Z';
    await store.appendEvents([
      { image: 'ghcr.io/acme/web:1.0', kind: 'STATUS_CHANGED', to: 'NEVER_PUSHED', at, runId: 'r1', apps: ['web', 'web-canary'], version: 1 },
    ]);
    const items = (await ddb.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    expect(items).toHaveLength(3);
    const expected = Date.parse(at) / 1000 + 30 * DAY_S;
    for (const item of items) expect(Number(item['expiresAt']?.N)).toBe(expected);
    // The events still read back as they were written.
    expect(await store.listEvents({ image: 'ghcr.io/acme/web:1.0' })).toEqual([
      expect.objectContaining({ image: 'ghcr.io/acme/web:1.0', to: 'NEVER_PUSHED', at, apps: ['web', 'web-canary'] }),
    ]);
  });

  it('leaves current image states without expiresAt: only history expires', async () => {
    const tableName = await table();
    const store = new DynamoHistoryStore({ client: ddb, tableName, runRetentionDays: 30, clock: () => NOW });
    await store.putState({
      image: 'ghcr.io/acme/web:1.0', status: 'NEVER_PUSHED', since: NOW.toISOString(), tracked: true, firstSeenAt: NOW.toISOString(), apps: ['web'],
      locations: [], noVerdictRuns: 0, notifiedVersion: 0, statusVersion: 1, version: 1, lastRunId: 'r1', updatedAt: NOW.toISOString(),
    });
    const items = (await ddb.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    expect(items).toHaveLength(1);
    expect(items[0]).not.toHaveProperty('expiresAt');
  });
});

describe('DynamoRunPartsStore', () => {
  it('returns what each repository step stored, in config order, with its TTL', async () => {
    const tableName = await table();
    const parts = new DynamoRunPartsStore({ client: ddb, tableName, clock: () => NOW });
    await parts.putPart('run-1', audit(2, [result('ghcr.io/acme/c:1')]));
    await parts.putPart('run-1', audit(0, [result('ghcr.io/acme/a:1'), result('ghcr.io/acme/b:1', 'OK')]));
    await parts.putPart('run-1', audit(1, [], { error: 'HttpError: Not Found', failing: 0 }));
    await parts.putPart('run-2', audit(0, [result('ghcr.io/acme/other:1')]));

    const stored = await parts.listParts('run-1');
    expect(stored.map((a) => [a.index, a.repo, a.results.map((r) => r.image), a.error])).toEqual([
      [0, 'acme/gitops-0', ['ghcr.io/acme/a:1', 'ghcr.io/acme/b:1'], undefined],
      [1, 'acme/gitops-1', [], 'HttpError: Not Found'],
      [2, 'acme/gitops-2', ['ghcr.io/acme/c:1'], undefined],
    ]);
    expect(stored[0]).toEqual(audit(0, [result('ghcr.io/acme/a:1'), result('ghcr.io/acme/b:1', 'OK')]));
    const items = (await ddb.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'RUN#run-1' } } }))).Items ?? [];
    for (const item of items) expect(Number(item['expiresAt']?.N)).toBe(NOW.getTime() / 1000 + 48 * 3600);
    expect(await parts.listParts('run-unknown')).toEqual([]);
  });

  it('splits a repository too large for one 400 KB item over several and joins them again', async () => {
    const tableName = await table();
    const parts = new DynamoRunPartsStore({ client: ddb, tableName, clock: () => NOW });
    const many = randomImages(20_000);
    await parts.putPart('big', audit(0, many));
    const items = (await ddb.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'RUN#big' } } }))).Items ?? [];
    expect(items.length).toBeGreaterThan(1);
    const [stored] = await parts.listParts('big');
    expect(stored?.results).toHaveLength(20_000);
    expect(stored?.results[19_999]).toEqual(many[19_999]);
  });

  it('refuses a part with a chunk missing instead of auditing half a repository', async () => {
    const tableName = await table();
    const parts = new DynamoRunPartsStore({ client: ddb, tableName, clock: () => NOW });
    const many = randomImages(20_000);
    await parts.putPart('torn', audit(0, many));
    await ddb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: 'RUN#torn' }, sk: { S: 'PART#00000#001' } } }));
    await expect(parts.listParts('torn')).rejects.toThrow(/part 00000 has 1 of \d+ chunks/);
  });
});
