/**
 * Untrusted trees may nest kustomizations (and Argo CD apps) as deep as they like, or make them include each
 * other: the resolver reports a cycle as KUSTOMIZE_CYCLE at the reference that closes the loop, stops nesting at
 * MAX_KUSTOMIZE_DEPTH with LIMIT_EXCEEDED, and never overflows the stack (issue 9, bounded resolution).
 */
import { describe, expect, it } from 'vitest';
import { MAX_KUSTOMIZE_DEPTH, renderKustomization } from '../../../lambdas/engine/resolve/kustomize/render.js';
import { topLevelKustomizations } from '../../../lambdas/engine/resolve/kustomize/includes.js';
import { filesTree } from '../../support/resolve-tree.js';
import { application, codes, deployment, kustomization, resolveFiles, rows } from '../helpers.js';

const component = (body: string) => `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n${body}`;

describe('kustomizations that only include each other', () => {
  it('a → b → a through resources: KUSTOMIZE_CYCLE at the line that closes the loop; the rest of the tree is still audited', async () => {
    const state = await resolveFiles({
      'a/kustomization.yaml': kustomization('resources:\n  - dep.yaml\n  - ../b\n'),
      'a/dep.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'b/kustomization.yaml': kustomization('resources:\n  - ../a\n  - dep.yaml\n'),
      'b/dep.yaml': deployment('b', 'ghcr.io/acme/b:1'),
      'c/kustomization.yaml': kustomization('resources:\n  - dep.yaml\n'),
      'c/dep.yaml': deployment('c', 'ghcr.io/acme/c:1'),
    });
    const cycle = state.findings.find((finding) => finding.code === 'KUSTOMIZE_CYCLE');
    // b/kustomization.yaml line 4 is `- ../a`, the reference that closes a → b → a.
    expect(cycle).toMatchObject({ file: 'b/kustomization.yaml', line: 4, severity: 'error' });
    expect(cycle?.message).toContain('a → b → a');
    // kustomize build fails on a cycle, so the controller syncs nothing new from a: its images are withheld, with an error.
    expect(codes(state)).toContain('INVALID_RESOURCE a/kustomization.yaml:0');
    expect(rows(state)).toEqual(['c | Deployment/-/c | c | ghcr.io/acme/c:1']);
  });

  it('a → b → a through components: KUSTOMIZE_CYCLE, not "0 images" in silence', async () => {
    const state = await resolveFiles({
      'a/kustomization.yaml': component('components:\n  - ../b\n'),
      'b/kustomization.yaml': component('components:\n  - ../a\n'),
    });
    expect(state.findings.filter((finding) => finding.code === 'KUSTOMIZE_CYCLE')).toEqual([
      expect.objectContaining({ file: 'b/kustomization.yaml', line: 4, message: expect.stringContaining('a → b → a') }),
    ]);
  });

  it('renders the non-cyclic part of a kustomization whose base closes a loop (render level)', () => {
    const tree = filesTree({
      'a/kustomization.yaml': kustomization('resources:\n  - dep.yaml\n  - ../b\n'),
      'a/dep.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'b/kustomization.yaml': kustomization('resources:\n  - ../a\n  - dep.yaml\n'),
      'b/dep.yaml': deployment('b', 'ghcr.io/acme/b:1'),
    });
    const render = renderKustomization(tree, 'a');
    expect(render.findings.map((finding) => finding.code)).toEqual(['KUSTOMIZE_CYCLE']);
    expect(render.images.map((image) => image.written).sort()).toEqual(['ghcr.io/acme/a:1', 'ghcr.io/acme/b:1']);
  });

  it('picks one unit per group that only includes itself, and none for kustomizations included from outside', () => {
    const tree = filesTree({
      'top/kustomization.yaml': kustomization('resources:\n  - ../x\n'),
      'x/kustomization.yaml': kustomization('resources:\n  - ../y\n'),
      'y/kustomization.yaml': kustomization('resources:\n  - ../x\n'),
      'p/kustomization.yaml': kustomization('components:\n  - ../q\n'),
      'q/kustomization.yaml': component('components:\n  - ../p\n'),
      'self/kustomization.yaml': kustomization('resources:\n  - .\n'),
    });
    expect(topLevelKustomizations(tree, ['p', 'q', 'self', 'top', 'x', 'y'])).toEqual(['top', 'p', 'self']);
  });
});

describe('user-controlled depth never overflows the stack', () => {
  it('a 5,000-deep chain of bases stops at the depth cap with LIMIT_EXCEEDED', async () => {
    const files: Record<string, string> = {};
    const depth = 5_000;
    for (let i = 0; i < depth; i++) files[`k${i}/kustomization.yaml`] = `resources:\n  - ../k${i + 1}\n`;
    files[`k${depth}/kustomization.yaml`] = 'resources:\n  - app.yaml\n';
    files[`k${depth}/app.yaml`] = deployment('app', 'ghcr.io/acme/api:1.0');
    const state = await resolveFiles(files);
    const caps = state.findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED');
    expect(caps).toEqual([expect.objectContaining({ file: `k${MAX_KUSTOMIZE_DEPTH - 1}/kustomization.yaml`, line: 2, severity: 'error' })]);
    expect(caps[0]?.message).toContain('MAX_KUSTOMIZE_DEPTH');
    // One unit (k0): the other 5,000 kustomizations are included by it, not units of their own.
    expect(state.findings.filter((finding) => finding.code === 'UNREFERENCED').map((finding) => finding.file)).toEqual(['k0/kustomization.yaml']);
  });

  it('a 5,000-deep chain of components stops at the depth cap (it used to throw RangeError) and keeps the images above it', async () => {
    const files: Record<string, string> = {
      'top/kustomization.yaml': kustomization('resources:\n  - dep.yaml\ncomponents:\n  - ../c0\n'),
      'top/dep.yaml': deployment('top', 'ghcr.io/acme/top:1'),
    };
    const depth = 5_000;
    for (let i = 0; i < depth; i++) files[`c${i}/kustomization.yaml`] = component(`components:\n  - ../c${i + 1}\n`);
    files[`c${depth}/kustomization.yaml`] = component('');
    const state = await resolveFiles(files);
    expect(state.findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED')).toEqual([
      expect.objectContaining({ file: `c${MAX_KUSTOMIZE_DEPTH - 2}/kustomization.yaml`, line: 4, message: expect.stringContaining('MAX_KUSTOMIZE_DEPTH') }),
    ]);
    expect(rows(state)).toEqual(['top | Deployment/-/top | top | ghcr.io/acme/top:1']);
  });

  it('a 5,000-deep Argo CD app-of-apps chain is followed to its end without overflowing the stack', async () => {
    const files: Record<string, string> = {};
    const depth = 5_000;
    for (let i = 0; i < depth; i++) files[`apps/a${i}/app.yaml`] = application(`a${i + 1}`, `repoURL: https://example.com/gitops.git\npath: apps/a${i + 1}`);
    files[`apps/a${depth}/dep.yaml`] = deployment('x', 'ghcr.io/acme/x:1');
    const state = await resolveFiles(files, { repoUrls: ['https://example.com/gitops.git'] });
    expect(rows(state)).toEqual([`a${depth} | Deployment/a${depth}-ns/x | x | ghcr.io/acme/x:1`]);
  });
});
