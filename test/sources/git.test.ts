import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevisionUnavailableError } from '../../lambdas/engine/model.js';
import { BatchOutputParser } from '../../lambdas/engine/sources/git.js';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { GIT_ENV } from '../support/git-repos.js';

let root: string;
let first: string;
let second: string;
let branchCommit: string;

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    env: GIT_ENV,
  }).trim();
}

function write(files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'idrift-git-'));
  git('init', '--quiet', '--initial-branch=main');
  write({ 'apps/web/deploy.yaml': 'image: web:1\n', 'apps/web/notes.txt': 'no\n', 'root.yaml': 'a: 1\n' });
  git('add', '.');
  git('commit', '--quiet', '-m', 'first');
  first = git('rev-parse', 'HEAD');
  git('tag', 'v1');
  write({ 'apps/web/deploy.yaml': 'image: web:2\n', 'apps/web/big.yaml': `x: "${'y'.repeat(3000)}"\n` });
  git('add', '.');
  git('commit', '--quiet', '-m', 'second');
  second = git('rev-parse', 'HEAD');
  git('checkout', '--quiet', '-b', 'other-branch', first);
  write({ 'apps/web/deploy.yaml': 'image: web:branch\n', 'apps/api/deploy.yaml': 'image: api:1\n' });
  git('add', '.');
  git('commit', '--quiet', '-m', 'on the branch');
  branchCommit = git('rev-parse', 'HEAD');
  git('checkout', '--quiet', 'main');
  // An uncommitted change: load() sees it, load(revision) does not.
  write({ 'apps/web/deploy.yaml': 'image: web:dirty\n' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('git checkout source', () => {
  it('describes itself as git with the current branch and HEAD commit', () => {
    expect(createLocalSource(root).description).toEqual({ kind: 'git', location: root, ref: 'main', commit: second });
  });

  it('load() reads the work tree, uncommitted changes included', async () => {
    const tree = await createLocalSource(root).load();
    expect(tree.read('apps/web/deploy.yaml')?.toString()).toBe('image: web:dirty\n');
  });

  it('load(branch) reads that branch without touching the work tree', async () => {
    const tree = await createLocalSource(root).load('other-branch');
    expect(tree.description).toEqual({ kind: 'git', location: root, ref: 'other-branch', commit: branchCommit });
    expect(tree.paths()).toEqual(['apps/api/deploy.yaml', 'apps/web/deploy.yaml', 'root.yaml']);
    expect(tree.read('apps/web/deploy.yaml')?.toString()).toBe('image: web:branch\n');
    expect(git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(git('status', '--porcelain')).toBe('M apps/web/deploy.yaml');
  });

  it('load(tag) and load(sha) read those commits', async () => {
    const source = createLocalSource(root);
    const tagged = await source.load('v1');
    expect(tagged.description.commit).toBe(first);
    expect(tagged.read('apps/web/deploy.yaml')?.toString()).toBe('image: web:1\n');
    const bySha = await source.load(second.slice(0, 10));
    expect(bySha.description.commit).toBe(second);
    expect(bySha.read('apps/web/deploy.yaml')?.toString()).toBe('image: web:2\n');
  });

  it('applies the size cap to revisions too', async () => {
    const tree = await createLocalSource(root, { maxFileBytes: 1024 }).load('main');
    expect(tree.paths()).toEqual(['apps/web/deploy.yaml', 'root.yaml']);
    expect(tree.findings).toEqual([expect.objectContaining({ file: 'apps/web/big.yaml', code: 'LIMIT_EXCEEDED', line: 0, message: expect.stringContaining('MAX_FILE_BYTES') })]);
  });

  it('reads paths relative to a subdirectory of the checkout', async () => {
    const source = createLocalSource(join(root, 'apps'));
    expect(source.description.kind).toBe('git');
    const tree = await source.load('other-branch');
    expect(tree.paths()).toEqual(['api/deploy.yaml', 'web/deploy.yaml']);
    const work = await source.load();
    expect(work.paths()).toEqual(['web/big.yaml', 'web/deploy.yaml']);
  });

  it('resolves origin/<rev> when only the remote-tracking branch exists', async () => {
    git('update-ref', 'refs/remotes/origin/release', first);
    const tree = await createLocalSource(root).load('release');
    expect(tree.description.commit).toBe(first);
  });

  it('rejects an unknown revision, and one that looks like an option, with RevisionUnavailableError', async () => {
    const source = createLocalSource(root);
    await expect(source.load('no-such-branch')).rejects.toBeInstanceOf(RevisionUnavailableError);
    await expect(source.load('--output=/tmp/x')).rejects.toBeInstanceOf(RevisionUnavailableError);
  });
});

describe('cat-file --batch parser', () => {
  it('reassembles objects split across chunks at any byte and reports missing ones', () => {
    const output = Buffer.from('aaaa blob 5\nhello\nbbbb missing\ncccc blob 0\n\ndddd blob 3\nxyz\n');
    for (let size = 1; size <= output.length; size += 1) {
      const parser = new BatchOutputParser();
      for (let offset = 0; offset < output.length; offset += size) parser.push(output.subarray(offset, offset + size));
      expect(parser.results.map((r) => r?.toString())).toEqual(['hello', undefined, '', 'xyz']);
    }
  });
});
