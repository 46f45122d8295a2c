/**
 * DynamoDB requests of trackDrift for 1,000 images: a first run, a run in which nothing changed,
 * and a run with a handful of changes. Counts requests by operation with SDK middleware, against
 * dynalite in process (same wire protocol). Usage: npx tsx bench/history.ts
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { DynamoHistoryStore, ensureHistoryTable } from '../lambdas/engine/history/dynamodb.js';
import { trackDrift } from '../lambdas/engine/history/index.js';
import type { AuditResult, Verdict } from '../lambdas/engine/model.js';
import type { Notifier } from '../lambdas/engine/notify/types.js';

const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 1000);
const WRITE_OPS = new Set(['PutItemCommand', 'UpdateItemCommand', 'BatchWriteItemCommand', 'DeleteItemCommand']);

function results(changed: number): AuditResult[] {
  return Array.from({ length: IMAGES }, (_, i) => {
    let status: Verdict = i % 50 === 0 ? 'TAG_MISSING' : 'OK';
    if (i >= 1 && i <= changed) status = 'TAG_MISSING';
    return {
      image: `ghcr.io/acme/service-${i}:1.${i % 7}.0`,
      status,
      evidence: status === 'OK' ? { anonymous: { http: 200, digest: `sha256:${String(i).padStart(64, '0')}` } } : { anonymous: { http: 404, code: 'MANIFEST_UNKNOWN' } },
      hint: status === 'OK' ? '' : 'Push the tag.',
      apps: [`app-${i % 40}`],
      locations: [{ file: `apps/app-${i % 40}/deployment.yaml`, line: 10 + (i % 30) }],
    };
  });
}

async function main(): Promise<void> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });

  let counts: Record<string, number> = {};
  let batchItems = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = context.commandName ?? 'unknown';
      counts[op] = (counts[op] ?? 0) + 1;
      if (op === 'BatchWriteItemCommand') {
        const input = args.input as { RequestItems?: Record<string, unknown[]> };
        for (const reqs of Object.values(input.RequestItems ?? {})) batchItems += reqs.length;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );

  await ensureHistoryTable(client, 'bench-history');
  const store = new DynamoHistoryStore({ client, tableName: 'bench-history' });
  let published = 0;
  const notifier: Notifier = {
    async publish() {
      published += 1;
      return { messageId: `m${published}` };
    },
  };

  let t = new Date('2026-11-28T08:00:00Z');
  const measure = async (label: string, changed: number) => {
    counts = {};
    batchItems = 0;
    published = 0;
    const started = Date.now();
    const out = await trackDrift(
      { runId: label, repository: 'org/gitops', commit: 'a1b2c3d', startedAt: t, durationMs: 0, results: results(changed) },
      { store, notifier, clock: () => t },
    );
    t = new Date(t.getTime() + 15 * 60_000);
    const writes = Object.entries(counts).filter(([op]) => WRITE_OPS.has(op)).reduce((n, [, c]) => n + c, 0);
    const total = Object.values(counts).reduce((n, c) => n + c, 0);
    return {
      run: label,
      transitions: out.transitions.length,
      messagesPublished: published,
      requests: total,
      writeRequests: writes,
      readRequests: total - writes,
      batchWriteItems: batchItems,
      byOperation: counts,
      wallMs: Date.now() - started,
    };
  };

  const report = {
    images: IMAGES,
    runs: [await measure('first-run', 0), await measure('nothing-changed', 0), await measure('five-changed', 5)],
    note: 'requests counted by SDK middleware against dynalite; wallMs is local and not a DynamoDB latency figure',
  };
  console.log(JSON.stringify(report, null, 2));
  client.destroy();
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
}

await main();
