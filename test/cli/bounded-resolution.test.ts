/**
 * Bounded resolution through the whole CLI: a hostile tree (generator bomb, alias bomb, document flood) ends
 * with a LIMIT_EXCEEDED finding that names the cap and exit 3 (incomplete), while the images next to it are
 * still audited against the real docker-registry.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { matrixBombYaml } from '../support/hostile-trees.js';
import { deployment, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('acme/api', '1.0');
});

afterAll(async () => {
  await registry?.stop();
});

interface JsonReport {
  results: Array<{ image: string; status: string }>;
  findings: Array<{ code: string; file: string; message: string }>;
}

describe('caps on a hostile desired state make the run incomplete, naming the cap', () => {
  const cli = useCli();

  async function audit(files: Record<string, string>) {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', ['ghcr.io/acme/api:1.0']), ...files });
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--json']);
    return { run, report: JSON.parse(run.stdout) as JsonReport };
  }

  const limits = (report: JsonReport) => report.findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED');

  it('stops the issue\'s 10 KB ApplicationSet (matrix 100×100×100) at the per-ApplicationSet cap, exit 3', async () => {
    const appSet = matrixBombYaml('https://github.com/acme/gitops', 'deploy');
    const { run, report } = await audit({ 'argocd/bomb.yaml': appSet });
    const [cap] = limits(report);
    expect(cap?.file).toBe('argocd/bomb.yaml');
    expect(cap?.message).toContain('MAX_GENERATED_APPS_PER_APPLICATIONSET');
    expect(report.results.map((result) => `${result.image} ${result.status}`)).toEqual(['ghcr.io/acme/api:1.0 OK']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('could not be resolved in full');
  }, 120_000);

  it('stops a billion-laughs alias bomb at MAX_YAML_ALIAS_COUNT, exit 3', async () => {
    const lines = ['apiVersion: v1', 'kind: ConfigMap', 'data:', '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const levels = 'abcdefghi'.split('');
    for (let i = 1; i < levels.length; i++) lines.push(`  ${levels[i]}: &${levels[i]} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]`);
    const { run, report } = await audit({ 'deploy/bomb.yaml': `${lines.join('\n')}\n` });
    const [cap] = limits(report);
    expect(cap?.file).toBe('deploy/bomb.yaml');
    expect(cap?.message).toContain('MAX_YAML_ALIAS_COUNT');
    expect(run.code).toBe(3);
  }, 120_000);

  it('skips a file of 10,001 documents at MAX_YAML_DOCUMENTS, exit 3', async () => {
    const { run, report } = await audit({ 'deploy/flood.yaml': 'apiVersion: v1\nkind: ConfigMap\n---\n'.repeat(10_001) });
    const [cap] = limits(report);
    expect(cap?.file).toBe('deploy/flood.yaml');
    expect(cap?.message).toContain('MAX_YAML_DOCUMENTS');
    expect(run.code).toBe(3);
  }, 120_000);
});
