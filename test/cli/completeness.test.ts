/**
 * A desired state that could not be read in full is never a clean run, and history never mistakes it for
 * "no longer desired" (issue 9, completeness). The CLI runs in process against the real docker-registry.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('acme/web', '2.0');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
});

describe('kustomizations that include each other', () => {
  const cli = useCli();

  it('report KUSTOMIZE_CYCLE and exit 3 instead of "0 images" and exit 0; the other apps are still audited', async () => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, {
      'a/kustomization.yaml': 'resources:\n  - dep.yaml\n  - ../b\n',
      'a/dep.yaml': deployment('a', ['ghcr.io/acme/a:1']),
      'b/kustomization.yaml': 'components:\n  - ../c\n',
      'c/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ../a\n',
      'web/kustomization.yaml': 'resources:\n  - dep.yaml\n',
      'web/dep.yaml': deployment('web', ['ghcr.io/acme/web:2.0']),
    });
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--json']);
    const report = JSON.parse(run.stdout) as { findings: Array<{ code: string; file: string; line: number }>; results: Array<{ image: string; status: string }> };
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'KUSTOMIZE_CYCLE', file: 'c/kustomization.yaml', line: 4 }));
    expect(report.results.map((result) => [result.image, result.status])).toEqual([['ghcr.io/acme/web:2.0', 'OK']]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('KUSTOMIZE_CYCLE 1');
  });
});
