/**
 * The alert policy end to end: the deployed handler (createHandler with real SDK clients) against a real
 * docker-registry behind a GHCR-like token server, a fake GitHub REST API, dynalite, fauxqs (SNS → SQS) and a
 * fake of the Secrets Manager wire protocol; and the CLI's `audit --alerts-preview` against the same servers.
 *
 * The GitOps repository: a private image pulled through its ServiceAccount's imagePullSecrets, the same kind
 * of private image pulled by a workload without any secret, a pod with its own imagePullSecrets, a public
 * image and a tag CI never pushed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHistoryTable } from '../../lambdas/engine/history/dynamodb.js';
import { useCli } from '../cli/harness.js';
import { localDynamoClient, startDynalite, type DynaliteHandle } from '../support/dynamodb.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/secrets-manager.js';
import { startFauxqs, topicWithQueue, type FauxqsHandle } from '../support/sns.js';
import { localContainer } from './e2e-support.js';

const TOKEN = 'ghp_alertsE2eTokenThatMustNeverBeLogged01234';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:image-drift-alerts-AbCdEf';
const COMMIT = '5d41402abc4b2a76b9719d911017c592ae0f1c2b';

const deployment = (name: string, namespace: string, image: string, podSpec = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
${podSpec}      containers:
        - name: ${name}
          image: ${image}
`;

const REPO_FILES: Record<string, string> = {
  'apps/payments/service-account.yaml': `apiVersion: v1
kind: ServiceAccount
metadata:
  name: payments-runner
  namespace: pay
imagePullSecrets:
  - name: ghcr-pull
`,
  'apps/payments/deployment.yaml': deployment('payments', 'pay', 'ghcr.io/acme/payments:2.0.0', '      serviceAccountName: payments-runner\n'),
  'apps/reports/deployment.yaml': deployment('reports', 'pay', 'ghcr.io/acme/reports:1.0.0'),
  'apps/ledger/deployment.yaml': deployment('ledger', 'pay', 'ghcr.io/acme/ledger:3.1.0', '      imagePullSecrets:\n        - name: ghcr-pull\n'),
  'apps/web/deployment.yaml': deployment('web', 'web', 'ghcr.io/acme/web:1.4.2'),
  'apps/api/deployment.yaml': deployment('api', 'web', 'ghcr.io/acme/api:dev-latest'),
};

let registry: LocalRegistry;
let github: FakeGitHub;
let dynalite: DynaliteHandle;
let fauxqs: FauxqsHandle;
let secretsServer: FakeSecretsManager;
let ddb: DynamoDBClient;
let cacheDir: string;
let tables = 0;

function config() {
  return {
    repositories: [{ repo: 'acme/gitops' }],
    registries: { 'ghcr.io': { endpoint: registry.url, credential: { type: 'github-token' } } },
    platforms: ['linux/amd64'],
    github: { baseUrl: github.baseUrl },
  };
}

/** A fresh history table and topic, and a handler container over them. */
async function deployment_(clock: () => Date) {
  tables += 1;
  const table = `alerts-e2e-${tables}`;
  await ensureHistoryTable(ddb, table);
  const topic = await topicWithQueue(fauxqs.endpoint);
  const handler = localContainer({
    env: { IMAGE_DRIFT_CONFIG: JSON.stringify(config()), HISTORY_TABLE_NAME: table, TOPIC_ARN: topic.topicArn, SECRET_ARN },
    namespace: 'ImageDriftAlertsE2E',
    dynamodb: ddb,
    sns: topic.sns,
    secretsEndpoint: secretsServer.endpoint,
    logger: new Logger({ serviceName: 'image-drift-auditor', logLevel: 'ERROR' }),
    clock,
    cacheDir,
    secretTtlMs: 0,
  });
  /** What e-mail subscribers received since the last call: subject and the `email` text. */
  const received = async () =>
    (await topic.drain()).map((m) => {
      // fauxqs delivers the whole MessageStructure document to SQS; real SNS would pick the `email` key for e-mail.
      const doc = JSON.parse(m.message) as { email: string; sqs: string };
      return { subject: m.subject ?? '', message: doc.email, json: JSON.parse(doc.sqs) as { changes: Array<{ kind: string; image: string; status: string }> } };
    });
  return { handler, received, close: () => topic.close() };
}

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'ida-alerts-e2e-'));
  registry = await startLocalRegistry({ tokens: [TOKEN], privateRepositories: ['acme/payments', 'acme/reports', 'acme/ledger'] });
  await registry.pushImage('acme/payments', '2.0.0');
  await registry.pushImage('acme/reports', '1.0.0');
  await registry.pushImage('acme/ledger', '3.1.0');
  await registry.pushImage('acme/web', '1.4.2');
  await registry.pushImage('acme/api', 'latest');
  github = await startFakeGitHub({ token: TOKEN });
  github.addRepository({
    owner: 'acme',
    name: 'gitops',
    private: false,
    defaultBranch: 'main',
    refs: { main: COMMIT },
    archives: { [COMMIT]: await gitHubArchive('acme', 'gitops', COMMIT, REPO_FILES) },
  });
  dynalite = await startDynalite();
  ddb = localDynamoClient(dynalite.endpoint);
  fauxqs = await startFauxqs();
  secretsServer = await startFakeSecretsManager({ [SECRET_ARN]: '{}' });
}, 60_000);

afterAll(async () => {
  ddb?.destroy();
  await Promise.all([registry?.stop(), github?.close(), dynalite?.stop(), fauxqs?.stop(), secretsServer?.stop()]);
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

describe('the deployed auditor alerts by the policy', () => {
  it('a first run with the secret still empty sends one "setup incomplete" message; once it is filled, one digest alerts the pull secret that is missing and the tag never pushed, not the private images that are pulled with a secret', async () => {
    let now = new Date('2026-12-01T08:00:00.000Z');
    const d = await deployment_(() => now);
    secretsServer.setSecret(SECRET_ARN, '{}');
    const first = await d.handler({ id: 'run-1' });
    expect(first.errors).toEqual([]);
    const setup = await d.received();
    expect(setup.map((m) => m.subject)).toEqual(['Setup incomplete: credentials missing · acme/gitops@5d41402']);
    expect(setup[0]?.message).toContain('the auditor secret is empty');
    expect(setup[0]?.message).toContain('registries."ghcr.io".credential (github-token) has no value in the secret');

    secretsServer.setSecret(SECRET_ARN, JSON.stringify({ githubToken: TOKEN }));
    now = new Date('2026-12-01T09:00:00.000Z');
    await d.handler({ id: 'run-2' });
    const alerts = await d.received();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.json.changes.map((c) => [c.kind, c.image, c.status])).toEqual([
      ['new', 'ghcr.io/acme/api:dev-latest', 'NEVER_PUSHED'],
      ['new', 'ghcr.io/acme/reports:1.0.0', 'PULL_SECRET_MISSING'],
    ]);
    expect(alerts[0]?.subject).toBe('2 new drifts · acme/gitops@5d41402');
    expect(alerts[0]?.message).toMatch(/No imagePullSecret on the pod spec or its ServiceAccount for: \S+: Deployment\/pay\/reports \(ServiceAccount default, not in the repository\)/);
    expect(alerts[0]?.message).toContain(`/acme/gitops/blob/${COMMIT}/apps/reports/deployment.yaml#L15`);
    expect(alerts[0]?.message).toContain('Package:  https://ghcr.io/acme/reports');

    now = new Date('2026-12-01T10:00:00.000Z');
    await d.handler({ id: 'run-3' });
    expect(await d.received()).toEqual([]);
    d.close();
  }, 120_000);
});

describe('image-drift audit --alerts-preview', () => {
  const cli = useCli();

  it('writes exactly what the deployed auditor publishes for the same history, run after run', async () => {
    secretsServer.setSecret(SECRET_ARN, JSON.stringify({ githubToken: TOKEN }));
    const d = await deployment_(() => new Date());
    const configFile = join(cli.dir, 'image-drift.config.json');
    writeFileSync(configFile, JSON.stringify(config()));
    const preview = join(cli.dir, 'preview.json');
    /** Run ids and times differ between the two shells; nothing else may. */
    const normalise = (messages: Array<{ subject: string; message: string }>) =>
      messages.map((m) => ({
        subject: m.subject,
        message: m.message.replace(/^Run \S+ · .*$/m, 'Run <id> · <time>').replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/g, '<time>'),
      }));

    for (const step of [1, 2]) {
      if (step === 2) {
        // Something changes between the runs: the missing tag is pushed, a public image disappears.
        await registry.pushImage('acme/api', 'dev-latest');
        await registry.deleteTag('acme/web', '1.4.2');
      }
      await d.handler({ id: `preview-run-${step}` });
      const published = await d.received();
      const run = await cli.run(['audit', '--repo', 'acme/gitops', '--config', configFile, '--alerts-preview', preview, '--format', 'json'], {
        GITHUB_TOKEN: TOKEN,
      });
      expect(run.stderr).not.toContain('Error');
      const previewed = JSON.parse(readFileSync(preview, 'utf8')) as Array<{ subject: string; message: string }>;
      expect(published.length, `step ${step}`).toBe(1);
      expect(normalise(previewed)).toEqual(normalise(published));
    }
    // Restore what other tests expect of the registry.
    await registry.pushImage('acme/web', '1.4.2');
    d.close();
  }, 180_000);
});
