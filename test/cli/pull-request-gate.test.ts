/**
 * `image-drift audit --dir <checkout> --changed-since main`: the pull-request gate on a real git
 * repository (temporary directory) against the real local registry. Commit 1 on main has a base
 * and two overlays whose tags exist; commit 2 on a branch points the dev overlay at a tag CI never
 * pushed, as in the incident.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { git, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
  for (const tag of ['latest', '1.0', '1.1']) await registry.pushImage('acme/auth-api', tag);
  await registry.pushImage('acme/envoy', '1.29');
});

afterAll(async () => {
  await registry?.stop();
});

const BASE = {
  'base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n',
  'base/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: auth-api',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: auth-api',
    '          image: ghcr.io/acme/auth-api:latest',
    '        - name: envoy',
    '          image: ghcr.io/acme/envoy:1.29',
    '',
  ].join('\n'),
};

const overlay = (namespace: string, tag: string) =>
  [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    `namespace: ${namespace}`,
    'resources:',
    '  - ../../base',
    'images:',
    '  - name: ghcr.io/acme/auth-api',
    `    newTag: "${tag}"`,
    '',
  ].join('\n');

interface SarifLog {
  runs: Array<{
    results: Array<{
      ruleId: string;
      level: string;
      message: { text: string };
      locations?: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }>;
      relatedLocations?: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }>;
    }>;
  }>;
}

describe('audit --changed-since (pull-request gate)', () => {
  const cli = useCli();
  let checkout = '';
  const registryFlags = () => ['--registry-endpoint', `ghcr.io=${registry.url}`];

  const makeCheckout = () => {
    checkout = join(cli.dir, 'gitops');
    writeTree(checkout, { ...BASE, 'overlays/dev/kustomization.yaml': overlay('auth-dev', '1.0'), 'overlays/prod/kustomization.yaml': overlay('auth-prod', '1.1') });
    git(checkout, 'init', '-q', '-b', 'main');
    git(checkout, 'add', '.');
    git(checkout, 'commit', '-q', '-m', 'auth-api overlays on existing tags');
    git(checkout, 'checkout', '-q', '-b', 'dev-latest');
    writeTree(checkout, { 'overlays/dev/kustomization.yaml': overlay('auth-dev', 'dev-latest') });
    git(checkout, 'commit', '-q', '-am', 'dev overlay follows dev-latest');
  };

  it('fails with a SARIF result at the overlay line that introduced the missing tag', async () => {
    makeCheckout();
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--format', 'sarif', ...registryFlags()]);
    expect(run.code).toBe(1);
    const sarif = JSON.parse(run.stdout) as SarifLog;
    const results = sarif.runs[0]!.results.filter((result) => result.ruleId === 'image-drift/TAG_MISSING');
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result!.level).toBe('error');
    expect(result!.message.text).toContain('ghcr.io/acme/auth-api:dev-latest');
    // newTag is line 8 of the overlay; the base image: line is a related location.
    expect(result!.locations?.[0]?.physicalLocation).toEqual({ artifactLocation: expect.objectContaining({ uri: 'overlays/dev/kustomization.yaml' }), region: { startLine: 8 } });
    expect(result!.relatedLocations?.map((location) => location.physicalLocation)).toContainEqual({
      artifactLocation: expect.objectContaining({ uri: 'base/deployment.yaml' }),
      region: { startLine: 10 },
    });
    // A pull-request check previews a change: it records no history.
    expect(existsSync(join(cli.stateDir, 'dynamodb'))).toBe(false);
  });

  it('checks only the images the branch changed', async () => {
    makeCheckout();
    const changed = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', ...registryFlags()]);
    expect(changed.code).toBe(1);
    const report = JSON.parse(changed.stdout) as { results: Array<{ image: string; status: string; apps: string[] }> };
    expect(report.results.map((result) => [result.image, result.status])).toEqual([['ghcr.io/acme/auth-api:dev-latest', 'TAG_MISSING']]);

    const full = await cli.run(['audit', '--dir', checkout, '--json', '--no-history', ...registryFlags()]);
    const all = (JSON.parse(full.stdout) as { results: Array<{ image: string }> }).results.map((result) => result.image);
    expect(all.sort()).toEqual(['ghcr.io/acme/auth-api:1.1', 'ghcr.io/acme/auth-api:dev-latest', 'ghcr.io/acme/envoy:1.29']);
  });

  it('fails a gate configured with only NEVER_PUSHED,DISAPPEARED: without history a missing tag counts as both', async () => {
    makeCheckout();
    const gated = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', '--fail-on', 'NEVER_PUSHED,DISAPPEARED', ...registryFlags()]);
    expect(gated.code).toBe(1);
    const notGated = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', '--fail-on', 'PRIVATE', ...registryFlags()]);
    expect(notGated.code).toBe(0);
  });

  it('passes when the branch changes nothing that is missing', async () => {
    makeCheckout();
    writeTree(checkout, { 'overlays/dev/kustomization.yaml': overlay('auth-dev', '1.1') });
    git(checkout, 'commit', '-q', '-am', 'dev overlay back on a pushed tag');
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', ...registryFlags()]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { results: Array<{ image: string; status: string }> };
    expect(report.results).toEqual([expect.objectContaining({ image: 'ghcr.io/acme/auth-api:1.1', status: 'OK' })]);
  });

  it('exits 2 when the base revision does not exist', async () => {
    makeCheckout();
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'no-such-branch', ...registryFlags()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read the base revision');
  });
});

describe('audit --repo in pull-request mode (GitHub API fake serving `git archive` tarballs)', () => {
  const cli = useCli();
  // Reads the private gitops repository, but the registry's token server does not accept it, like a
  // fine-grained PAT on ghcr.io: the missing tag must still fail the gate.
  const TOKEN = 'ghp_repo_reader';
  let github: FakeGitHub;
  let shas: { main: string; branch: string };

  beforeAll(async () => {
    github = await startFakeGitHub({ token: TOKEN });
  });
  afterAll(async () => {
    await github?.close();
  });

  /** The same two commits as the local checkout, published as acme/gitops (main and dev-latest). */
  const publish = () => {
    const checkout = join(cli.dir, 'gitops');
    writeTree(checkout, { ...BASE, 'overlays/dev/kustomization.yaml': overlay('auth-dev', '1.0'), 'overlays/prod/kustomization.yaml': overlay('auth-prod', '1.1') });
    git(checkout, 'init', '-q', '-b', 'main');
    git(checkout, 'add', '.');
    git(checkout, 'commit', '-q', '-m', 'auth-api overlays on existing tags');
    git(checkout, 'checkout', '-q', '-b', 'dev-latest');
    writeTree(checkout, { 'overlays/dev/kustomization.yaml': overlay('auth-dev', 'dev-latest') });
    git(checkout, 'commit', '-q', '-am', 'dev overlay follows dev-latest');
    shas = { main: git(checkout, 'rev-parse', 'main').trim(), branch: git(checkout, 'rev-parse', 'dev-latest').trim() };
    const archive = (sha: string) =>
      execFileSync('git', ['archive', '--format=tar.gz', `--prefix=acme-gitops-${sha.slice(0, 7)}/`, sha], { cwd: checkout, maxBuffer: 1 << 24 });
    github.addRepository({
      owner: 'acme',
      name: 'gitops',
      private: true,
      defaultBranch: 'main',
      refs: { main: shas.main, 'dev-latest': shas.branch },
      archives: { [shas.main]: archive(shas.main), [shas.branch]: archive(shas.branch) },
    });
  };

  const flags = () => ['--github-api-url', github.baseUrl, '--registry-endpoint', `ghcr.io=${registry.url}`];

  it('--base/--head: SARIF at the overlay line, for the head commit', async () => {
    publish();
    const run = await cli.run(['audit', '--repo', 'acme/gitops', '--base', 'main', '--head', 'dev-latest', '--format', 'sarif', ...flags()], { GITHUB_TOKEN: TOKEN });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const sarif = JSON.parse(run.stdout) as SarifLog & { runs: Array<{ versionControlProvenance?: Array<{ repositoryUri: string; revisionId?: string }> }> };
    const results = sarif.runs[0]!.results.filter((result) => result.ruleId.startsWith('image-drift/TAG_MISSING'));
    expect(results.map((result) => result.locations?.[0]?.physicalLocation)).toEqual([
      { artifactLocation: expect.objectContaining({ uri: 'overlays/dev/kustomization.yaml' }), region: { startLine: 8 } },
    ]);
    expect(sarif.runs[0]!.versionControlProvenance?.[0]).toEqual(expect.objectContaining({ revisionId: shas.branch }));
  });

  it('--changed-since with OWNER/NAME@REF checks only the changed image', async () => {
    publish();
    const run = await cli.run(['audit', '--repo', 'acme/gitops@dev-latest', '--changed-since', 'main', '--json', ...flags()], { GITHUB_TOKEN: TOKEN });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { source: { commit?: string }; results: Array<{ image: string; status: string; hint: string }> };
    expect(report.source.commit).toBe(shas.branch);
    expect(report.results.map((result) => [result.image, result.status])).toEqual([['ghcr.io/acme/auth-api:dev-latest', 'TAG_MISSING']]);
    expect(report.results[0]!.hint).toContain('(env:GITHUB_TOKEN) was refused as well');
  });

  it('exits 2 when the base revision does not exist in the repository', async () => {
    publish();
    const run = await cli.run(['audit', '--repo', 'acme/gitops', '--base', 'no-such-ref', '--head', 'dev-latest', ...flags()], { GITHUB_TOKEN: TOKEN });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read the base revision');
  });

  it('exits 3 for a private repository without a token', async () => {
    publish();
    const run = await cli.run(['audit', '--repo', 'acme/gitops', ...flags()]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('acme/gitops was not found, or it is private and no token was given');
  });
});
