/**
 * End to end through the deployed entry point: `createHandler` with real SDK clients pointed at local
 * components — a real docker-registry behind a GHCR-like token server (through a fault proxy), a fake
 * GitHub REST API serving the GitOps repository's tarball, dynalite, fauxqs (SNS → SQS) and a fake of the
 * Secrets Manager wire protocol. Each step is one scheduled invocation; what subscribers receive is read
 * from an SQS queue subscribed to the topic, what was recorded from the history table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoHistoryStore } from '../../lambdas/engine/history/dynamodb.js';
import { localDynamoClient } from '../support/dynamodb.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import type { FakeSecretsManager } from '../support/secrets-manager.js';
import { localSnsClient, startFakeSns } from '../support/sns.js';
import { localContainer, startLocalAws, type LocalAws } from './e2e-support.js';

const TOKEN = 'ghp_e2eTokenThatMustNeverBeLogged0123456789';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:image-drift-auditor-AbCdEf';
const TABLE = 'image-drift-history-e2e';
const COMMIT = '3f9c2e1a7b4d5e6f708192a3b4c5d6e7f8091a2b';
const COMMIT_WITHOUT_WEB = '9a8b7c6d5e4f30211f2e3d4c5b6a79881726354a';
const COMMIT_WITH_CONFLICT = 'c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe';
const METRICS_NAMESPACE = 'ImageDriftAuditorE2E';

const NEVER_PUSHED = 'ghcr.io/acme/auth-api:dev-latest';
const MIGRATIONS = 'ghcr.io/acme/auth-api-migrations:latest';
const ENVOY = 'ghcr.io/acme/envoy-proxy:1.30.0';
const WEB = 'ghcr.io/acme/web:1.4.2';
const ALL = [NEVER_PUSHED, MIGRATIONS, ENVOY, WEB].sort();

/** The GitOps repository: a kustomize base with a dev overlay (the incident's dev-latest) and a plain app. */
const REPO_FILES: Record<string, string> = {
  'apps/auth-api-dev.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: auth-api-dev
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/acme/gitops.git
    targetRevision: HEAD
    path: services/auth-api/overlays/dev
  destination:
    server: https://kubernetes.default.svc
    namespace: auth-dev
`,
  'apps/web.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/acme/gitops.git
    targetRevision: HEAD
    path: services/web
  destination:
    server: https://kubernetes.default.svc
    namespace: web
`,
  'services/auth-api/base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n',
  'services/auth-api/base/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: auth-api
spec:
  selector:
    matchLabels: { app: auth-api }
  template:
    metadata:
      labels: { app: auth-api }
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/auth-api-migrations:latest
      containers:
        - name: auth-api
          image: ghcr.io/acme/auth-api:latest
        - name: envoy
          image: ghcr.io/acme/envoy-proxy:1.30.0
`,
  'services/auth-api/overlays/dev/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/auth-api
    newTag: dev-latest
`,
  'services/web/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
`,
};

/** Everything the process writes to stdout/stderr while installed (Powertools logs and EMF metrics). */
function captureOutput() {
  const lines: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const sink = (chunk: string | Uint8Array): boolean => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  process.stdout.write = sink as typeof process.stdout.write;
  process.stderr.write = sink as typeof process.stderr.write;
  return {
    lines,
    text: () => lines.join(''),
    restore() {
      process.stdout.write = out;
      process.stderr.write = err;
    },
  };
}

interface Received {
  subject: string | null;
  payload: { runId: string; changes: Array<{ kind: string; image: string; status: string; verdict?: string }> };
}

let registry: LocalRegistry;
let proxy: FaultProxy;
let github: FakeGitHub;
let aws: LocalAws;
let secretsServer: FakeSecretsManager;
let ddb: DynamoDBClient;
let topic: LocalAws['topic'];
let store: DynamoHistoryStore;
let cacheDir: string;
let output: ReturnType<typeof captureOutput>;
let now = new Date('2026-11-28T06:00:00.000Z');
const clock = () => now;

function lambdaEnv(topicArn: string, repositories = ['acme/gitops'], githubBaseUrl = github.baseUrl): Record<string, string> {
  return {
    IMAGE_DRIFT_CONFIG: JSON.stringify({
      repositories: repositories.map((repo) => ({ repo })),
      registries: { 'ghcr.io': { endpoint: proxy.url, credential: { type: 'github-token' } } },
      platforms: ['linux/amd64'],
      unverifiedAfterRuns: 2,
      reminderIntervalHours: 24,
      github: { baseUrl: githubBaseUrl },
    }),
    HISTORY_TABLE_NAME: TABLE,
    TOPIC_ARN: topicArn,
    SECRET_ARN: SECRET_ARN,
  };
}

/** One Lambda container: its own secret cache and SDK clients, as a cold start would have. */
function container(options: { sns?: SNSClient; dynamodb?: DynamoDBClient; logger?: Logger; repositories?: string[]; githubBaseUrl?: string } = {}) {
  return localContainer({
    env: lambdaEnv(topic.topicArn, options.repositories, options.githubBaseUrl),
    namespace: METRICS_NAMESPACE,
    dynamodb: options.dynamodb ?? ddb,
    sns: options.sns ?? topic.sns,
    secretsEndpoint: secretsServer.endpoint,
    logger: options.logger ?? new Logger({ serviceName: 'image-drift-auditor', logLevel: 'DEBUG' }),
    clock,
    cacheDir,
  });
}

/** The next scheduled tick, an hour later. */
function tick(): void {
  now = new Date(now.getTime() + 3_600_000);
}

/** Every SNS envelope the queue received in this file, raw. */
const allReceived: string[] = [];

async function received(): Promise<Received[]> {
  const got = await topic.drain();
  allReceived.push(...got.map((m) => JSON.stringify(m)));
  return got.map((m) => {
    // fauxqs delivers the whole MessageStructure document to SQS; real SNS would pick the `sqs` key.
    const doc = JSON.parse(m.message) as { sqs: string };
    return { subject: m.subject, payload: JSON.parse(doc.sqs) as Received['payload'] };
  });
}

const changesOf = (messages: Received[]) => messages.flatMap((m) => m.payload.changes.map((c) => [c.kind, c.image, c.status]));

/** Values of one metric in the EMF documents Powertools printed. */
function metricValues(lines: readonly string[], name: string): number[] {
  const values: number[] = [];
  for (const line of lines.join('').split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const value = (JSON.parse(line) as Record<string, unknown>)[name];
    if (typeof value === 'number') values.push(value);
    else if (Array.isArray(value)) values.push(...value.filter((v): v is number => typeof v === 'number'));
  }
  return values;
}

/** A DynamoDB client whose writes of one image's state fail, as under throttling. */
function clientFailingStateWritesOf(image: string): DynamoDBClient {
  const client = localDynamoClient(aws.dynamoEndpoint);
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Item?: Record<string, { S?: string }> };
      if (input.Item?.['sk']?.S === 'STATE' && input.Item['image']?.S === image) {
        throw Object.assign(new Error('injected: write capacity exceeded'), { name: 'ProvisionedThroughputExceededException' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failStateWrites' },
  );
  return client;
}

async function eventsOf(image: string) {
  return (await store.listEvents({ image })).sort((a, b) => a.version - b.version);
}

beforeAll(async () => {
  output = captureOutput();
  cacheDir = mkdtempSync(join(tmpdir(), 'ida-lambda-e2e-'));
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  await registry.pushImage('acme/auth-api', 'latest');
  await registry.pushImage('acme/auth-api', '3f9c2e1');
  await registry.pushImage('acme/auth-api-migrations', 'latest');
  await registry.pushImage('acme/envoy-proxy', '1.29.1');
  await registry.pushImage('acme/envoy-proxy', '1.30.0');
  await registry.pushIndex('acme/web', '1.4.2', ['linux/amd64', 'linux/arm64']);
  proxy = await startFaultProxy(registry.url);

  github = await startFakeGitHub({ token: TOKEN });
  github.addRepository({
    owner: 'acme',
    name: 'gitops',
    private: true,
    defaultBranch: 'main',
    refs: { main: COMMIT },
    archives: { [COMMIT]: await gitHubArchive('acme', 'gitops', COMMIT, REPO_FILES) },
  });

  aws = await startLocalAws({ table: TABLE, secrets: { [SECRET_ARN]: JSON.stringify({ githubToken: TOKEN }) }, clock });
  ({ ddb, store, topic, secretsServer } = aws);
}, 60_000);

afterAll(async () => {
  output?.restore();
  await Promise.all([proxy?.stop(), registry?.stop(), github?.close(), aws?.stop()]);
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

describe('the scheduled Lambda handler against local registry, GitHub, DynamoDB, SNS and Secrets Manager', () => {
  it('first run: audits the repository read through the GitHub API and alerts once, for the tag that was never pushed', async () => {
    const handler = container();
    tick();
    const summary = await handler({ id: 'e1', time: now.toISOString() });

    expect(summary.errors).toEqual([]);
    expect(summary.repositories).toEqual([expect.objectContaining({ repo: 'acme/gitops', commit: COMMIT, images: 4 })]);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toContain('never pushed');
    expect(changesOf(messages)).toEqual([['new', NEVER_PUSHED, 'NEVER_PUSHED']]);
    expect(messages[0]?.payload.changes[0]?.verdict).toBe('TAG_MISSING');
    expect(messages[0]?.payload.runId).toBe('e1');

    const states = await Promise.all(ALL.map((image) => store.getState(image)));
    expect(Object.fromEntries(states.map((s) => [s?.image, s?.status]))).toEqual({
      [NEVER_PUSHED]: 'NEVER_PUSHED',
      [MIGRATIONS]: 'PRESENT',
      [ENVOY]: 'PRESENT',
      [WEB]: 'PRESENT',
    });
    // The token read the private repository and authenticated to the registry.
    expect(github.requests.some((r) => r.authorization === `token ${TOKEN}` || r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(secretsServer.requests).toEqual([SECRET_ARN]);
  });

  it('a manifest deleted from the registry yields exactly one DISAPPEARED alert, and its retry (same event id) sends nothing', async () => {
    await registry.deleteTag('acme/envoy-proxy', '1.30.0');
    const handler = container();
    tick();
    const first = await handler({ id: 'e2', time: now.toISOString() });
    expect(first.transitions).toBe(1);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toContain('disappeared');
    expect(changesOf(messages)).toEqual([['new', ENVOY, 'DISAPPEARED']]);

    // EventBridge redelivers the same event (a retried invocation), here on a fresh container.
    const retried = await container()({ id: 'e2', time: now.toISOString() });
    expect(retried.transitions).toBe(0);
    expect(retried.notified).toBe(false);
    expect(await received()).toEqual([]);

    const runs = (await store.listRuns({ limit: 10 })).filter((run) => run.runId === 'e2');
    expect(runs).toEqual([expect.objectContaining({ transitions: 1, notification: expect.objectContaining({ sent: true }) })]);
    const events = await eventsOf(ENVOY);
    expect(events.map((e) => [e.from, e.to, e.runId])).toEqual([
      [undefined, 'PRESENT', 'e1'],
      ['PRESENT', 'DISAPPEARED', 'e2'],
    ]);
  });

  it('two concurrent invocations over a new drift send one message between them', async () => {
    await registry.deleteTag('acme/auth-api-migrations', 'latest');
    tick();
    const time = now.toISOString();
    const [a, b] = await Promise.all([container()({ id: 'e3a', time }), container()({ id: 'e3b', time })]);

    expect(a.transitions + b.transitions).toBe(1);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(changesOf(messages)).toEqual([['new', MIGRATIONS, 'DISAPPEARED']]);
    expect((await eventsOf(MIGRATIONS)).map((e) => e.to)).toEqual(['PRESENT', 'DISAPPEARED']);
  });

  it('an image pushed again yields one RESOLVED message', async () => {
    await registry.pushImage('acme/envoy-proxy', '1.30.0');
    tick();
    const summary = await container()({ id: 'e4', time: now.toISOString() });
    expect(summary.transitions).toBe(1);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toContain('resolved');
    expect(changesOf(messages)).toEqual([['resolved', ENVOY, 'PRESENT']]);
    expect((await store.getState(ENVOY))?.status).toBe('PRESENT');
  });

  it('a GitHub Packages API answering 503s changes no verdict and alerts nothing', async () => {
    const githubProxy = await startFaultProxy(github.baseUrl);
    githubProxy.inject({ kind: 'status', status: 503, body: '{"message":"Service Unavailable"}' }, { times: Infinity, match: (r) => r.path.includes('/packages') });
    const before = await Promise.all(ALL.map((image) => store.getState(image)));
    try {
      tick();
      const summary = await container({ githubBaseUrl: githubProxy.url })({ id: 'e4b', time: now.toISOString() });
      expect(summary.errors).toEqual([]);
      expect(summary.transitions).toBe(0);
    } finally {
      await githubProxy.stop();
    }
    expect(githubProxy.requests.some((r) => r.fault === 'status')).toBe(true);
    expect(await received()).toEqual([]);
    const after = await Promise.all(ALL.map((image) => store.getState(image)));
    expect(after.map((s) => [s?.status, s?.noVerdictRuns])).toEqual(before.map((s) => [s?.status, s?.noVerdictRuns]));
  });

  it('a registry answering 503s and resets changes no state and alerts nothing, until UNVERIFIED is announced once', async () => {
    const handler = container();
    const before = await Promise.all(ALL.map((image) => store.getState(image)));
    let n = 0;
    proxy.inject({ kind: 'reset' }, { times: Infinity, match: () => n++ % 2 === 0 });
    proxy.inject({ kind: 'status', status: 503 }, { times: Infinity });
    try {
      tick();
      const hiccup = await handler({ id: 'e5a', time: now.toISOString() });
      expect(hiccup.transitions).toBe(0);
      expect(await received()).toEqual([]);
      const during = await Promise.all(ALL.map((image) => store.getState(image)));
      expect(during.map((s) => s?.status)).toEqual(before.map((s) => s?.status));
      expect(during.map((s) => s?.noVerdictRuns)).toEqual([1, 1, 1, 1]);

      tick();
      const second = await handler({ id: 'e5b', time: now.toISOString() });
      expect(second.transitions).toBe(4);
      const messages = await received();
      expect(messages).toHaveLength(1);
      expect(changesOf(messages)).toEqual(ALL.map((image) => ['unverified', image, 'UNVERIFIED']));

      tick();
      const third = await handler({ id: 'e5c', time: now.toISOString() });
      expect(third.transitions).toBe(0);
      expect(await received()).toEqual([]);
    } finally {
      proxy.clear();
    }
    expect(proxy.requests.some((r) => r.fault === 'reset')).toBe(true);
    expect(proxy.requests.some((r) => r.fault === 'status')).toBe(true);

    // The registry answers again with the statuses from before the outage: subscribers learn once that
    // every image is verified again, unchanged, and each status keeps the since it had before the outage.
    tick();
    await container()({ id: 'e5d', time: now.toISOString() });
    const back = await received();
    expect(back).toHaveLength(1);
    expect(changesOf(back)).toEqual([
      ['verified', MIGRATIONS, 'DISAPPEARED'],
      ['verified', NEVER_PUSHED, 'NEVER_PUSHED'],
      ['verified', ENVOY, 'PRESENT'],
      ['verified', WEB, 'PRESENT'],
    ]);
    const after = await Promise.all(ALL.map((image) => store.getState(image)));
    expect(after.map((s) => [s?.status, s?.since])).toEqual(before.map((s) => [s?.status, s?.since]));
  });

  it('a failed SNS publish keeps the transition, and the next run with a working SNS sends it once', async () => {
    await registry.deleteTag('acme/web', '1.4.2');
    const failing = await startFakeSns(() => ({ ok: false, status: 500, code: 'InternalError', message: 'injected', type: 'Receiver' }));
    const start = output.lines.length;
    try {
      tick();
      const failed = await container({ sns: localSnsClient(failing.endpoint, 1) })({ id: 'e6', time: now.toISOString() });
      expect(failed.transitions).toBe(1);
      expect(failed.notified).toBe(false);
      expect(failed.errors).toEqual([expect.stringMatching(/^notification: .*injected/)]);
      expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
      expect(failing.requests.filter((r) => r.action === 'Publish').length).toBeGreaterThan(0);
    } finally {
      await failing.stop();
    }
    expect(await received()).toEqual([]);
    const recorded = await eventsOf(WEB);
    expect(recorded.at(-1)).toMatchObject({ from: 'PRESENT', to: 'DISAPPEARED', runId: 'e6' });

    tick();
    const next = await container()({ id: 'e7', time: now.toISOString() });
    expect(next.transitions).toBe(0);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(changesOf(messages)).toEqual([['new', WEB, 'DISAPPEARED']]);

    tick();
    const quiet = output.lines.length;
    await container()({ id: 'e8', time: now.toISOString() });
    expect(await received()).toEqual([]);
    expect(metricValues(output.lines.slice(quiet), 'RunsFailed')).toEqual([0]);
  });

  it('a GitOps repository GitHub will not serve fails the run: no image closes as "no longer desired" and nothing is announced', async () => {
    const before = await Promise.all(ALL.map((image) => store.getState(image)));
    const start = output.lines.length;
    github.rateLimit.remaining = 0;
    try {
      tick();
      const summary = await container()({ id: 'e9', time: now.toISOString() });
      expect(summary.errors).toEqual([expect.stringContaining('acme/gitops')]);
      expect(summary.repositories).toEqual([expect.objectContaining({ repo: 'acme/gitops', error: expect.stringContaining('rate limit') })]);
      expect(summary.transitions).toBe(0);
    } finally {
      github.rateLimit.remaining = github.rateLimit.limit;
    }
    expect(await received()).toEqual([]);
    const after = await Promise.all(ALL.map((image) => store.getState(image)));
    expect(after.map((s) => [s?.image, s?.tracked, s?.status])).toEqual(before.map((s) => [s?.image, s?.tracked, s?.status]));
    expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
  });

  it('a failed history write is reported as a failed run, and the next run records and announces the transition once', async () => {
    await registry.deleteTag('acme/envoy-proxy', '1.30.0');
    const start = output.lines.length;
    const flaky = clientFailingStateWritesOf(ENVOY);
    tick();
    const failed = await container({ dynamodb: flaky })({ id: 'e10', time: now.toISOString() });
    flaky.destroy();
    expect(failed.errors).toEqual([expect.stringContaining(`history: ${ENVOY}`)]);
    expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
    expect(await received()).toEqual([]);
    expect((await store.getState(ENVOY))?.status).toBe('PRESENT');

    tick();
    const next = await container()({ id: 'e11', time: now.toISOString() });
    expect(next.errors).toEqual([]);
    expect(changesOf(await received())).toEqual([['new', ENVOY, 'DISAPPEARED']]);
  });

  it('a registry that stops answering cannot outlast the invocation: checks stop in time and the run is still recorded', async () => {
    proxy.inject({ kind: 'delay', ms: 600_000 }, { times: Infinity });
    try {
      tick();
      const summary = await container()({ id: 'e12', time: now.toISOString() }, { awsRequestId: 'req-12', getRemainingTimeInMillis: () => 6_000 });
      expect(summary.errors).toEqual([]);
      expect(summary.transitions).toBe(0);
    } finally {
      proxy.clear();
    }
    expect(proxy.requests.some((r) => r.fault === 'delay')).toBe(true);
    expect(await received()).toEqual([]);
    const states = await Promise.all(ALL.map((image) => store.getState(image)));
    expect(states.map((s) => [s?.lastRunId, s?.noVerdictRuns])).toEqual(ALL.map(() => ['e12', 1]));
    expect((await store.listRuns({ limit: 1 }))[0]).toMatchObject({ runId: 'e12', images: 4 });
  }, 40_000);
});

describe('the scheduled Lambda handler over time', () => {
  it('a commit that drops an app closes its open drift as "no longer desired", announced once', async () => {
    const { 'apps/web.yaml': _web, 'services/web/deployment.yaml': _deployment, ...rest } = REPO_FILES;
    github.setRef('acme', 'gitops', 'main', COMMIT_WITHOUT_WEB, await gitHubArchive('acme', 'gitops', COMMIT_WITHOUT_WEB, rest));
    tick();
    const summary = await container()({ id: 'e13', time: now.toISOString() });
    expect(summary.repositories).toEqual([expect.objectContaining({ commit: COMMIT_WITHOUT_WEB, images: 3 })]);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(changesOf(messages)).toEqual([['no-longer-desired', WEB, 'UNTRACKED']]);
    expect(await store.getState(WEB)).toMatchObject({ tracked: false, status: 'DISAPPEARED' });

    tick();
    await container()({ id: 'e14', time: now.toISOString() });
    expect(await received()).toEqual([]);
  });

  it('reminds once about every drift still open after reminderIntervalHours, then waits again', async () => {
    now = new Date(now.getTime() + 24 * 3_600_000);
    await container()({ id: 'e15', time: now.toISOString() });
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(changesOf(messages)).toEqual([
      ['reminder', MIGRATIONS, 'DISAPPEARED'],
      ['reminder', NEVER_PUSHED, 'NEVER_PUSHED'],
      ['reminder', ENVOY, 'DISAPPEARED'],
    ].sort((a, b) => (a[1] ?? '').localeCompare(b[1] ?? '')));

    tick();
    await container()({ id: 'e16', time: now.toISOString() });
    expect(await received()).toEqual([]);
  });

  it('a merge-conflict marker in the dev overlay holds its drifts: zero e-mails while it is there and once it is fixed; the run counts as failed', async () => {
    const { 'apps/web.yaml': _web, 'services/web/deployment.yaml': _deployment, ...rest } = REPO_FILES;
    const overlay = 'services/auth-api/overlays/dev/kustomization.yaml';
    const conflicted = { ...rest, [overlay]: rest[overlay]?.replace('    newTag: dev-latest\n', '<<<<<<< HEAD\n    newTag: dev-latest\n=======\n    newTag: dev-next\n>>>>>>> bump\n') ?? '' };
    const held = [NEVER_PUSHED, MIGRATIONS, ENVOY];
    const before = await Promise.all(held.map((image) => store.getState(image)));
    const eventCounts = (await Promise.all(held.map(eventsOf))).map((events) => events.length);
    github.setRef('acme', 'gitops', 'main', COMMIT_WITH_CONFLICT, await gitHubArchive('acme', 'gitops', COMMIT_WITH_CONFLICT, conflicted));
    const start = output.lines.length;
    tick();
    const broken = await container()({ id: 'e16c', time: now.toISOString() });
    // The base is still read, now listed as an unreferenced kustomization: unknown too while the overlay cannot be read.
    expect(broken.repositories).toEqual([expect.objectContaining({ commit: COMMIT_WITH_CONFLICT, unknownApps: ['auth-api-dev', 'services/auth-api/base'] })]);
    expect(broken.errors).toEqual([expect.stringContaining(`auth-api-dev: YAML_ERROR at ${overlay}:7`)]);
    // Not even the base's own tag (auth-api:latest, desired only by the base that now looks unreferenced) opens a state.
    expect(broken.transitions).toBe(0);
    expect(await received()).toEqual([]);
    expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
    const during = await Promise.all(held.map((image) => store.getState(image)));
    expect(during.map((state) => [state?.tracked, state?.status, state?.statusVersion])).toEqual(before.map((state) => [state?.tracked, state?.status, state?.statusVersion]));

    // Fixed: the same drifts, nothing new to say.
    github.setRef('acme', 'gitops', 'main', COMMIT_WITHOUT_WEB);
    tick();
    const fixed = await container()({ id: 'e16d', time: now.toISOString() });
    expect(fixed.errors).toEqual([]);
    expect(fixed.transitions).toBe(0);
    expect(await received()).toEqual([]);
    const after = await Promise.all(held.map((image) => store.getState(image)));
    expect(after.map((state) => [state?.tracked, state?.status, state?.statusVersion])).toEqual(before.map((state) => [state?.tracked, state?.status, state?.statusVersion]));
    // No event at all for them over both runs: nothing closed, nothing reopened.
    expect((await Promise.all(held.map(eventsOf))).map((events) => events.length)).toEqual(eventCounts);
  });

  it('a GitHub API that accepts connections but never answers cannot outlast the invocation: the run is recorded as failed', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', () => ok()));
    const before = await Promise.all(ALL.filter((image) => image !== WEB).map((image) => store.getState(image)));
    const start = output.lines.length;
    try {
      tick();
      const baseUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const summary = await container({ githubBaseUrl: baseUrl })({ id: 'e16b', time: now.toISOString() }, { getRemainingTimeInMillis: () => 5_000 });
      expect(summary.errors).toEqual([expect.stringContaining('acme/gitops')]);
      expect(summary.transitions).toBe(0);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((ok) => silent.close(() => ok()));
    }
    expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
    expect((await store.listRuns({ limit: 1 }))[0]).toMatchObject({ runId: 'e16b', images: 0 });
    const after = await Promise.all(before.map((state) => store.getState(state?.image ?? '')));
    expect(after.map((state) => [state?.tracked, state?.status])).toEqual(before.map((state) => [state?.tracked, state?.status]));
    expect(await received()).toEqual([]);
  }, 40_000);

  it('an invocation that dies while publishing is retried without a duplicate, and a later run sends the message once', async () => {
    await registry.pushImage('acme/auth-api-migrations', 'latest');
    let reachedPublish: () => void = () => undefined;
    const publishing = new Promise<void>((resolve) => (reachedPublish = resolve));
    const dying = localSnsClient(aws.snsEndpoint, 1);
    // The publish never returns: Lambda times the invocation out and EventBridge retries it with the same id.
    dying.middlewareStack.add(
      () => () => {
        reachedPublish();
        return new Promise<never>(() => undefined);
      },
      { step: 'initialize', name: 'dieWhilePublishing' },
    );
    tick();
    const time = now.toISOString();
    void container({ sns: dying })({ id: 'e18', time });
    await publishing;

    const retried = await container()({ id: 'e18', time });
    expect(retried.transitions).toBe(0);
    expect(retried.notified).toBe(false);
    expect(await received()).toEqual([]);
    expect(await store.getState(MIGRATIONS)).toMatchObject({ status: 'PRESENT', notifiedStatus: 'DISAPPEARED' });

    tick();
    await container()({ id: 'e19', time: now.toISOString() });
    expect(changesOf(await received())).toEqual([['resolved', MIGRATIONS, 'PRESENT']]);
    tick();
    await container()({ id: 'e20', time: now.toISOString() });
    expect(await received()).toEqual([]);
  });

  it('a warm container reads the secret again only once its cache time is over', async () => {
    const handler = container();
    const reads = () => secretsServer.requests.length;
    const first = reads();
    tick();
    await handler({ id: 'e16c', time: now.toISOString() });
    now = new Date(now.getTime() + 4 * 60_000);
    await handler({ id: 'e16d', time: now.toISOString() });
    expect(reads()).toBe(first + 1);
    now = new Date(now.getTime() + 2 * 60_000);
    await handler({ id: 'e16e', time: now.toISOString() });
    expect(reads()).toBe(first + 2);
    expect(await received()).toEqual([]);
  });

  it('a secret that does not exist fails the invocation, records nothing and counts a failed run', async () => {
    const start = output.lines.length;
    const runsBefore = (await store.listRuns({ limit: 100 })).length;
    const handler = localContainer({
      env: { ...lambdaEnv(topic.topicArn), SECRET_ARN: `${SECRET_ARN}-deleted` },
      namespace: METRICS_NAMESPACE,
      dynamodb: ddb,
      sns: topic.sns,
      secretsEndpoint: secretsServer.endpoint,
      logger: new Logger({ serviceName: 'image-drift-auditor' }),
      clock,
      cacheDir,
    });
    tick();
    await expect(handler({ id: 'e17', time: now.toISOString() })).rejects.toThrow(/ResourceNotFoundException/);
    expect(metricValues(output.lines.slice(start), 'RunsFailed')).toEqual([1]);
    expect(output.lines.slice(start).join('')).toContain('"message":"run failed"');
    expect(await store.listRuns({ limit: 100 })).toHaveLength(runsBefore);
    expect(await received()).toEqual([]);
  });
});

describe('the handler\'s own SNS client', () => {
  it('leaves retries to the notifier: a failing publish, which SNS may have delivered anyway, is sent 3 times, not 9', async () => {
    const failing = await startFakeSns(() => ({ ok: false, status: 500, code: 'InternalError', message: 'injected', type: 'Receiver' }));
    const saved = { ...process.env };
    // The SDK reads the endpoint and credentials of a client built without options from the environment.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SNS: failing.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    try {
      await registry.deleteTag('acme/auth-api-migrations', 'latest');
      const handler = localContainer({
        env: lambdaEnv('arn:aws:sns:us-east-1:000000000000:image-drift-alerts'),
        namespace: METRICS_NAMESPACE,
        dynamodb: ddb,
        secretsEndpoint: secretsServer.endpoint,
        logger: new Logger({ serviceName: 'image-drift-auditor' }),
        clock,
        cacheDir,
      });
      tick();
      const summary = await handler({ id: 'e21', time: now.toISOString() });
      expect(summary.transitions).toBe(1);
      expect(summary.notified).toBe(false);
    } finally {
      process.env = saved;
      await failing.stop();
    }
    expect(failing.requests.filter((r) => r.action === 'Publish')).toHaveLength(3);

    // Still owed: the next run with a working SNS sends it.
    tick();
    await container()({ id: 'e22', time: now.toISOString() });
    expect(changesOf(await received())).toEqual([['new', MIGRATIONS, 'DISAPPEARED']]);
  }, 30_000);
});

describe('handler logs', () => {
  it('never contain the token, across a run that used it for GitHub, the registry and a failing repository', async () => {
    const logger = new Logger({ serviceName: 'image-drift-auditor', logLevel: 'DEBUG' });
    const start = output.lines.length;
    tick();
    const summary = await container({ logger, repositories: ['acme/gitops', 'acme/missing'] })({ id: 'logs-1', time: now.toISOString() });
    expect(summary.errors).toEqual([expect.stringContaining('acme/missing')]);
    const text = output.lines.slice(start).join('');
    expect(text).toContain('"message":"repository audited"');
    expect(text).toContain('"message":"repository could not be audited"');
    expect(text).toContain('"message":"run finished"');
    expect(text).toContain('ImageDriftAuditorE2E');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(`image-drift:${TOKEN}`).toString('base64'));
    expect(JSON.stringify(summary)).not.toContain(TOKEN);
  });

  it('the token is in none of the history items and none of the messages published over all the runs above', async () => {
    await received();
    expect(allReceived.length).toBeGreaterThan(5);
    expect(allReceived.join('\n')).not.toContain(TOKEN);
    const items: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ TableName: TABLE, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []).map((item) => JSON.stringify(item)));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(items.length).toBeGreaterThan(20);
    expect(items.join('\n')).not.toContain(TOKEN);
  });
});
