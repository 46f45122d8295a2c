/**
 * The config's `exclude:` globs (Renovate `ignorePaths`): applied by every source while loading, so an
 * excluded file is never read and never audited; one note says how many files were left out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubSource } from '../../lambdas/engine/sources/github.js';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { createExcludeFilter, LoadBudget } from '../../lambdas/engine/sources/relevance.js';
import { resolveDesiredState } from '../../lambdas/engine/resolve/index.js';
import { git, writeFiles } from '../support/git-repos.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub } from '../support/github-server.js';

const FILES: Record<string, string> = {
  '.doco-cd.yaml': 'name: shop\nworking_dir: deploy\n',
  'deploy/docker-compose.yml': 'services:\n  shop:\n    image: ghcr.io/acme/shop:1.0\n',
  'test/docker-compose.yml': 'services:\n  db:\n    image: postgres:16\n',
  'test/fixtures/deep/values.yaml': 'image: ghcr.io/acme/fixture:0\n',
  'services/api/docker-compose.dev.yml': 'services:\n  api:\n    image: ghcr.io/acme/api:dev\n',
  'services/api/docker-compose.yml': 'services:\n  api:\n    image: ghcr.io/acme/api:1\n',
  'e2e/.hidden/compose.yaml': 'services:\n  x:\n    image: ghcr.io/acme/x:1\n',
};
const EXCLUDE = ['test/', '**/docker-compose.dev.yml', '**/.hidden'];
const KEPT = ['.doco-cd.yaml', 'deploy/docker-compose.yml', 'services/api/docker-compose.yml'];
const NOTE = 'exclude: 4 files matching test/, **/docker-compose.dev.yml, **/.hidden were not loaded';

describe('exclude globs', () => {
  it('match a path or any of its directories, dot files included, with Renovate-style directory globs', () => {
    const excluded = createExcludeFilter(['test', 'docs/**', '**/e2e', '**/*.test.yaml', './local/']);
    expect(excluded('test/a.yaml')).toBe(true);
    expect(excluded('test')).toBe(true);
    expect(excluded('tests/a.yaml')).toBe(false);
    expect(excluded('docs/x/y.yaml')).toBe(true);
    expect(excluded('apps/e2e/compose.yaml')).toBe(true);
    expect(excluded('apps/.ci/a.test.yaml')).toBe(true);
    expect(excluded('local/compose.yaml')).toBe(true);
    expect(excluded('apps/web/deployment.yaml')).toBe(false);
    expect(createExcludeFilter([])('anything.yaml')).toBe(false);
  });

  it('change the snapshot cache key, so a cached tree never hides or resurrects excluded files', () => {
    expect(LoadBudget.cacheKey({ exclude: ['test/**'] })).not.toBe(LoadBudget.cacheKey({}));
  });

  describe('on a local directory', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'idrift-exclude-'));
      writeFiles(dir, FILES);
      // Over the 2 MiB per-file cap: were it measured for loading, it would give a finding.
      writeFileSync(join(dir, 'test/huge.yaml'), `x: "${'y'.repeat(3 * 1024 * 1024)}"\n`);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('never loads an excluded file (file and directory globs) and notes how many were left out', async () => {
      const tree = await createLocalSource(dir, { exclude: EXCLUDE }).load();
      expect(tree.paths()).toEqual(KEPT);
      expect(tree.findings).toEqual([]);
      expect(tree.notes).toEqual(['exclude: 5 files matching test/, **/docker-compose.dev.yml, **/.hidden were not loaded']);
    });

    it('keeps excluded compose files out of the desired state: no image, no UNREFERENCED unit', async () => {
      const source = createLocalSource(dir, { exclude: EXCLUDE });
      const state = await resolveDesiredState(source);
      expect(state.images.map((image) => `${image.app.name} ${image.image}`)).toEqual([
        'services/api/docker-compose.yml ghcr.io/acme/api:1',
        'shop ghcr.io/acme/shop:1.0',
      ]);
      expect(state.findings.map((finding) => `${finding.code} ${finding.file}`)).toEqual(['UNREFERENCED services/api/docker-compose.yml']);
      expect(state.notes).toContain('exclude: 5 files matching test/, **/docker-compose.dev.yml, **/.hidden were not loaded');
      const all = await resolveDesiredState(createLocalSource(dir));
      expect(all.images.map((image) => image.image).sort()).toEqual([
        'docker.io/library/postgres:16',
        'ghcr.io/acme/api:1',
        'ghcr.io/acme/api:dev',
        'ghcr.io/acme/shop:1.0',
        'ghcr.io/acme/x:1',
      ]);
      // Without exclude:, the oversized file is measured and reported; with it, never.
      expect(all.findings.some((finding) => finding.file === 'test/huge.yaml')).toBe(true);
    });
  });

  describe('on a git revision', () => {
    let dir: string;
    let first: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'idrift-exclude-git-'));
      git(dir, 'init', '--quiet', '--initial-branch=main');
      writeFiles(dir, FILES);
      git(dir, 'add', '.');
      git(dir, 'commit', '--quiet', '-m', 'stacks');
      first = git(dir, 'rev-parse', 'HEAD');
      writeFiles(dir, { 'test/later.yaml': 'a: 1\n' });
      git(dir, 'add', '.');
      git(dir, 'commit', '--quiet', '-m', 'later');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('leaves the same files out of another commit read from git', async () => {
      const tree = await createLocalSource(dir, { exclude: EXCLUDE }).load(first);
      expect(tree.description.commit).toBe(first);
      expect(tree.paths()).toEqual(KEPT);
      expect(tree.notes).toEqual([NOTE]);
    });
  });

  describe('on a GitHub tarball', () => {
    it('drains excluded entries of the archive without keeping them, and the cached snapshot keeps the note', async () => {
      const github = await startFakeGitHub({ token: 'ghp_testtokenvalue0123456789' });
      const cacheDir = mkdtempSync(join(tmpdir(), 'idrift-exclude-gh-'));
      try {
        const sha = 'd'.repeat(40);
        github.addRepository({
          owner: 'acme',
          name: 'stacks',
          private: false,
          defaultBranch: 'main',
          refs: { main: sha },
          archives: { [sha]: await gitHubArchive('acme', 'stacks', sha, FILES) },
        });
        const open = () => createGitHubSource({ owner: 'acme', repo: 'stacks', baseUrl: github.baseUrl, memoryCache: false, cacheDir, exclude: EXCLUDE });
        const tree = await open().load();
        expect(tree.paths()).toEqual(KEPT);
        expect(tree.notes).toEqual([NOTE]);
        // Second run: the snapshot comes from the disk cache, no archive download, same note.
        const downloads = () => github.requests.filter((request) => request.path.includes('/legacy.tar.gz/')).length;
        const before = downloads();
        const again = await open().load();
        expect(downloads()).toBe(before);
        expect(again.paths()).toEqual(KEPT);
        expect(again.notes).toEqual([NOTE]);
      } finally {
        await github.close();
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
  });
});
