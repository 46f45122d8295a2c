/**
 * The Step Functions run as the state machine drives it (lib/fan-out.ts): one `audit-repository` invocation per
 * repository of the deployed config, each storing its verdicts as a run part, then one `digest` invocation with the
 * Map's outcomes. Real SDK clients against local components: a docker-registry behind a GHCR-like token server, a
 * fake GitHub REST API, dynalite, fauxqs (SNS → SQS) and a fake of the Secrets Manager wire protocol. The config
 * reaches the handler as a file, as the construct's layer delivers it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_CONFIG_FILE } from '../../lambdas/engine/config/runtime-env.js';
import type { DynamoHistoryStore } from '../../lambdas/engine/history/dynamodb.js';
import { STEP_AUDIT_REPOSITORY, STEP_DIGEST } from '../../lambdas/engine/scheduled/steps.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import type { FakeSecretsManager } from '../support/secrets-manager.js';
import { deployment, localContainer, startLocalAws, type LocalAws } from './e2e-support.js';

const TOKEN = 'ghp_fanOutTokenThatMustNeverBeLogged0123456789';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:image-drift-auditor-FaNoUt';
const TABLE = 'image-drift-history-fan-out';
const COMMIT_A = '1111111111111111111111111111111111111111';
const COMMIT_B = '2222222222222222222222222222222222222222';

const PRESENT = 'ghcr.io/acme/api:1.0.0';
const NEVER_PUSHED = 'ghcr.io/acme/api:dev-latest';
const SHARED = 'ghcr.io/acme/sidecar:2.0.0';

let registry: LocalRegistry;
let github: FakeGitHub;
let aws: LocalAws;
let secretsServer: FakeSecretsManager;
let ddb: DynamoDBClient;
let topic: LocalAws['topic'];
let store: DynamoHistoryStore;
let work: string;
let configFile: string;
let now = new Date('2026-12-01T06:00:00.000Z');
const clock = () => now;
const emf: string[] = [];

/** One Lambda container reading the config file the layer would hold. */
function container() {
  return localContainer({
    env: { [ENV_CONFIG_FILE]: configFile, HISTORY_TABLE_NAME: TABLE, TOPIC_ARN: topic.topicArn, SECRET_ARN },
    namespace: 'ImageDriftFanOutE2E',
    dynamodb: ddb,
    sns: topic.sns,
    secretsEndpoint: secretsServer.endpoint,
    clock,
    cacheDir: join(work, 'cache'),
  });
}

function writeConfig(repositories: string[]): void {
  writeFileSync(
    configFile,
    JSON.stringify({
      repositories: repositories.map((repo) => ({ repo })),
      registries: { 'ghcr.io': { endpoint: registry.url, credential: { type: 'github-token' } } },
      github: { baseUrl: github.baseUrl },
    }),
  );
}

/** What each Map iteration returns, or the Catch's { index, repo, error } when the invocation throws. */
async function runMap(handler: ReturnType<typeof container>, runId: string, repositories: string[]) {
  return Promise.all(
    repositories.map(async (repo, index) => {
      try {
        return await handler({ step: STEP_AUDIT_REPOSITORY, runId, index, repo });
      } catch (error) {
        return { index, repo, error: JSON.stringify({ errorMessage: (error as Error).message }) };
      }
    }),
  );
}

/** Runs `step` with stdout captured: Powertools prints the EMF documents there. */
async function capturingMetrics<T>(step: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    emf.push(...String(chunk).split('\n').filter((line) => line.includes('"_aws"')));
    return true;
  }) as typeof process.stdout.write;
  try {
    return await step();
  } finally {
    process.stdout.write = write;
  }
}

function metricValues(name: string): number[] {
  return emf.flatMap((line) => {
    const value = (JSON.parse(line) as Record<string, unknown>)[name];
    return typeof value === 'number' ? [value] : [];
  });
}

async function received() {
  const got = await topic.drain();
  return got.map((m) => JSON.parse((JSON.parse(m.message) as { sqs: string }).sqs) as { runId: string; changes: { kind: string; image: string; status: string }[] });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ida-fan-out-'));
  configFile = join(work, 'config.json');
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  await registry.pushImage('acme/api', '1.0.0');
  await registry.pushImage('acme/sidecar', '2.0.0');
  github = await startFakeGitHub({ token: TOKEN });
  github.addRepository({
    owner: 'acme', name: 'payments', private: true, defaultBranch: 'main', refs: { main: COMMIT_A },
    archives: { [COMMIT_A]: await gitHubArchive('acme', 'payments', COMMIT_A, { 'payments/deployment.yaml': deployment('api', PRESENT, SHARED) }) },
  });
  github.addRepository({
    owner: 'acme', name: 'staging', private: true, defaultBranch: 'main', refs: { main: COMMIT_B },
    archives: { [COMMIT_B]: await gitHubArchive('acme', 'staging', COMMIT_B, { 'staging/deployment.yaml': deployment('api-dev', NEVER_PUSHED, SHARED) }) },
  });
  aws = await startLocalAws({ table: TABLE, secrets: { [SECRET_ARN]: JSON.stringify({ githubToken: TOKEN }) }, clock });
  ({ ddb, store, topic, secretsServer } = aws);
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), github?.close(), aws?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the fan-out run: a step per repository, then one digest', () => {
  it('audits each repository in its own invocation and records and announces them together in the digest', async () => {
    const repositories = ['acme/payments', 'acme/staging'];
    writeConfig(repositories);
    const handler = container();
    const outcomes = await runMap(handler, 'exec-1', repositories);
    // Small outcomes travel through the state machine; the verdicts wait in the table.
    expect(outcomes).toEqual([
      { index: 0, repo: 'acme/payments', commit: COMMIT_A, images: 2, failing: 0 },
      { index: 1, repo: 'acme/staging', commit: COMMIT_B, images: 2, failing: 1 },
    ]);
    expect(await received()).toEqual([]);

    const summary = await capturingMetrics(() => handler({ step: STEP_DIGEST, runId: 'exec-1', startedAt: now.toISOString(), outcomes }));
    expect(summary.errors).toEqual([]);
    expect(summary.repositories.map((r) => [r.repo, r.commit, r.images])).toEqual([
      ['acme/payments', COMMIT_A, 2],
      ['acme/staging', COMMIT_B, 2],
    ]);
    const messages = await received();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.runId).toBe('exec-1');
    expect(messages[0]?.changes.map((c) => [c.kind, c.image, c.status])).toEqual([['new', NEVER_PUSHED, 'NEVER_PUSHED']]);
    // The image both repositories use is one history entry, with both repositories' files.
    expect((await store.getState(SHARED))?.locations.map((l) => l.file).sort()).toEqual(['payments/deployment.yaml', 'staging/deployment.yaml']);
    expect(metricValues('RunsSucceeded')).toEqual([1]);
  });

  it('a repository whose step fails is caught: the others are recorded, its images are kept, the run counts as failed', async () => {
    now = new Date(now.getTime() + 3_600_000);
    // acme/staging is no longer served: GitHub answers 404 for it; a third configured repository's step crashed
    // (the Map caught it), so it left no part.
    const repositories = ['acme/payments', 'acme/missing', 'acme/staging'];
    writeConfig(repositories);
    const handler = container();
    const outcomes = await runMap(handler, 'exec-2', repositories.slice(0, 2));
    outcomes.push({ index: 2, repo: 'acme/staging', error: '{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 300.00 seconds"}' });
    expect(outcomes[1]).toEqual(expect.objectContaining({ index: 1, repo: 'acme/missing', images: 0, error: expect.stringMatching(/.+/) }));

    const summary = await capturingMetrics(() => handler({ step: STEP_DIGEST, runId: 'exec-2', startedAt: now.toISOString(), outcomes }));
    expect(summary.errors).toEqual([expect.stringMatching(/^acme\/missing: /), expect.stringMatching(/^acme\/staging: .*Task timed out/)]);
    // Incomplete run: NEVER_PUSHED from the timed-out repository stays open, nothing closes, nothing is announced.
    expect((await store.getState(NEVER_PUSHED))?.status).toBe('NEVER_PUSHED');
    expect((await store.getState(NEVER_PUSHED))?.tracked).toBe(true);
    expect(await received()).toEqual([]);
    expect(metricValues('RunsSucceeded')).toEqual([1, 0]);
    expect(metricValues('RunsFailed')).toEqual([0, 1]);
  });

  it('refuses an iteration whose repository is not the one at that index of the deployed config', async () => {
    writeConfig(['acme/payments']);
    const handler = container();
    await expect(handler({ step: STEP_AUDIT_REPOSITORY, runId: 'exec-3', index: 0, repo: 'acme/other' })).rejects.toThrow(
      /repository 0 of the deployed config is acme\/payments, not acme\/other/,
    );
    await expect(handler({ step: STEP_AUDIT_REPOSITORY, runId: 'exec-3', index: -1, repo: 'acme/payments' } as never)).rejects.toThrow(/invalid audit-repository event: index/);
  });
});
