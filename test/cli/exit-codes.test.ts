/**
 * Exit codes of `image-drift`, run in process against the real local registry (docker-registry
 * behind the GHCR-like token server) and the Packages API fake: 0 clean, 1 drift at or above
 * --fail-on, 2 usage or configuration error, 3 the audit could not complete.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, REPO_ROOT, useCli, writeTree } from './harness.js';
import { openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';

const TOKEN = 'ghp_exit_codes_token';
let registry: LocalRegistry;
let packagesApi: GitHubPackagesServer;

beforeAll(async () => {
  registry = await startLocalRegistry({ privateRepositories: ['acme/secret'], tokens: [TOKEN] });
  await registry.pushImage('acme/api', '1.0');
  await registry.pushImage('acme/api', '1.1');
  await registry.pushImage('acme/secret', '1.0');
  packagesApi = await startGitHubPackagesServer({
    owners: [
      {
        login: 'acme',
        type: 'Organization',
        packages: [
          { name: 'api', visibility: 'public', versions: [] },
          { name: 'secret', visibility: 'private', versions: [] },
        ],
      },
    ],
    tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }],
  });
});

afterAll(async () => {
  await packagesApi?.stop();
  await registry?.stop();
});

describe('image-drift exit codes', () => {
  const cli = useCli();
  const registryFlags = () => ['--registry-endpoint', `ghcr.io=${registry.url}`, '--github-api-url', packagesApi.url];
  const gitops = (images: string[]) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', images) });
    return root;
  };

  it('exits 0 when every image exists', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0', 'ghcr.io/acme/api:1.1']);
    const run = await cli.run(['audit', '--dir', dir, ...registryFlags(), '--format', 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { results: Array<{ image: string; status: string }> };
    expect(report.results.map((result) => result.status)).toEqual(['OK', 'OK']);
  });

  it('exits 1 when a tag is missing', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0', 'ghcr.io/acme/api:2.0']);
    const run = await cli.run(['audit', '--dir', dir, ...registryFlags(), '--format', 'json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { results: Array<{ image: string; status: string }> };
    expect(report.results).toContainEqual(expect.objectContaining({ image: 'ghcr.io/acme/api:2.0', status: 'TAG_MISSING' }));
  });

  it('exits 0 for a missing tag with --fail-on NONE', async () => {
    const dir = gitops(['ghcr.io/acme/api:2.0']);
    const run = await cli.run(['audit', '--dir', dir, ...registryFlags(), '--fail-on', 'NONE', '--no-history']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('TAG_MISSING');
  });

  it('exits 1 for a private image only when --fail-on lists PRIVATE', async () => {
    const dir = gitops(['ghcr.io/acme/secret:1.0']);
    const env = { GITHUB_TOKEN: TOKEN };
    const byDefault = await cli.run(['audit', '--dir', dir, ...registryFlags(), '--no-history', '--json'], env);
    expect(JSON.parse(byDefault.stdout).results[0].status).toBe('PRIVATE');
    expect(byDefault.code).toBe(0);
    const failOnPrivate = await cli.run(['audit', '--dir', dir, ...registryFlags(), '--no-history', '--json', '--fail-on', 'private'], env);
    expect(failOnPrivate.code).toBe(1);
  });

  it('exits 2 without --dir or --repo, and with both', async () => {
    const neither = await cli.run(['audit', ...registryFlags()]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--dir PATH or --repo OWNER/NAME');
    const both = await cli.run(['audit', '--dir', gitops(['ghcr.io/acme/api:1.0']), '--repo', 'acme/gitops', ...registryFlags()]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --dir or --repo, not both');
    expect(both.stdout).toBe('');
  });

  it('exits 2 for a --registry-endpoint that is not HOST=URL', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    const noEquals = await cli.run(['audit', '--dir', dir, '--registry-endpoint', registry.url]);
    expect(noEquals.code).toBe(2);
    expect(noEquals.stderr).toContain('--registry-endpoint expects HOST=URL');
    const notUrl = await cli.run(['check', 'ghcr.io/acme/api:1.0', '--registry-endpoint', 'ghcr.io=127.0.0.1:5000']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('--registry-endpoint ghcr.io: "127.0.0.1:5000" is not a URL');
  });

  it('exits 2 for a --path under which there is nothing to audit', async () => {
    const dir = gitops(['ghcr.io/acme/api:2.0']);
    const run = await cli.run(['audit', '--dir', dir, '--path', 'deploy/ap', ...registryFlags()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--path deploy/ap: ');
    const scoped = await cli.run(['audit', '--dir', dir, '--path', 'deploy', '--no-history', ...registryFlags()]);
    expect(scoped.code).toBe(1);
  });

  it('exits 2 for an unknown --format or --fail-on status', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    const format = await cli.run(['audit', '--dir', dir, '--format', 'xml', ...registryFlags()]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format <format>.*'xml' is invalid/);
    const failOn = await cli.run(['audit', '--dir', dir, '--fail-on', 'TAG_MISING', ...registryFlags()]);
    expect(failOn.code).toBe(2);
    expect(failOn.stderr).toContain('--fail-on: unknown status "TAG_MISING"');
  });

  it('prints a subcommand\'s --help in process and exits 0 without leaving main()', async () => {
    const run = await cli.run(['audit', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: image-drift audit [options]');
    expect(run.stdout).toMatch(/INVALID_REFERENCE\n\nExit codes:\n/);
  });

  it('exits 2 for an invalid config file and names the file and the key', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    const config = join(cli.dir, 'bad.config.yaml');
    writeFileSync(config, 'concurrency: many\nplatforms: [linux/amd64]\n');
    const run = await cli.run(['audit', '--dir', dir, '--config', config, ...registryFlags()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`image-drift: Invalid configuration in ${config}:`);
    expect(run.stderr).toMatch(/- concurrency: /);
    const missing = await cli.run(['audit', '--dir', dir, '--config', join(cli.dir, 'absent.yaml'), ...registryFlags()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--config ${join(cli.dir, 'absent.yaml')}: no such file`);
  });

  it('exits 3 when the GitHub API holding --repo cannot be reached', async () => {
    const run = await cli.run(['audit', '--repo', 'acme/gitops', '--github-api-url', 'http://127.0.0.1:1', '--registry-endpoint', `ghcr.io=${registry.url}`]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('image-drift: the audit could not complete');
    expect(run.stdout).toBe('');
  });

  it('exits 3 when the history store is in use by another process', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    const state = join(cli.dir, 'locked-state');
    mkdirSync(state);
    // This process holds the store, as a concurrent audit would.
    const holder = await openLocalHistoryStore(state);
    try {
      const run = await cli.run(['audit', '--dir', dir, '--state-dir', state, ...registryFlags()]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`is in use by process ${process.pid}`);
      // The audit itself ran: its report is printed, with a note that history was not recorded.
      expect(run.stdout).toContain('ghcr.io/acme/api:1.0');
      expect(run.stdout).toContain('history was not recorded');
      const open = await cli.run(['open', '--state-dir', state]);
      expect(open.code).toBe(3);
    } finally {
      await holder.close();
    }
  });

  it('lists the exit codes in --help of the installed launcher', () => {
    const child = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/image-drift.js'), '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    });
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/Exit codes:\n\s+0\s+clean/);
    for (const line of [/1\s+drift: at least one image has a status listed in --fail-on/, /2\s+usage or configuration error/, /3\s+the audit could not complete/]) {
      expect(child.stdout).toMatch(line);
    }
    expect(child.stderr).toBe('');
  });
});

describe('image-drift init', () => {
  const cli = useCli();

  it('writes a starter config that audit --config accepts, and whose failOn decides the exit code', async () => {
    const config = join(cli.dir, 'image-drift.config.yaml');
    const init = await cli.run(['init', '--output', config]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`Wrote ${config}.`);
    const text = readFileSync(config, 'utf8');
    expect(text).toContain('failOn: [NEVER_PUSHED, DISAPPEARED, TAG_MISSING, REPO_MISSING, INVALID_REFERENCE]');

    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/app.yaml': deployment('app', ['ghcr.io/acme/api:1.0', 'ghcr.io/acme/api:9.9']) });
    const audit = ['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--json'];
    const withStarter = await cli.run([...audit, '--config', config]);
    expect(withStarter.stderr).toBe('');
    expect(withStarter.code).toBe(1);

    writeFileSync(config, text.replace(/^failOn: .*$/m, 'failOn: [PRIVATE]'));
    const edited = await cli.run([...audit, '--config', config]);
    expect(edited.code).toBe(0);
    // Found in the working directory without --config, too.
    const discovered = await cli.run(audit);
    expect(discovered.code).toBe(0);
  });

  it('refuses to overwrite an existing config without --force (exit 2)', async () => {
    const first = await cli.run(['init']);
    expect(first.code).toBe(0);
    const path = join(cli.dir, 'image-drift.config.yaml');
    writeFileSync(path, '# edited by hand\n');
    const second = await cli.run(['init']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`${path} exists; pass --force to overwrite it`);
    expect(readFileSync(path, 'utf8')).toBe('# edited by hand\n');
    const forced = await cli.run(['init', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('repositories:');
  });
});
