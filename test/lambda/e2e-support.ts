/**
 * What the Lambda end-to-end tests share: the fake AWS credentials every local component accepts, a Deployment
 * manifest, the local AWS components (startLocalAws), and `createHandler` wired to the local components (dynalite, fauxqs, the Secrets Manager fake) the way
 * one Lambda container would be: the real SDK clients over real HTTP, Powertools logger and metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { createHandler, type AuditHandler } from '../../lambdas/audit/handler.js';
import { DynamoHistoryStore, ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/secrets-manager.js';
import { startFauxqs, topicWithQueue, type FauxqsHandle } from '../support/sns.js';

export const AWS = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

/** A Deployment with one container per image (containers named c0, c1…). */
export const deployment = (name: string, ...images: string[]): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
${images.map((image, i) => `        - name: c${i}\n          image: ${image}`).join('\n')}
`;

export interface LocalContainerOptions {
  /** The function's environment; POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE are added. */
  env: Record<string, string>;
  /** The metrics namespace (one per test file, so that EMF lines tell them apart). */
  namespace: string;
  dynamodb: DynamoDBClient;
  /** Absent: the handler builds its own SNS client (from the environment's endpoint). */
  sns?: SNSClient;
  secretsEndpoint: string;
  clock: () => Date;
  cacheDir: string;
  logger?: Logger;
  secretTtlMs?: number;
}

/** One Lambda container: its own secret cache and SDK clients, as a cold start would have. */
export function localContainer(options: LocalContainerOptions): AuditHandler {
  return createHandler({
    env: { POWERTOOLS_SERVICE_NAME: 'image-drift-auditor', POWERTOOLS_METRICS_NAMESPACE: options.namespace, ...options.env },
    dynamodb: options.dynamodb,
    ...(options.sns ? { sns: options.sns } : {}),
    secrets: new SecretsManagerClient({ ...AWS, endpoint: options.secretsEndpoint }),
    logger: options.logger ?? new Logger({ serviceName: 'image-drift-auditor', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: options.namespace, serviceName: 'image-drift-auditor' }),
    clock: options.clock,
    cacheDir: options.cacheDir,
    ...(options.secretTtlMs !== undefined ? { secretTtlMs: options.secretTtlMs } : {}),
  });
}

/** The AWS side of one test file: a history table on dynalite, an SNS topic on fauxqs with a queue, the Secrets Manager fake. */
export interface LocalAws {
  /** dynalite's and fauxqs's endpoints, for other clients (another container, a failing SNS client). */
  dynamoEndpoint: string;
  snsEndpoint: string;
  ddb: DynamoDBClient;
  store: DynamoHistoryStore;
  topic: Awaited<ReturnType<typeof topicWithQueue>>;
  secretsServer: FakeSecretsManager;
  stop(): Promise<void>;
}

export async function startLocalAws(options: { table: string; secrets: Record<string, string>; clock: () => Date }): Promise<LocalAws> {
  const dynalite: DynaliteHandle = await startDynalite();
  const ddb = localDynamoClient(dynalite.endpoint);
  await ensureHistoryTable(ddb, options.table);
  const store = new DynamoHistoryStore({ client: ddb, tableName: options.table, clock: options.clock });
  const fauxqs: FauxqsHandle = await startFauxqs();
  const topic = await topicWithQueue(fauxqs.endpoint);
  const secretsServer = await startFakeSecretsManager(options.secrets);
  return {
    dynamoEndpoint: dynalite.endpoint,
    snsEndpoint: fauxqs.endpoint,
    ddb,
    store,
    topic,
    secretsServer,
    async stop() {
      topic.close();
      ddb.destroy();
      await Promise.all([dynalite.stop(), fauxqs.stop(), secretsServer.stop()]);
    },
  };
}
