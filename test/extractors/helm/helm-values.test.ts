import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyHelmParameters,
  chartValuesLayer,
  extractHelmValuesImages,
  helmParameterLayer,
  loadHelmChart,
  mergeHelmValueLayers,
  mergeHelmValues,
  parseHelmParameterName,
  subchartKeys,
  typedHelmValue,
  type HelmChart,
  type HelmValuesLayer,
} from '../../../lambdas/engine/extractors/helm/index.js';
import { loadYamlDocuments } from '../../../lambdas/engine/yaml/index.js';

const FIXTURES = 'test/extractors/helm/__fixtures__';
const read = (path: string): Buffer | undefined => {
  try {
    return readFileSync(`${FIXTURES}/${path}`);
  } catch {
    return undefined;
  }
};

function chart(): HelmChart {
  const { chart, findings } = loadHelmChart(read, 'charts/auth');
  expect(findings).toEqual([]);
  if (!chart) throw new Error('chart did not load');
  return chart;
}

function fileLayer(file: string): HelmValuesLayer {
  const [doc] = loadYamlDocuments(file, read(file) ?? '').documents;
  if (!doc) throw new Error(`${file} did not load`);
  return { name: file, values: doc.value, locate: (path) => ({ file, line: doc.lineOf(path) }) };
}

describe('loadHelmChart', () => {
  it('reads name, version, appVersion with its line, dependencies and values.yaml', () => {
    const c = chart();
    expect(c).toMatchObject({
      dir: 'charts/auth',
      name: 'auth',
      version: '0.3.1',
      appVersion: '1.8.0',
      appVersionLocation: { file: 'charts/auth/Chart.yaml', line: 4 },
      chartFile: 'charts/auth/Chart.yaml',
      valuesFile: 'charts/auth/values.yaml',
      dependencies: [{ name: 'redis', version: '19.x', repository: 'oci://registry-1.docker.io/bitnamicharts', alias: 'cache', condition: 'cache.enabled' }],
    });
    expect(subchartKeys(c)).toEqual(['cache']);
  });

  it('reports a directory without Chart.yaml as MISSING_FILE', () => {
    expect(loadHelmChart(read, 'charts/absent/')).toEqual({
      findings: [{ file: 'charts/absent/Chart.yaml', line: 0, code: 'MISSING_FILE', message: 'no Chart.yaml in chart directory charts/absent', severity: 'error' }],
    });
  });

  it('reports a Chart.yaml without a name', () => {
    const { chart: c, findings } = loadHelmChart((p) => (p === 'Chart.yaml' ? Buffer.from('version: 1\n') : undefined), '.');
    expect(c).toBeUndefined();
    expect(findings.map((f) => [f.file, f.code, f.message])).toEqual([['Chart.yaml', 'INVALID_RESOURCE', 'Chart.yaml has no name']]);
  });
});

describe('extractHelmValuesImages', () => {
  it('extracts chart defaults: registry + repository, appVersion fallback, digests, strings, global registry unset', () => {
    const c = chart();
    const layer = chartValuesLayer(c);
    const { sites, findings } = extractHelmValuesImages(c.values, {
      appVersion: c.appVersion as string,
      appVersionLocation: c.appVersionLocation as { file: string; line: number },
      locate: layer.locate,
      subchartKeys: subchartKeys(c),
    });
    expect(findings).toEqual([]);
    const values = 'charts/auth/values.yaml';
    expect(sites.map((s) => [s.workload.name, s.container, s.written, s.tagFrom, s.locations.map((l) => `${l.file === values ? 'values' : 'Chart'}:${l.line}`)])).toEqual([
      ['auth.image', 'auth', 'ghcr.io/acme/auth-api:1.8.0', 'appVersion', ['values:5', 'values:6', 'Chart:4']],
      ['auth.migrations.image', 'migrations', `ghcr.io/acme/auth-migrate:1.4.0@sha256:${'b'.repeat(64)}`, 'values', ['values:11', 'values:12', 'values:13']],
      ['sidecarImage', 'sidecarImage', 'ghcr.io/acme/envoy:v1.31', undefined, ['values:14']],
      ['metrics.exporterImage', 'exporterImage', 'prom/statsd-exporter:0.26', 'values', ['values:17', 'values:18']],
      ['cache.image', 'cache', 'bitnami/redis', 'none', ['values:21']],
    ]);
    expect(sites[0]).toMatchObject({
      workload: { kind: 'HelmValues', name: 'auth.image' },
      valuesPath: ['auth', 'image'],
      path: ['auth', 'image'],
      location: { file: values, line: 5 },
      parts: { registry: 'ghcr.io', repository: 'acme/auth-api', tag: '1.8.0' },
    });
  });

  it('locates each part in the layer that set it: repository from the chart, tag from the app override', () => {
    const c = chart();
    const { values, locate } = mergeHelmValueLayers([chartValuesLayer(c), fileLayer('app-values.yaml')]);
    const { sites } = extractHelmValuesImages(values, { appVersion: '1.8.0', locate });
    const auth = sites.find((s) => s.workload.name === 'auth.image');
    expect(auth?.written).toBe('ghcr.io/acme/auth-api:dev-latest');
    expect(auth?.tagFrom).toBe('values');
    expect(auth?.locations).toEqual([
      { file: 'app-values.yaml', line: 3 },
      { file: 'charts/auth/values.yaml', line: 6 },
      { file: 'charts/auth/values.yaml', line: 5 },
    ]);
  });

  it('with locateLayers, lists locations base layer first: chart image key and repository, then the override tag', () => {
    const c = chart();
    const { values, locate, locateLayers } = mergeHelmValueLayers([chartValuesLayer(c), fileLayer('app-values.yaml')]);
    const auth = extractHelmValuesImages(values, { appVersion: '1.8.0', locate, locateLayers }).sites.find((s) => s.workload.name === 'auth.image');
    expect(auth?.location).toEqual({ file: 'charts/auth/values.yaml', line: 5 });
    expect(auth?.locations).toEqual([
      { file: 'charts/auth/values.yaml', line: 5 },
      { file: 'charts/auth/values.yaml', line: 6 },
      { file: 'app-values.yaml', line: 3 },
    ]);
  });

  it('with locateLayers, puts the chart appVersion first when the tag falls back to it', () => {
    const c = chart();
    const { values, locate, locateLayers } = mergeHelmValueLayers([chartValuesLayer(c)]);
    const auth = extractHelmValuesImages(values, {
      appVersion: '1.8.0',
      appVersionLocation: c.appVersionLocation as { file: string; line: number },
      locate,
      locateLayers,
    }).sites.find((s) => s.workload.name === 'auth.image');
    expect(auth?.locations.map((l) => `${l.file}:${l.line}`)).toEqual(['charts/auth/Chart.yaml:4', 'charts/auth/values.yaml:5', 'charts/auth/values.yaml:6']);
  });

  it('applies global.imageRegistry over the image registry unless the repository names a host', () => {
    const values = {
      global: { imageRegistry: 'mirror.example.com' },
      image: { registry: 'docker.io', repository: 'bitnami/nginx', tag: '1' },
      other: { image: { repository: 'ghcr.io/acme/x', tag: '2' } },
    };
    const { sites } = extractHelmValuesImages(values, { locate: () => undefined, chartName: 'web' });
    expect(sites.map((s) => [s.container, s.written])).toEqual([
      ['web', 'mirror.example.com/bitnami/nginx:1'],
      ['other', 'ghcr.io/acme/x:2'],
    ]);
  });

  it('walks lists and reports image parts that are not scalars', () => {
    const values = { sidecars: [{ image: { repository: 'a/b', tag: { nested: true } } }, { image: 'c/d:1' }] };
    const { sites, findings } = extractHelmValuesImages(values, { locate: () => undefined, fallbackLocation: { file: 'v.yaml', line: 0 } });
    expect(sites.map((s) => [s.workload.name, s.written, s.container])).toEqual([['sidecars[1].image', 'c/d:1', 'sidecars']]);
    expect(findings.map((f) => [f.file, f.code, f.message])).toEqual([['v.yaml', 'INVALID_RESOURCE', 'Helm values sidecars[0].image.tag is not a string']]);
  });

  it('ignores empty image strings, repository-less objects and keys that do not end in image', () => {
    const values = { image: '', imagePullSecrets: [{ name: 'x' }], images: { repository: 'a/b', tag: '1' }, initImage: { pullPolicy: 'Always' } };
    expect(extractHelmValuesImages(values, { locate: () => undefined }).sites).toEqual([]);
  });
});

describe('mergeHelmValues', () => {
  it('merges maps, replaces lists and scalars, deletes on null, and does not modify its inputs', () => {
    const base = { image: { repository: 'a', tag: '1', pullPolicy: 'Always' }, args: ['x', 'y'], keep: 1 };
    const override = { image: { tag: '2', pullPolicy: null }, args: ['z'], keep: { now: 'map' } };
    expect(mergeHelmValues(base, override)).toEqual({ image: { repository: 'a', tag: '2' }, args: ['z'], keep: { now: 'map' } });
    expect(base.image.pullPolicy).toBe('Always');
    expect(mergeHelmValues(undefined, { a: null, b: 1 })).toEqual({ b: 1 });
  });
});

describe('Helm parameters', () => {
  it.each([
    ['image.tag', ['image', 'tag']],
    ['containers[0].image', ['containers', 0, 'image']],
    ['matrix[1][2]', ['matrix', 1, 2]],
    ['annotations.example\\.com/team', ['annotations', 'example.com/team']],
    ['a..b', undefined],
    ['', undefined],
    // Helm's strvals: a backslash escapes any character; an index is 0..65536 and is followed by `.`, `[` or the end
    ['a\\,b.c', ['a,b', 'c']],
    ['list[65536]', ['list', 65536]],
    ['list[65537]', undefined],
    ['list[99999999999999]', undefined],
    ['list[x]', undefined],
    ['list[-1]', undefined],
    ['list[0]x', undefined],
    ['[0]', undefined],
    ['a.', undefined],
  ])('parses %s', (name, expected) => {
    expect(parseHelmParameterName(name)).toEqual(expected);
  });

  it('applies --set values with Helm typing over existing values', () => {
    const { values, rejected } = applyHelmParameters({ image: { repository: 'r', tag: 'old' } }, [
      { name: 'image.tag', value: 'v2' },
      { name: 'replicas', value: '3' },
      { name: 'build', value: '0123' },
      { name: 'stringly', value: '3', forceString: true },
      { name: 'enabled', value: 'true' },
      { name: 'list[1]', value: 'b' },
      { name: 'bad..name', value: 'x' },
    ]);
    expect(values).toEqual({ image: { repository: 'r', tag: 'v2' }, replicas: 3, build: '0123', stringly: '3', enabled: true, list: [null, 'b'] });
    expect(rejected).toEqual([{ name: 'bad..name', value: 'x' }]);
  });

  it.each([
    ['TRUE', true],
    ['False', false],
    ['NULL', null],
    ['0', 0],
    ['+5', 5],
    ['-0123', -123],
    ['007', '007'],
    ['1.10', '1.10'],
    ['12345678901234567890', '12345678901234567890'],
  ])('types the --set value %s as Helm does', (value, expected) => {
    expect(typedHelmValue(value)).toEqual(expected);
    expect(typedHelmValue(value, true)).toBe(value);
  });

  it('a parameter layer locates paths at the parameter that set them', () => {
    const at = { file: 'apps/auth.yaml', line: 21 };
    const c = chart();
    const layer = helmParameterLayer('Application auth parameters', [{ name: 'auth.image.tag', value: 'v9', location: at }]);
    const { values, locate } = mergeHelmValueLayers([chartValuesLayer(c), layer]);
    const auth = extractHelmValuesImages(values, { locate }).sites.find((s) => s.workload.name === 'auth.image');
    expect(auth?.written).toBe('ghcr.io/acme/auth-api:v9');
    expect(auth?.locations).toContainEqual(at);
    expect(auth?.locations[0]).toEqual(at); // the image map itself was last touched by the parameter
  });
});
