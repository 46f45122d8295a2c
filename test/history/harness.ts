/** A history table on dynalite plus an SNS topic on fauxqs with an SQS queue to read what was published. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoHistoryStore, ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import { trackDrift, type TrackDriftOptions } from '../../lambdas/engine/history/index.js';
import type { AuditResult } from '../../lambdas/engine/model.js';
import { SnsNotifier } from '../../lambdas/engine/notify/sns.js';
import type { Notifier } from '../../lambdas/engine/notify/types.js';
import type { AlertPolicy } from '../../lambdas/engine/notify/policy.js';
import { afterAll, beforeAll } from 'vitest';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';
import { startFauxqs, topicWithQueue, type FauxqsHandle, type ReceivedNotification } from '../support/sns.js';

export const T0 = new Date('2026-11-02T08:00:00.000Z');
export const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

let tables = 0;

export interface Published extends ReceivedNotification {
  text: string;
  payload: { changes: Array<{ kind: string; image: string; status: string }>; part: { index: number; total: number } };
}

export async function historyHarness(ddb: DynamoDBClient, snsEndpoint: string, options: TrackDriftOptions = {}) {
  tables += 1;
  const tableName = `history-${process.pid}-${tables}`;
  await ensureHistoryTable(ddb, tableName);
  let now = T0;
  const store = new DynamoHistoryStore({ client: ddb, tableName, clock: () => now });
  const topic = await topicWithQueue(snsEndpoint);
  const notifier = new SnsNotifier({ client: topic.sns, topicArn: topic.topicArn, baseDelayMs: 5 });
  return {
    store,
    tableName,
    topicArn: topic.topicArn,
    notifier,
    advanceMinutes(minutes: number) {
      now = new Date(now.getTime() + minutes * 60_000);
    },
    now: () => now,
    run(
      runId: string,
      results: AuditResult[],
      extra: { notifier?: Notifier | null; errors?: string[]; complete?: boolean; policy?: AlertPolicy; setupIncomplete?: string[] } = {},
    ) {
      const n = extra.notifier === null ? undefined : (extra.notifier ?? notifier);
      return trackDrift(
        {
          runId,
          repository: 'org/gitops',
          commit: COMMIT,
          startedAt: now,
          durationMs: 1234,
          results,
          ...(extra.errors ? { errors: extra.errors } : {}),
          ...(extra.complete !== undefined ? { complete: extra.complete } : {}),
          ...(extra.setupIncomplete ? { setupIncomplete: extra.setupIncomplete } : {}),
        },
        { store, ...(n ? { notifier: n } : {}), ...(extra.policy ? { policy: extra.policy } : {}), clock: () => now, options },
      );
    },
    /** Everything published since the last call, with the email text and the sqs JSON unpacked. */
    async published(): Promise<Published[]> {
      const got = await topic.drain();
      return got.map((m) => {
        // fauxqs delivers the whole MessageStructure document to SQS; real SNS would pick the `sqs` key.
        const doc = JSON.parse(m.message) as { default: string; email: string; sqs: string; lambda: string; https: string };
        return { ...m, text: doc.email, payload: JSON.parse(doc.sqs) as Published['payload'] };
      });
    },
    close() {
      topic.close();
    },
  };
}

/** Starts dynalite and fauxqs once for a test file; the getters are valid inside tests. */
export function useLocalAwsServers(): { readonly ddb: DynamoDBClient; readonly snsEndpoint: string } {
  let dynamo: DynaliteHandle | undefined;
  let fauxqs: FauxqsHandle | undefined;
  let client: DynamoDBClient | undefined;
  beforeAll(async () => {
    [dynamo, fauxqs] = await Promise.all([startDynalite(), startFauxqs()]);
    client = localDynamoClient(dynamo.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await Promise.all([dynamo?.stop(), fauxqs?.stop()]);
  });
  return {
    get ddb() {
      if (!client) throw new Error('dynalite is not started yet (use the servers inside a test)');
      return client;
    },
    get snsEndpoint() {
      if (!fauxqs) throw new Error('fauxqs is not started yet (use the servers inside a test)');
      return fauxqs.endpoint;
    },
  };
}
