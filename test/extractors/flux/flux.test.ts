import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFluxKustomization, readHelmRelease, substituteFluxVariables } from '../../../lambdas/engine/extractors/flux/index.js';
import { listResources } from '../../../lambdas/engine/extractors/kubernetes/index.js';
import { loadYamlDocuments, type YamlDocument } from '../../../lambdas/engine/yaml/index.js';

const FILE = 'clusters/prod/flux.yaml';
function documents(): YamlDocument[] {
  const { documents, findings } = loadYamlDocuments(FILE, readFileSync('test/extractors/flux/__fixtures__/flux.yaml'));
  expect(findings).toEqual([]);
  return documents;
}

describe('readHelmRelease', () => {
  it('reads chart spec, values with lines, and reports valuesFrom as not followed', () => {
    const [doc] = documents();
    const { release, findings } = readHelmRelease(doc as YamlDocument);
    expect(release).toMatchObject({
      name: 'auth',
      namespace: 'flux-system',
      releaseName: 'auth-api',
      targetNamespace: 'auth',
      chart: { name: './charts/auth', version: '0.3.1', sourceRef: { kind: 'GitRepository', name: 'gitops' } },
      values: { auth: { image: { tag: 'dev-latest' } } },
      valuesFrom: [{ kind: 'Secret', name: 'auth-values', valuesKey: 'values.yaml', optional: true, location: { file: FILE, line: 21 } }],
      location: { file: FILE, line: 1 },
    });
    expect(release?.valuesLayer.locate(['auth', 'image', 'tag'])).toEqual({ file: FILE, line: 19 });
    expect(findings).toEqual([
      {
        file: FILE,
        line: 21,
        code: 'REMOTE_RESOURCE',
        severity: 'info',
        message: 'HelmRelease auth: valuesFrom Secret/auth-values is a cluster object; values set there are not audited',
      },
    ]);
  });

  it('reads chartRef releases and defaults values to {}', () => {
    const doc = documents()[1] as YamlDocument;
    const { release, findings } = readHelmRelease(doc);
    expect(findings).toEqual([]);
    expect(release?.chart).toEqual({ chartRef: { kind: 'OCIRepository', name: 'podinfo', namespace: 'flux-system' } });
    expect(release?.values).toEqual({});
    expect(release?.location.line).toBe(26);
  });

  it('ignores other kinds and reports a release without a chart', () => {
    const docs = documents();
    expect(readHelmRelease(docs[2] as YamlDocument)).toEqual({ findings: [] });
    const [broken] = loadYamlDocuments('x.yaml', 'apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata: {name: b}\nspec:\n  interval: 5m\n').documents;
    const { release, findings } = readHelmRelease(broken as YamlDocument);
    expect(release?.chart).toBeUndefined();
    expect(findings.map((f) => [f.code, f.line, f.message])).toEqual([['INVALID_RESOURCE', 5, 'HelmRelease b: neither spec.chart.spec nor spec.chartRef']]);
  });

  it('accepts a List item resource and locates inside the item', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: helm.toolkit.fluxcd.io/v2\n    kind: HelmRelease\n    metadata: {name: in-list}\n    spec:\n      chartRef: {kind: HelmChart, name: c}\n      values:\n        image: ghcr.io/acme/x:1\n';
    const [doc] = loadYamlDocuments('list.yaml', text).documents;
    const [resource] = listResources(doc as YamlDocument);
    const { release } = readHelmRelease(resource as NonNullable<typeof resource>);
    expect(release?.name).toBe('in-list');
    expect(release?.location.line).toBe(4);
    expect(release?.valuesLayer.locate(['image'])).toEqual({ file: 'list.yaml', line: 10 });
  });
});

describe('readFluxKustomization', () => {
  it('reads path, sourceRef, images with lines, substitute, and reports substituteFrom and non-string variables', () => {
    const doc = documents()[2] as YamlDocument;
    const { kustomization, findings } = readFluxKustomization(doc);
    expect(kustomization).toMatchObject({
      name: 'apps',
      namespace: 'flux-system',
      path: './apps/prod',
      sourceRef: { kind: 'GitRepository', name: 'gitops' },
      targetNamespace: 'prod',
      images: [
        { name: 'ghcr.io/acme/auth-api', newTag: 'dev-latest', location: { file: FILE, line: 48 }, path: ['spec', 'images', 0] },
        { name: 'nginx', newName: 'ghcr.io/acme/nginx', digest: `sha256:${'c'.repeat(64)}`, location: { file: FILE, line: 50 }, path: ['spec', 'images', 1] },
      ],
      substitute: { cluster_env: 'prod' },
      substituteLocations: { cluster_env: { file: FILE, line: 55 } },
      substituteFrom: [{ kind: 'ConfigMap', name: 'cluster-vars', location: { file: FILE, line: 58 } }],
    });
    expect(findings.map((f) => [f.code, f.severity, f.line])).toEqual([
      ['INVALID_RESOURCE', 'warning', 56],
      ['REMOTE_RESOURCE', 'info', 58],
    ]);
  });

  it('does not read kustomize.config.k8s.io Kustomizations', () => {
    expect(readFluxKustomization(documents()[3] as YamlDocument)).toEqual({ findings: [] });
  });
});

describe('substituteFluxVariables', () => {
  const vars = { TAG: 'v1', EMPTY: '' };
  it.each([
    ['ghcr.io/acme/app:${TAG}', 'ghcr.io/acme/app:v1', []],
    ['ghcr.io/acme/app:${MISSING}', 'ghcr.io/acme/app:${MISSING}', ['MISSING']],
    ['ghcr.io/acme/app:${MISSING:=dev}', 'ghcr.io/acme/app:dev', []],
    ['ghcr.io/acme/app:${EMPTY:-dev}', 'ghcr.io/acme/app:dev', []],
    ['ghcr.io/acme/app:${TAG:-dev}', 'ghcr.io/acme/app:v1', []],
    ['literal $${TAG}', 'literal ${TAG}', []],
    ['bare $TAG stays', 'bare $TAG stays', []],
  ])('%s → %s', (text, expected, unresolved) => {
    expect(substituteFluxVariables(text, vars)).toEqual({ text: expected, unresolved });
  });

  it('empties unknown variables when asked, as Flux does outside strict mode', () => {
    expect(substituteFluxVariables('app:${TAG2}', vars, { onMissing: 'empty' })).toEqual({ text: 'app:', unresolved: ['TAG2'] });
  });
});
