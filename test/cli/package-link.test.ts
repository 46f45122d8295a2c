/**
 * ghcr.io package links: a missing tag of an image that no workflow of the audited repository (nor `sources:`)
 * pushes is judged by the workflows of the repository its package links to — the Packages API's `repository`
 * (no extra call: the owner listing already made for visibility carries it), else the
 * `org.opencontainers.image.source` label of an existing tag's config. Real docker-registry (images pushed with
 * the label), the Packages API fake and the repository/tarball fake behind one API base URL.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitHubArchive } from '../support/github-archive.js';
import { startGitHubApiRouter, type GitHubApiRouter } from '../support/github-api-router.js';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from './harness.js';
import { imageWorkflow } from '../support/image-workflow.js';

const TOKEN = 'ghp_package_link_token';
const SHA = '2222222222222222222222222222222222222222';
const SOURCE = 'org.opencontainers.image.source';

/** The incident's CI: the short sha and latest only. */
const AUTH_API_WORKFLOW = imageWorkflow(`
      - run: |
          docker build -t ghcr.io/acme/auth-api:\${GITHUB_SHA::7} -t ghcr.io/acme/auth-api:latest .
          docker push --all-tags ghcr.io/acme/auth-api
`);

const BILLING_WORKFLOW = imageWorkflow(`
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/acme/billing
          tags: type=semver,pattern={{version}}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: \${{ steps.meta.outputs.tags }}
`, "  push:\n    tags: ['v*']\n");

let registry: LocalRegistry;
let packagesApi: GitHubPackagesServer;
let github: FakeGitHub;
let router: GitHubApiRouter;

beforeAll(async () => {
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  await registry.pushImage('acme/auth-api', '3f9c2e1', { labels: { [SOURCE]: 'https://github.com/acme/auth-api' } });
  await registry.pushImage('acme/auth-api', 'latest', { labels: { [SOURCE]: 'https://github.com/acme/auth-api' } });
  await registry.pushIndex('acme/billing', '1.4.2', ['linux/amd64', 'linux/arm64'], { labels: { [SOURCE]: 'https://github.com/acme/billing-src.git' } });
  await registry.pushImage('acme/web', '1.0.0');
  await registry.pushImage('acme/worker', '1.0.0', { labels: { [SOURCE]: 'https://github.com/acme/worker-src' } });
  packagesApi = await startGitHubPackagesServer({
    owners: [
      {
        login: 'acme',
        type: 'Organization',
        packages: [
          { name: 'auth-api', visibility: 'public', versions: [], repository: 'acme/auth-api' },
          { name: 'billing', visibility: 'public', versions: [] },
          { name: 'web', visibility: 'public', versions: [] },
          { name: 'worker', visibility: 'public', versions: [] },
        ],
      },
    ],
    tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }],
  });
  github = await startFakeGitHub({ token: TOKEN });
  for (const [name, files] of [
    ['auth-api', { '.github/workflows/image.yml': AUTH_API_WORKFLOW }],
    ['billing-src', { '.github/workflows/release.yml': BILLING_WORKFLOW }],
  ] as const) {
    github.addRepository({ owner: 'acme', name, private: true, defaultBranch: 'main', refs: { main: SHA }, archives: { [SHA]: await gitHubArchive('acme', name, SHA, files) } });
  }
  router = await startGitHubApiRouter({ packages: packagesApi.url, repositories: github.baseUrl });
});

afterAll(async () => {
  await router?.stop();
  await github?.close();
  await packagesApi?.stop();
  await registry?.stop();
});

interface Report {
  results: Array<{ image: string; status: string; hint: string; evidence: { sourceLink?: unknown; ci?: { tagPushed?: boolean; pushes: Array<{ repository?: string }> } } }>;
  findings: Array<{ code: string; file: string; line: number; message: string }>;
  notes?: string[];
}

describe('ghcr.io package links to the repository whose CI pushes the image', () => {
  const cli = useCli();
  const audit = async (images: string[]) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', images) });
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--github-api-url', router.url, '--json', '--no-history'], { GITHUB_TOKEN: TOKEN });
    return { ...run, report: JSON.parse(run.stdout) as Report };
  };
  const result = (report: Report, image: string) => report.results.find((r) => r.image === image);
  const ciFindings = (report: Report) => report.findings.filter((finding) => finding.code === 'CI_NEVER_PUSHES_TAG').map((finding) => finding.message);

  it('follows the Packages API link without an extra call and the image label otherwise, and judges the missing tags', async () => {
    const { code, report } = await audit([
      'ghcr.io/acme/auth-api:dev-latest',
      'ghcr.io/acme/auth-api:3f9c2e1',
      'ghcr.io/acme/billing:dev',
      'ghcr.io/acme/billing:1.4.2',
    ]);
    expect(code).toBe(1);
    expect(ciFindings(report)).toEqual([
      'ghcr.io/acme/auth-api:dev-latest: acme/auth-api: .github/workflows/image.yml:10 pushes ghcr.io/acme/auth-api with tags `<short sha>`, `latest` only',
      'ghcr.io/acme/billing:dev: acme/billing-src: .github/workflows/release.yml:16 pushes ghcr.io/acme/billing with tags `<version>`, `latest` only',
    ]);
    expect(result(report, 'ghcr.io/acme/auth-api:dev-latest')?.evidence.sourceLink).toEqual({ repository: 'acme/auth-api', from: 'packages-api' });
    expect(result(report, 'ghcr.io/acme/billing:dev')?.evidence.sourceLink).toEqual({ repository: 'acme/billing-src', from: 'image-label', tag: '1.4.2' });
    expect(result(report, 'ghcr.io/acme/auth-api:dev-latest')?.hint).toContain('CI never pushes this tag: .github/workflows/image.yml:10 pushes `<short sha>`, `latest` only.');
    expect(result(report, 'ghcr.io/acme/billing:dev')?.evidence.ci?.pushes.map((push) => push.repository)).toEqual(['acme/billing-src']);
    // Images the registry has are not what the link is for: no repository is read for them, no verdict is given.
    expect(result(report, 'ghcr.io/acme/auth-api:3f9c2e1')?.status).toBe('OK');
    // One archive per linked repository. The link came with the owner listing read for visibility: no package call.
    const archives = github.requests.filter((r) => r.server === 'codeload').map((r) => r.path.split('/').slice(0, 3).join('/'));
    expect(archives.sort()).toEqual(['/acme/auth-api', '/acme/billing-src']);
    expect(packagesApi.requests.filter((r) => r.path.startsWith('/orgs/acme/packages?'))).not.toEqual([]);
    expect(packagesApi.requests.filter((r) => /^\/orgs\/acme\/packages\/container\/[\w-]+(?:\?|$)/.test(r.path))).toEqual([]);
  });

  it('says nothing when CI can push the missing tag, when no link is known, and when the linked repository cannot be read', async () => {
    const { report } = await audit(['ghcr.io/acme/auth-api:0123abc', 'ghcr.io/acme/billing:2.0.0', 'ghcr.io/acme/web:2.0.0', 'ghcr.io/acme/worker:dev']);
    expect(report.results.map((r) => [r.image, r.status])).toEqual([
      ['ghcr.io/acme/auth-api:0123abc', 'TAG_MISSING'],
      ['ghcr.io/acme/billing:2.0.0', 'TAG_MISSING'],
      ['ghcr.io/acme/web:2.0.0', 'TAG_MISSING'],
      ['ghcr.io/acme/worker:dev', 'TAG_MISSING'],
    ]);
    expect(ciFindings(report)).toEqual([]);
    expect(result(report, 'ghcr.io/acme/auth-api:0123abc')?.evidence.ci?.tagPushed).toBe(true);
    expect(result(report, 'ghcr.io/acme/billing:2.0.0')?.evidence.ci?.tagPushed).toBe(true);
    expect(result(report, 'ghcr.io/acme/web:2.0.0')?.evidence.ci).toBeUndefined();
    expect(result(report, 'ghcr.io/acme/worker:dev')?.evidence).toMatchObject({ sourceLink: { repository: 'acme/worker-src', from: 'image-label' } });
    expect(result(report, 'ghcr.io/acme/worker:dev')?.evidence.ci).toBeUndefined();
    expect(report.notes).toContainEqual(expect.stringMatching(/^package link: cannot read the workflows of acme\/worker-src \(linked from ghcr\.io\/acme\/worker by the source label of tag 1\.0\.0\): .*; no CI verdict$/));
  });

  it('a workflow of the audited repository that pushes the image wins: the link is not followed', async () => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, {
      'deploy/app.yaml': deployment('app', ['ghcr.io/acme/auth-api:dev-latest']),
      '.github/workflows/own.yml': 'on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: docker push ghcr.io/acme/auth-api:dev-latest\n',
    });
    const before = github.requests.length;
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--github-api-url', router.url, '--json', '--no-history'], { GITHUB_TOKEN: TOKEN });
    const report = JSON.parse(run.stdout) as Report;
    expect(ciFindings(report)).toEqual([]);
    expect(result(report, 'ghcr.io/acme/auth-api:dev-latest')?.evidence.ci?.tagPushed).toBe(true);
    expect(github.requests.slice(before)).toEqual([]);
  });
});
