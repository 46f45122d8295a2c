import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RevisionUnavailableError } from '../../lambdas/engine/model.js';
import { SourceUnavailableError } from '../../lambdas/engine/sources/errors.js';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { createPathFilter, relevantKind, truncatesSource } from '../../lambdas/engine/sources/relevance.js';

const temporary: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idrift-local-'));
  temporary.push(dir);
  return dir;
}

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('relevance', () => {
  it('keeps YAML, JSON and Kustomization by name and nothing else', () => {
    expect(relevantKind('apps/web/deployment.yaml')).toBe('yaml');
    expect(relevantKind('compose.YML')).toBe('yaml');
    expect(relevantKind('charts/web/Chart.yaml')).toBe('yaml');
    expect(relevantKind('overlays/prod/Kustomization')).toBe('yaml');
    expect(relevantKind('apps/values.json')).toBe('json');
    expect(relevantKind('package-lock.json')).toBeUndefined();
    expect(relevantKind('README.md')).toBeUndefined();
    expect(relevantKind('kustomization')).toBeUndefined();
  });

  it('path filter matches a directory and everything below it, not siblings with a common prefix', () => {
    const inScope = createPathFilter(['./apps/web/', 'infra']);
    expect(inScope('apps/web/deploy.yaml')).toBe(true);
    expect(inScope('apps/web')).toBe(true);
    expect(inScope('apps/web-two/deploy.yaml')).toBe(false);
    expect(inScope('infra/x.yaml')).toBe(true);
    expect(inScope('base/x.yaml')).toBe(false);
    expect(createPathFilter([])('anything.yaml')).toBe(true);
  });
});

describe('local directory source', () => {
  it('loads relevant files under sorted repository-relative paths and skips .git, node_modules, vendored directories and .github except its workflows', async () => {
    const root = tempDir();
    write(root, {
      'apps/web/deployment.yaml': 'kind: Deployment\n',
      'apps/web/Kustomization': 'resources: [deployment.yaml]\n',
      'apps/api/values.json': '{"image":{"repository":"acme/api"}}',
      'charts/api/Chart.yaml': 'name: api\n',
      'README.md': '# docs\n',
      'package.json': '{}',
      '.git/config.yaml': 'x: 1\n',
      'node_modules/pkg/a.yaml': 'x: 1\n',
      'vendor/lib/b.yaml': 'x: 1\n',
      '.github/workflows/ci.yml': 'jobs: {}\n',
      '.github/workflows/nested/x.yml': 'jobs: {}\n',
      '.github/ISSUE_TEMPLATE/bug.yml': 'name: bug\n',
      'apps/.github/workflows/not-ci.yml': 'jobs: {}\n',
    });
    const source = createLocalSource(root, { detectGit: false });
    expect(source.description).toEqual({ kind: 'local', location: root });
    const tree = await source.load();
    expect(tree.paths()).toEqual(['.github/workflows/ci.yml', 'apps/api/values.json', 'apps/web/Kustomization', 'apps/web/deployment.yaml', 'charts/api/Chart.yaml']);
    expect(tree.read('apps/web/deployment.yaml')?.toString()).toBe('kind: Deployment\n');
    expect(tree.read('./apps/web/deployment.yaml')?.toString()).toBe('kind: Deployment\n');
    expect(tree.read('README.md')).toBeUndefined();
    expect(tree.findings).toEqual([]);
  });

  it('skips a file over the per-file cap with a LIMIT_EXCEEDED finding naming MAX_FILE_BYTES on line 0', async () => {
    const root = tempDir();
    write(root, { 'big.yaml': `a: "${'x'.repeat(5000)}"\n`, 'small.yaml': 'a: 1\n' });
    const tree = await createLocalSource(root, { detectGit: false, maxFileBytes: 1024 }).load();
    expect(tree.paths()).toEqual(['small.yaml']);
    expect(tree.findings).toEqual([expect.objectContaining({ file: 'big.yaml', line: 0, code: 'LIMIT_EXCEEDED', severity: 'error', message: expect.stringContaining('MAX_FILE_BYTES') })]);
  });

  it('skips large JSON silently but keeps small JSON', async () => {
    const root = tempDir();
    write(root, { 'dash.json': JSON.stringify({ data: 'x'.repeat(4000) }), 'values.json': '{"a":1}' });
    const tree = await createLocalSource(root, { detectGit: false, maxJsonBytes: 1000 }).load();
    expect(tree.paths()).toEqual(['values.json']);
    expect(tree.findings).toEqual([]);
  });

  it('stops at the total cap with one LIMIT_EXCEEDED finding naming MAX_TOTAL_BYTES, in path order', async () => {
    const root = tempDir();
    write(root, { 'a.yaml': 'x'.repeat(400), 'b.yaml': 'x'.repeat(400), 'c.yaml': 'x'.repeat(400), 'd.yaml': 'x'.repeat(10) });
    const tree = await createLocalSource(root, { detectGit: false, maxTotalBytes: 1000 }).load();
    expect(tree.paths()).toEqual(['a.yaml', 'b.yaml']);
    expect(tree.findings).toEqual([expect.objectContaining({ file: 'c.yaml', code: 'LIMIT_EXCEEDED', severity: 'error', message: expect.stringContaining('MAX_TOTAL_BYTES') })]);
    // The Lambda reads it as a partly loaded source: drifts are kept, never closed as "no longer desired".
    expect(truncatesSource(tree.findings[0]!)).toBe(true);
  });

  it('follows symlinks inside the root and refuses ones that escape it', async () => {
    const outside = tempDir();
    write(outside, { 'secret.yaml': 'password: hunter2\n', 'dir/other.yaml': 'x: 1\n' });
    const root = tempDir();
    write(root, { 'base/deploy.yaml': 'kind: Deployment\n' });
    symlinkSync(join(root, 'base'), join(root, 'linked-base'));
    symlinkSync(join(root, 'base/deploy.yaml'), join(root, 'alias.yaml'));
    symlinkSync(join(outside, 'secret.yaml'), join(root, 'escape.yaml'));
    symlinkSync(join(outside, 'dir'), join(root, 'escape-dir'));
    symlinkSync(root, join(root, 'base/loop'));
    const tree = await createLocalSource(root, { detectGit: false }).load();
    expect(tree.paths()).toEqual(['alias.yaml', 'base/deploy.yaml', 'linked-base/deploy.yaml']);
    expect(tree.findings.map((f) => [f.file, f.code])).toEqual([
      ['escape-dir', 'SOURCE_ERROR'],
      ['escape.yaml', 'SOURCE_ERROR'],
    ]);
    expect([...tree.paths()].some((p) => tree.read(p)?.toString().includes('hunter2'))).toBe(false);
  });

  it('restrictTo limits what is loaded while the tree keeps repository-relative paths', async () => {
    const root = tempDir();
    write(root, { 'apps/web/a.yaml': 'a: 1\n', 'apps/api/b.yaml': 'b: 1\n', 'base/c.yaml': 'c: 1\n' });
    const tree = await createLocalSource(root, { detectGit: false, restrictTo: ['apps/web'] }).load();
    expect(tree.paths()).toEqual(['apps/web/a.yaml']);
  });

  it('rejects a missing directory with SourceUnavailableError', async () => {
    const root = join(tempDir(), 'nope');
    await expect(createLocalSource(root).load()).rejects.toBeInstanceOf(SourceUnavailableError);
  });

  it('rejects load(revision) with RevisionUnavailableError when the directory is not a git checkout', async () => {
    const root = tempDir();
    write(root, { 'a.yaml': 'a: 1\n' });
    const source = createLocalSource(root);
    expect(source.description.kind).toBe('local');
    const error = await source.load('main').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevisionUnavailableError);
    expect((error as Error).message).toContain('not a git checkout');
  });
});
