/**
 * The scheduled Lambda reads what CI can push as the CLI does: config `sources:` (another repository's workflows
 * speak for the images it lists) and, for a ghcr.io image no workflow read so far pushes, the repository its
 * package links to (here: the `org.opencontainers.image.source` label of an existing tag, pushed into the real
 * docker-registry). Through `createHandler` with real SDK clients against local components (dynalite, fauxqs,
 * the Secrets Manager fake) and the fake GitHub REST API; each other repository is read once per run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoHistoryStore } from '../../lambdas/engine/history/dynamodb.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import type { FakeSecretsManager } from '../support/secrets-manager.js';
import { deployment, localContainer, startLocalAws, type LocalAws } from './e2e-support.js';
import { imageWorkflow } from '../support/image-workflow.js';

const TOKEN = 'ghp_ciSourcesTokenThatMustNeverBeLogged0123456789';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:image-drift-auditor-CiSrCs';
const TABLE = 'image-drift-history-ci-sources';
const SHA = '4444444444444444444444444444444444444444';

const WEB_NEVER = 'ghcr.io/acme/web:dev-latest';
const WEB_SHORT = 'ghcr.io/acme/web:0a1b2c3';
const API_NEVER = 'ghcr.io/acme/api:dev-latest';

/** acme/web-src (named under `sources:`) pushes the full commit sha and latest. */
const WEB_WORKFLOW = imageWorkflow(`
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: |
            ghcr.io/acme/web:\${{ github.sha }}
            ghcr.io/acme/web:latest
`);

/** acme/api-src (the api image's source label) pushes the short sha only. */
const API_WORKFLOW = imageWorkflow(`
      - run: docker build -t ghcr.io/acme/api:\${GITHUB_SHA::7} . && docker push ghcr.io/acme/api:\${GITHUB_SHA::7}
`);

let registry: LocalRegistry;
let github: FakeGitHub;
let aws: LocalAws;
let secretsServer: FakeSecretsManager;
let ddb: DynamoDBClient;
let topic: LocalAws['topic'];
let store: DynamoHistoryStore;
let work: string;
const now = new Date('2026-12-05T06:00:00.000Z');

/** One Lambda container auditing `repositories` with these `sources:`, its own cache directory. */
function container(repositories: string[], sources: Array<{ repo: string; images: string[] }>, cache: string) {
  return localContainer({
    env: {
      IMAGE_DRIFT_CONFIG: JSON.stringify({
        repositories: repositories.map((repo) => ({ repo })),
        registries: { 'ghcr.io': { endpoint: registry.url, credential: { type: 'github-token' } } },
        github: { baseUrl: github.baseUrl },
        sources,
      }),
      HISTORY_TABLE_NAME: TABLE,
      TOPIC_ARN: topic.topicArn,
      SECRET_ARN,
    },
    namespace: 'ImageDriftCiSourcesE2E',
    dynamodb: ddb,
    sns: topic.sns,
    secretsEndpoint: secretsServer.endpoint,
    clock: () => now,
    cacheDir: join(work, cache),
  });
}

async function addRepository(name: string, files: Record<string, string>): Promise<void> {
  github.addRepository({ owner: 'acme', name, private: true, defaultBranch: 'main', refs: { main: SHA }, archives: { [SHA]: await gitHubArchive('acme', name, SHA, files) } });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ida-ci-sources-'));
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  await registry.pushImage('acme/web', 'latest');
  await registry.pushImage('acme/api', '9f8e7d6', { labels: { 'org.opencontainers.image.source': 'https://github.com/acme/api-src' } });
  github = await startFakeGitHub({ token: TOKEN });
  await addRepository('payments', { 'deploy/web.yaml': deployment('web', WEB_NEVER, WEB_SHORT, API_NEVER) });
  await addRepository('staging', { 'deploy/web.yaml': deployment('web', WEB_NEVER) });
  await addRepository('web-src', { '.github/workflows/image.yml': WEB_WORKFLOW });
  await addRepository('api-src', { '.github/workflows/image.yml': API_WORKFLOW });
  aws = await startLocalAws({ table: TABLE, secrets: { [SECRET_ARN]: JSON.stringify({ githubToken: TOKEN }) }, clock: () => now });
  ({ ddb, store, topic, secretsServer } = aws);
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), github?.close(), aws?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the scheduled Lambda applies sources: and ghcr.io package links like the CLI', () => {
  it('records the CI verdict from the source repository and from the linked repository, reading each once per run', async () => {
    const summary = await container(['acme/payments', 'acme/staging'], [{ repo: 'acme/web-src', images: ['ghcr.io/acme/web'] }], 'cache')({ id: 'ci-sources-1', time: now.toISOString() });
    expect(summary.errors).toEqual([]);

    // sources: acme/web-src pushes <commit sha> and latest, never dev-latest nor a short sha.
    const web = await store.getState(WEB_NEVER);
    expect(web?.status).toBe('NEVER_PUSHED');
    expect(web?.evidence?.ci).toMatchObject({ tagPushed: false, pushes: [{ repository: 'acme/web-src', workflow: '.github/workflows/image.yml', tags: ['<commit sha>', 'latest'] }] });
    expect(web?.hint).toContain('CI never pushes this tag: .github/workflows/image.yml:11-13 pushes `<commit sha>`, `latest` only.');
    expect((await store.getState(WEB_SHORT))?.evidence?.ci?.tagPushed).toBe(false);

    // The package link: the label of acme/api:9f8e7d6 names acme/api-src, whose CI pushes the short sha only.
    const api = await store.getState(API_NEVER);
    expect(api?.evidence?.sourceLink).toEqual({ repository: 'acme/api-src', from: 'image-label', tag: '9f8e7d6' });
    expect(api?.evidence?.ci).toMatchObject({ tagPushed: false, pushes: [{ repository: 'acme/api-src', tags: ['<short sha>'] }] });
    expect(api?.hint).toContain('CI never pushes this tag');

    // Two audited repositories, one read of each other repository.
    const archives = github.requests.filter((r) => r.server === 'codeload').map((r) => r.path.split('/')[2]);
    expect(archives.filter((name) => name === 'web-src')).toHaveLength(1);
    expect(archives.filter((name) => name === 'api-src')).toHaveLength(1);
    await topic.drain();
  });

  it('an unreadable sources: repository costs its images the CI verdict only: the run stays complete', async () => {
    const handler = container(['acme/staging'], [{ repo: 'acme/gone', images: ['ghcr.io/acme/web'] }], 'cache-2');
    const summary = await handler({ id: 'ci-sources-2', time: now.toISOString() });
    expect(summary.errors).toEqual([]);
    expect(summary.repositories).toEqual([expect.objectContaining({ repo: 'acme/staging', images: 1 })]);
    await topic.drain();
  });
});
