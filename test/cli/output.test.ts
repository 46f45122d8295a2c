/**
 * What `image-drift audit` and `image-drift check` print: the table (colour only when asked for,
 * since captured output is not a terminal), Markdown for a pull-request comment, and JSON with a
 * status per image. Against the real local registry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from './harness.js';

const ANSI = /\x1b\[[0-9;]*m/;
let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry({ privateRepositories: ['acme/secret'] });
  await registry.pushImage('acme/api', '1.0');
  await registry.pushImage('acme/api', 'latest');
  await registry.pushImage('acme/secret', '1.0');
});

afterAll(async () => {
  await registry?.stop();
});

describe('report output', () => {
  const cli = useCli();
  const audit = (format: string) => {
    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/app.yaml': deployment('app', ['ghcr.io/acme/api:1.0', 'ghcr.io/acme/api:dev-latest']) });
    return ['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--format', format];
  };

  it('the table has no ANSI codes unless FORCE_COLOR is set', async () => {
    const plain = await cli.run(audit('table'));
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/TAG_MISSING\s+ghcr\.io\/acme\/api:dev-latest/);
    expect(plain.stdout).not.toMatch(ANSI);

    const forced = await cli.run(audit('table'), { FORCE_COLOR: '1' });
    expect(forced.stdout).toMatch(ANSI);
    const text = (output: string) => output.replace(new RegExp(ANSI, 'g'), '').replace(/ · [\d.]+m?s\n/, ' · (duration)\n');
    expect(text(forced.stdout)).toBe(text(plain.stdout));

    for (const env of [{ FORCE_COLOR: '0' }, { FORCE_COLOR: '1', NO_COLOR: '1' }]) {
      expect((await cli.run(audit('table'), env)).stdout).not.toMatch(ANSI);
    }
  });

  it('the table ends with one newline, not a blank line', async () => {
    const run = await cli.run(audit('table'));
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout.endsWith('\n\n')).toBe(false);
  });

  it('--format markdown has a summary line and a table, and no trailing blank line', async () => {
    const run = await cli.run(audit('markdown'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^### image-drift audit\n/);
    expect(run.stdout).toMatch(/^❌ 1 image cannot be pulled · 1 OK/m);
    expect(run.stdout).toMatch(/^\| Status \| Image \| App \| Where \|\n\|---\|---\|---\|---\|\n\| ❌ `TAG_MISSING` \| `ghcr\.io\/acme\/api:dev-latest` \| .* \| `deploy\/app\.yaml:13` \|$/m);
    expect(run.stdout).not.toMatch(ANSI);
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout.endsWith('\n\n')).toBe(false);
  });
});

describe('audit --markdown-summary', () => {
  const cli = useCli();

  it('appends the Markdown report to the file on every run while stdout keeps the table', async () => {
    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/app.yaml': deployment('app', ['ghcr.io/acme/api:dev-latest']) });
    const summary = join(cli.dir, 'step-summary.md');
    const args = ['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--markdown-summary', summary];
    const first = await cli.run(args);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^image-drift audit · /);
    await cli.run(args);
    const text = readFileSync(summary, 'utf8');
    expect(text.match(/^### image-drift audit$/gm)).toHaveLength(2);
    expect(text).toContain('`ghcr.io/acme/api:dev-latest`');
  });

  it('exits 2 before auditing when the file cannot be written', async () => {
    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/app.yaml': deployment('app', ['ghcr.io/acme/api:1.0']) });
    const summary = join(cli.dir, 'no-such-dir', 'summary.md');
    const run = await cli.run(['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--markdown-summary', summary]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`image-drift: --markdown-summary ${summary}: cannot write: ENOENT`);
    expect(run.stderr).not.toContain('unexpected error');
    expect(run.stdout).toBe('');
  });
});

describe('image-drift check', () => {
  const cli = useCli();
  const flags = () => ['--registry-endpoint', `ghcr.io=${registry.url}`];

  it('reports a status per image in --json', async () => {
    const images = ['ghcr.io/acme/api:latest', 'ghcr.io/acme/api:dev-latest', 'ghcr.io/acme/secret:1.0', 'ghcr.io/acme/nope:1', 'ghcr.io/Acme/api:1.0'];
    const run = await cli.run(['check', ...images, '--json', ...flags()]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { summary: { total: number }; results: Array<{ image: string; status: string }> };
    expect(report.summary.total).toBe(5);
    expect(Object.fromEntries(report.results.map((result) => [result.image, result.status]))).toEqual(Object.fromEntries([
      ['ghcr.io/acme/api:latest', 'OK'],
      ['ghcr.io/acme/api:dev-latest', 'TAG_MISSING'],
      ['ghcr.io/acme/secret:1.0', 'NOT_VISIBLE_ANONYMOUSLY'],
      ['ghcr.io/acme/nope:1', 'NOT_VISIBLE_ANONYMOUSLY'],
      ['ghcr.io/Acme/api:1.0', 'INVALID_REFERENCE'],
    ]));
  });

  it('exits 0 when every named image exists, and 1 under --fail-on for a status present', async () => {
    const ok = await cli.run(['check', 'ghcr.io/acme/api:latest', 'ghcr.io/acme/api:1.0', ...flags()]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/OK\s+ghcr\.io\/acme\/api:latest/);
    expect(ok.stdout.split('\n')[0]).toMatch(/^image-drift check · /);
    const hidden = await cli.run(['check', 'ghcr.io/acme/secret:1.0', ...flags(), '--fail-on', 'NOT_VISIBLE_ANONYMOUSLY']);
    expect(hidden.code).toBe(1);
  });

  it('exits 2 without an image', async () => {
    const run = await cli.run(['check', ...flags()]);
    expect(run.code).toBe(2);
  });
});
