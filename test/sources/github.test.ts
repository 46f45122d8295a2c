import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RevisionUnavailableError } from '../../lambdas/engine/model.js';
import { SourceUnavailableError } from '../../lambdas/engine/sources/errors.js';
import { createGitHubSource, type GitHubSourceOptions } from '../../lambdas/engine/sources/github.js';
import { truncatesSource } from '../../lambdas/engine/sources/relevance.js';
import { openSource, parseRepoSpec } from '../../lambdas/engine/sources/index.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';

const TOKEN = 'ghp_testtokenvalue0123456789';
const SHA_MAIN = 'a'.repeat(40);
const SHA_TAG = 'b'.repeat(40);
const SHA_MOVED = 'c'.repeat(40);

/** The archive every test serves, with a symlink that must never be followed out of the tree. */
const archive = (owner: string, repo: string, sha: string, files: Record<string, string | Buffer>) =>
  gitHubArchive(owner, repo, sha, files, { symlinks: { 'link.yaml': '../../etc/passwd' } });

let github: FakeGitHub;
const cleanup: string[] = [];

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idrift-gh-cache-'));
  cleanup.push(dir);
  return dir;
}

async function addRepository(options: { private?: boolean; owner?: string; name?: string } = {}): Promise<void> {
  const owner = options.owner ?? 'acme';
  const name = options.name ?? 'gitops';
  github.addRepository({
    owner,
    name,
    private: options.private ?? false,
    defaultBranch: 'main',
    refs: { main: SHA_MAIN, 'v1.0.0': SHA_TAG, 'feature/x': SHA_TAG },
    archives: {
      [SHA_MAIN]: await archive(owner, name, SHA_MAIN, {
        'apps/web/deployment.yaml': 'image: ghcr.io/acme/web:1.0.0\n',
        'apps/web/kustomization.yaml': 'resources: [deployment.yaml]\n',
        'README.md': '# not kept\n',
        'node_modules/x/a.yaml': 'a: 1\n',
      }),
      [SHA_TAG]: await archive(owner, name, SHA_TAG, { 'apps/web/deployment.yaml': 'image: ghcr.io/acme/web:0.9.0\n' }),
    },
  });
}

function source(options: Partial<GitHubSourceOptions> = {}) {
  return createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: github.baseUrl, memoryCache: false, ...options });
}

const archiveDownloads = () => github.requests.filter((r) => r.path.includes('/legacy.tar.gz/'));

beforeEach(async () => {
  github = await startFakeGitHub({ token: TOKEN });
});

afterEach(async () => {
  await github.close();
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('GitHub source', () => {
  it('loads the default branch with one archive download, top-level directory stripped, relevant files only', async () => {
    await addRepository();
    const repoSource = source();
    const tree = await repoSource.load();
    expect(tree.description).toEqual({ kind: 'github', location: 'acme/gitops', ref: 'main', commit: SHA_MAIN });
    expect(tree.paths()).toEqual(['apps/web/deployment.yaml', 'apps/web/kustomization.yaml']);
    expect(tree.read('apps/web/deployment.yaml')?.toString()).toBe('image: ghcr.io/acme/web:1.0.0\n');
    expect(tree.findings).toEqual([]);
    expect(github.requests.map((r) => `${r.server} ${r.path} ${r.status}`)).toEqual([
      'api /repos/acme/gitops 200',
      'api /repos/acme/gitops/commits/main 200',
      `api /repos/acme/gitops/tarball/${SHA_MAIN} 302`,
      `codeload /acme/gitops/legacy.tar.gz/${SHA_MAIN} 200`,
    ]);
    expect(repoSource.description.commit).toBe(SHA_MAIN);
  });

  it('a second run with an unchanged ref costs only 304s and no download (disk cache)', async () => {
    await addRepository();
    const dir = cacheDir();
    await source({ cacheDir: dir }).load();
    const before = github.requests.length;
    const remaining = github.rateLimit.remaining;
    const tree = await source({ cacheDir: dir }).load();
    const second = github.requests.slice(before);
    expect(second.map((r) => r.status)).toEqual([304, 304]);
    expect(second.every((r) => r.ifNoneMatch !== undefined)).toBe(true);
    expect(github.rateLimit.remaining).toBe(remaining);
    expect(tree.paths()).toEqual(['apps/web/deployment.yaml', 'apps/web/kustomization.yaml']);
    expect(tree.read('apps/web/kustomization.yaml')?.toString()).toBe('resources: [deployment.yaml]\n');
    expect(archiveDownloads()).toHaveLength(1);
  });

  it('a second run in a warm process costs only 304s and no download (memory cache)', async () => {
    await addRepository();
    await source({ memoryCache: true }).load();
    const before = github.requests.length;
    const tree = await source({ memoryCache: true }).load();
    expect(github.requests.slice(before).map((r) => r.status)).toEqual([304, 304]);
    expect(tree.description.commit).toBe(SHA_MAIN);
    expect(archiveDownloads()).toHaveLength(1);
  });

  it('downloads again when the ref moved, and only once per snapshot', async () => {
    await addRepository();
    const dir = cacheDir();
    await source({ cacheDir: dir, ref: 'main' }).load();
    github.setRef('acme', 'gitops', 'main', SHA_MOVED, await archive('acme', 'gitops', SHA_MOVED, { 'moved.yaml': 'a: 1\n' }));
    const moved = source({ cacheDir: dir, ref: 'main' });
    const tree = await moved.load();
    await moved.load();
    expect(tree.description.commit).toBe(SHA_MOVED);
    expect(tree.paths()).toEqual(['moved.yaml']);
    expect(archiveDownloads().map((r) => r.path)).toEqual([`/acme/gitops/legacy.tar.gz/${SHA_MAIN}`, `/acme/gitops/legacy.tar.gz/${SHA_MOVED}`]);
  });

  it('load(revision) reads a tag or a branch with a slash; an unknown revision is RevisionUnavailableError', async () => {
    await addRepository();
    const repoSource = source();
    const tagged = await repoSource.load('v1.0.0');
    expect(tagged.description).toEqual({ kind: 'github', location: 'acme/gitops', ref: 'v1.0.0', commit: SHA_TAG });
    expect(tagged.read('apps/web/deployment.yaml')?.toString()).toBe('image: ghcr.io/acme/web:0.9.0\n');
    const branch = await repoSource.load('feature/x');
    expect(branch.description.commit).toBe(SHA_TAG);
    expect(archiveDownloads()).toHaveLength(1);
    await expect(repoSource.load('no-such-branch')).rejects.toBeInstanceOf(RevisionUnavailableError);
  });

  it('an unknown ref in the source specification is SourceUnavailableError', async () => {
    await addRepository();
    const error = await source({ ref: 'typo' }).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ reason: 'not-found', status: 422 });
  });

  it('a missing repository (octokit 404) is SourceUnavailableError', async () => {
    await addRepository();
    const error = await source({ repo: 'nope' }).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ reason: 'not-found', status: 404, location: 'acme/nope' });
  });

  it('a private repository needs the token, which is never sent to a different redirect host', async () => {
    await addRepository({ private: true });
    const anonymous = await source().load().catch((e: unknown) => e);
    expect(anonymous).toMatchObject({ name: 'SourceUnavailableError', reason: 'not-found' });
    expect((anonymous as SourceUnavailableError).hint).toContain('token');

    const tree = await source({ token: TOKEN }).load();
    expect(tree.paths()).toEqual(['apps/web/deployment.yaml', 'apps/web/kustomization.yaml']);
    const api = github.requests.filter((r) => r.server === 'api' && r.status !== 404);
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    const downloads = archiveDownloads();
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.authorization).toBeUndefined();
  });

  it('a rejected token is SourceUnavailableError without the token in the message', async () => {
    await addRepository({ private: true });
    const error = await source({ token: 'ghp_wrong_secret_value' }).load().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError', reason: 'unauthorized', status: 401 });
    expect(String((error as Error).message)).not.toContain('ghp_wrong_secret_value');
    expect(JSON.stringify(error)).not.toContain('ghp_wrong_secret_value');
  });

  it('an unreachable API is SourceUnavailableError', async () => {
    const closed = await startFakeGitHub();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const error = await source({ baseUrl, ref: 'main' }).load().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError', reason: 'unreachable' });
  });

  it('an exhausted rate limit is SourceUnavailableError with the reset time', async () => {
    await addRepository();
    github.rateLimit.remaining = 0;
    const error = await source().load().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError', reason: 'rate-limited', status: 403 });
    expect((error as SourceUnavailableError).resetAt).toBe(new Date(github.rateLimit.reset * 1000).toISOString());
  });

  it('skips oversized entries and stops at the total cap, each with a LIMIT_EXCEEDED finding naming its cap', async () => {
    github.addRepository({
      owner: 'acme',
      name: 'big',
      defaultBranch: 'main',
      refs: { main: SHA_MAIN },
      archives: {
        [SHA_MAIN]: await archive('acme', 'big', SHA_MAIN, {
          'a/huge.yaml': `x: "${'y'.repeat(50_000)}"\n`,
          'b/one.yaml': 'z'.repeat(600),
          'c/two.yaml': 'z'.repeat(600),
          'd/three.yaml': 'z'.repeat(10),
        }),
      },
    });
    const tree = await source({ repo: 'big', maxFileBytes: 1024, maxTotalBytes: 1000 }).load();
    expect(tree.paths()).toEqual(['b/one.yaml']);
    expect(tree.findings).toEqual([
      expect.objectContaining({ file: 'a/huge.yaml', line: 0, code: 'LIMIT_EXCEEDED', message: expect.stringContaining('MAX_FILE_BYTES') }),
      expect.objectContaining({ file: 'c/two.yaml', line: 0, code: 'LIMIT_EXCEEDED', message: expect.stringContaining('MAX_TOTAL_BYTES') }),
    ]);
  });

  it('stops a gzip bomb at the archive cap (MAX_ARCHIVE_BYTES), counting entries it only skips through', async () => {
    // 64 MiB of zeros in a file the audit does not even keep: ~64 KiB on the wire.
    const bomb = await archive('acme', 'bomb', SHA_MAIN, {
      'apps/a.yaml': 'a: 1\n',
      'bin/blob.dat': Buffer.alloc(64 * 1024 * 1024),
      'zz/b.yaml': 'b: 1\n',
    });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    github.addRepository({ owner: 'acme', name: 'bomb', defaultBranch: 'main', refs: { main: SHA_MAIN }, archives: { [SHA_MAIN]: bomb } });
    const tree = await source({ repo: 'bomb', maxArchiveBytes: 8 * 1024 * 1024 }).load();
    expect(tree.paths()).toEqual(['apps/a.yaml']);
    expect(tree.findings).toEqual([
      expect.objectContaining({ file: 'bin/blob.dat', code: 'LIMIT_EXCEEDED', severity: 'error', message: expect.stringContaining('8 MiB cap (MAX_ARCHIVE_BYTES)') }),
    ]);
    expect(truncatesSource(tree.findings[0]!)).toBe(true);
  });

  it('stops before inflating an entry that declares more than the default 1 GiB archive cap', async () => {
    const tarball = gunzipSync(await archive('acme', 'huge', SHA_MAIN, { 'apps/a.yaml': 'a: 1\n', 'data/huge.bin': 'x' }));
    // Rewrite the header of data/huge.bin to declare 2 GiB; the body that would follow is never sent.
    const name = Buffer.from('/data/huge.bin');
    const at = tarball.indexOf(name) - (tarball.indexOf(name) % 512);
    tarball.write(`${(2 * 1024 ** 3).toString(8).padStart(11, '0')}\0`, at + 124, 'latin1');
    tarball.fill(' ', at + 148, at + 156);
    let sum = 0;
    for (const byte of tarball.subarray(at, at + 512)) sum += byte;
    tarball.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    github.addRepository({ owner: 'acme', name: 'huge', defaultBranch: 'main', refs: { main: SHA_MAIN }, archives: { [SHA_MAIN]: gzipSync(tarball.subarray(0, at + 512)) } });
    const tree = await source({ repo: 'huge' }).load();
    expect(tree.paths()).toEqual(['apps/a.yaml']);
    expect(tree.findings).toEqual([expect.objectContaining({ file: 'data/huge.bin', code: 'LIMIT_EXCEEDED', message: expect.stringContaining('1024 MiB cap (MAX_ARCHIVE_BYTES)') })]);
  });

  it('stops at the entry-count cap (MAX_ARCHIVE_ENTRIES)', async () => {
    const files = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${String(i).padStart(2, '0')}.yaml`, `i: ${i}\n`]));
    github.addRepository({ owner: 'acme', name: 'many', defaultBranch: 'main', refs: { main: SHA_MAIN }, archives: { [SHA_MAIN]: await archive('acme', 'many', SHA_MAIN, files) } });
    const tree = await source({ repo: 'many', maxArchiveEntries: 10 }).load();
    // The top directory is an entry too (tar-stream reads the pax global header as a header, not an entry).
    expect(tree.paths()).toHaveLength(9);
    expect(tree.findings).toEqual([expect.objectContaining({ file: 'f09.yaml', code: 'LIMIT_EXCEEDED', message: expect.stringContaining('more than 10 entries (MAX_ARCHIVE_ENTRIES)') })]);
  });

  it('works under a GitHub Enterprise /api/v3 prefix and sends the token to archives served by the same host', async () => {
    await github.close();
    github = await startFakeGitHub({ token: TOKEN, pathPrefix: '/api/v3', archivesOnApiHost: true });
    await addRepository({ private: true });
    expect(github.baseUrl).toMatch(/\/api\/v3$/);
    const tree = await source({ token: TOKEN }).load();
    expect(tree.paths()).toEqual(['apps/web/deployment.yaml', 'apps/web/kustomization.yaml']);
    const downloads = archiveDownloads();
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.authorization).toBe(`token ${TOKEN}`);
  });

  it('takes the commit from the archive\'s pax global header when the commit lookup answers without a SHA', async () => {
    await github.close();
    github = await startFakeGitHub({ token: TOKEN, commitLookup: 'empty' });
    await addRepository();
    const dir = cacheDir();
    const repoSource = source({ cacheDir: dir });
    const tree = await repoSource.load();
    expect(tree.description).toEqual({ kind: 'github', location: 'acme/gitops', ref: 'main', commit: SHA_MAIN });
    expect(tree.read('apps/web/deployment.yaml')?.toString()).toBe('image: ghcr.io/acme/web:1.0.0\n');
    expect((await repoSource.identify?.())?.commit).toBe(SHA_MAIN);
    // The ref's own archive was downloaded (GitHub resolves the ref), and cached under the commit it named.
    expect(github.requests.filter((r) => r.path.includes('/tarball/')).map((r) => r.path)).toEqual(['/repos/acme/gitops/tarball/main']);
    const again = await source({ cacheDir: dir }).load();
    expect(again.description.commit).toBe(SHA_MAIN);
  });

  it('an archive without a pax commit, after a lookup without a SHA, is still SourceUnavailableError', async () => {
    await github.close();
    github = await startFakeGitHub({ token: TOKEN, commitLookup: 'empty' });
    github.addRepository({
      owner: 'acme',
      name: 'gitops',
      defaultBranch: 'main',
      refs: { main: SHA_MAIN },
      archives: { [SHA_MAIN]: await gitHubArchive('acme', 'gitops', SHA_MAIN, { 'a.yaml': 'a: 1\n' }, { paxComment: false }) },
    });
    await expect(source().load()).rejects.toThrow(/not a commit SHA/);
  });

  it('reads the commit from the JSON commit object of a server that ignores the sha media type', async () => {
    await github.close();
    github = await startFakeGitHub({ token: TOKEN, commitLookup: 'json' });
    await addRepository();
    const tree = await source().load();
    expect(tree.description.commit).toBe(SHA_MAIN);
    expect(archiveDownloads().map((r) => r.path)).toEqual([`/acme/gitops/legacy.tar.gz/${SHA_MAIN}`]);
  });
});

describe('openSource and parseRepoSpec', () => {
  it('parses OWNER/NAME[@REF], refs with slashes, URLs and .git', () => {
    expect(parseRepoSpec('acme/gitops')).toEqual({ owner: 'acme', repo: 'gitops' });
    expect(parseRepoSpec('acme/gitops@release/2024')).toEqual({ owner: 'acme', repo: 'gitops', ref: 'release/2024' });
    expect(parseRepoSpec('https://github.com/acme/gitops.git')).toEqual({ owner: 'acme', repo: 'gitops' });
    for (const bad of ['gitops', '/gitops', 'acme/', 'acme/gitops@', 'ac me/gitops', 'acme/gi tops']) {
      expect(() => parseRepoSpec(bad), bad).toThrow(SourceUnavailableError);
    }
  });

  it('opens a GitHub source from --repo and refuses both or neither of dir and repo', async () => {
    await addRepository();
    const opened = openSource({ repo: 'acme/gitops@v1.0.0', baseUrl: github.baseUrl });
    expect(opened.description).toEqual({ kind: 'github', location: 'acme/gitops', ref: 'v1.0.0' });
    expect((await opened.load()).description.commit).toBe(SHA_TAG);
    expect(() => openSource({})).toThrow(SourceUnavailableError);
    expect(() => openSource({ dir: '.', repo: 'acme/gitops' })).toThrow(SourceUnavailableError);
  });
});
