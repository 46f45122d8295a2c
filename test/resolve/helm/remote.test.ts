import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChartFetcher } from '../../../lambdas/engine/helm/fetch.js';
import { chartRegistryClients } from '../../../lambdas/engine/helm/registry-clients.js';
import type { ChartRendering } from '../../../lambdas/engine/resolve/helm-render.js';
import { application, codes, resolveFiles, rows } from '../helpers.js';
import { testHelm, webChart } from '../../support/helm-charts.js';
import { pushChart, startHelmRepository, type HelmRepositoryServer } from '../../support/helm-repository.js';
import { startLocalRegistry, type LocalRegistry } from '../../support/registry.js';

let helm: Awaited<ReturnType<typeof testHelm>>;
let repo: HelmRepositoryServer;
let registry: LocalRegistry;
const dirs: string[] = [];

beforeAll(async () => {
  helm = await testHelm();
  repo = await startHelmRepository(helm.path, [webChart('web', '1.2.0', '2.0.0'), webChart('web', '1.3.0', '3.0.0')]);
  registry = await startLocalRegistry();
  await pushChart(registry, helm.path, webChart('api', '0.4.1', '0.4.1'), 'charts/api');
}, 120_000);

afterAll(async () => {
  await repo?.stop();
  await registry?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'image-drift-chart-cache-'));
  dirs.push(dir);
  return dir;
}

function rendering(cache: string, extra: Partial<Parameters<typeof createChartFetcher>[0]> = {}): ChartRendering & { fetcher: ReturnType<typeof createChartFetcher> } {
  const fetcher = createChartFetcher({ cacheDir: cache, registryClient: chartRegistryClients(), ...extra });
  return { helm, fetcher };
}

const fluxRelease = (sourceKind: string, sourceName: string, chart: string, version: string) =>
  [
    'apiVersion: helm.toolkit.fluxcd.io/v2',
    'kind: HelmRelease',
    'metadata:',
    '  name: api',
    '  namespace: apps',
    'spec:',
    '  chart:',
    '    spec:',
    `      chart: ${chart}`,
    `      version: "${version}"`,
    '      sourceRef:',
    `        kind: ${sourceKind}`,
    `        name: ${sourceName}`,
    '',
  ].join('\n');

describe('remote charts, fetched and rendered by helm', () => {
  it('renders an Argo CD Application of a Helm HTTP repository chart: semver range, values and parameters, provenance in the chart', async () => {
    const charts = rendering(cacheDir());
    const state = await resolveFiles(
      {
        'apps/web.yaml': application(
          'web',
          [`repoURL: ${repo.url}`, 'chart: web', 'targetRevision: ~1.2.0', 'helm:', '  values: |', '    metrics:', '      enabled: true', '  parameters:', '    - name: image.tag', '      value: "2.0.1"'].join('\n'),
        ),
      },
      { charts },
    );
    expect(rows(state)).toEqual([
      'web | Deployment/web-ns/web-web | cache | docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000001',
      'web | Deployment/web-ns/web-web | metrics | ghcr.io/acme/metrics-exporter:0.9',
      'web | Deployment/web-ns/web-web | web | ghcr.io/acme/web:2.0.1',
      'web | Job/web-ns/web-migrate | migrate | ghcr.io/acme/web-migrate:2.0.0',
    ]);
    const chartFiles = `${repo.url}/web@1.2.0`;
    const web = state.images.find((image) => image.container === 'web');
    expect(web?.chart).toEqual({ name: 'web', version: '1.2.0', source: repo.url, template: 'templates/deployment.yaml' });
    expect(web?.locations).toEqual([
      { file: `${chartFiles}/templates/deployment.yaml`, line: 11 },
      { file: `${chartFiles}/values.yaml`, line: 3 },
      { file: `${chartFiles}/values.yaml`, line: 2 },
      { file: 'apps/web.yaml', line: 15 },
    ]);
    expect(state.images.find((image) => image.container === 'metrics')?.locations).toEqual([
      { file: `${chartFiles}/templates/deployment.yaml`, line: 16 },
      { file: `${chartFiles}/values.yaml`, line: 7 },
    ]);
    expect(codes(state)).toEqual([]);
    expect(charts.fetcher.stats).toMatchObject({ fetches: 1, hits: 0 });
  });

  it('renders a Flux HelmRelease of a chart pushed as an OCI artifact, with the chart defaults', async () => {
    const files = {
      'clusters/prod/sources.yaml': ['apiVersion: source.toolkit.fluxcd.io/v1', 'kind: HelmRepository', 'metadata:', '  name: charts', '  namespace: apps', 'spec:', '  type: oci', `  url: oci://${registry.host}/charts`, ''].join('\n'),
      'clusters/prod/api.yaml': fluxRelease('HelmRepository', 'charts', 'api', '>=0.4.0 <1.0.0'),
    };
    const state = await resolveFiles(files, { charts: rendering(cacheDir()) });
    expect(rows(state)).toEqual([
      'api | Deployment/apps/api-web | cache | docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000001',
      'api | Deployment/apps/api-web | web | ghcr.io/acme/web:0.4.1',
      'api | Job/apps/api-migrate | migrate | ghcr.io/acme/web-migrate:0.4.1',
    ]);
    expect(state.images[1]?.chart).toEqual({ name: 'api', version: '0.4.1', source: `oci://${registry.host}/charts`, template: 'templates/deployment.yaml' });
    // helm package rewrites Chart.yaml: appVersion is on its second line
    expect(state.images[1]?.locations).toContainEqual({ file: `oci://${registry.host}/charts/api@0.4.1/Chart.yaml`, line: 2 });
    expect(codes(state)).toEqual([]);
  });

  it('renders from a warm cache without a single request, and offline', async () => {
    const cache = cacheDir();
    const app = { 'apps/web.yaml': application('web', `repoURL: ${repo.url}\nchart: web\ntargetRevision: 1.3.0`) };
    const cold = rendering(cache);
    const first = await resolveFiles(app, { charts: cold });
    expect(cold.fetcher.stats.requests).toBeGreaterThan(0);
    const served = repo.requests.length;
    const warm = rendering(cache, { offline: true });
    const second = await resolveFiles(app, { charts: warm });
    expect(warm.fetcher.stats).toEqual({ fetches: 1, hits: 1, requests: 0 });
    expect(repo.requests.length).toBe(served);
    expect(rows(second)).toEqual(rows(first));
    expect(rows(second)).toContain('web | Deployment/web-ns/web-web | web | ghcr.io/acme/web:3.0.0');
  });

  it('turns an unreachable chart source, a missing version and an empty offline cache into error findings', async () => {
    const state = await resolveFiles(
      {
        'apps/gone.yaml': application('gone', 'repoURL: http://127.0.0.1:9/charts\nchart: web\ntargetRevision: 1.0.0'),
        'apps/nover.yaml': application('nover', `repoURL: ${repo.url}\nchart: web\ntargetRevision: 9.9.9`),
      },
      { charts: rendering(cacheDir()) },
    );
    expect(state.images).toEqual([]);
    expect(state.findings.map((f) => `${f.code} ${f.severity} ${f.file}:${f.line}`)).toEqual(['REMOTE_RESOURCE error apps/gone.yaml:8', 'REMOTE_RESOURCE error apps/nover.yaml:8']);
    expect(state.findings[0]?.message).toContain('127.0.0.1:9 cannot be reached');
    expect(state.findings[1]?.message).toContain('no version of web matching "9.9.9"');
    const offline = await resolveFiles({ 'apps/web.yaml': application('web', `repoURL: ${repo.url}\nchart: web\ntargetRevision: 1.2.0`) }, { charts: rendering(cacheDir(), { offline: true }) });
    expect(offline.findings).toEqual([expect.objectContaining({ code: 'REMOTE_RESOURCE', severity: 'error', message: expect.stringContaining('not in the chart cache, and fetching is off (--offline)') })]);
  });

  it('reads an OCI chart from a private repository with the registry credential of its host (we fetch; helm only renders local files)', async () => {
    const { makeCredential, RegistryCredentials } = await import('../../../lambdas/engine/registry/credentials.js');
    registry.setTokens(['chart-reader-token']);
    registry.setPrivate('charts/api', true);
    try {
      const denied = await resolveFiles({ 'apps/api.yaml': application('api', `repoURL: oci://${registry.host}/charts\nchart: api\ntargetRevision: 0.4.1`) }, { charts: rendering(cacheDir()) });
      expect(denied.findings).toEqual([expect.objectContaining({ code: 'REMOTE_RESOURCE', severity: 'error' })]);
      const credentials = new RegistryCredentials({ credentials: [makeCredential({ host: registry.host, username: 'reader', secret: 'chart-reader-token', source: 'config' })] });
      const charts = rendering(cacheDir(), { registryClient: chartRegistryClients({ credentials }) });
      const state = await resolveFiles({ 'apps/api.yaml': application('api', `repoURL: oci://${registry.host}/charts\nchart: api\ntargetRevision: 0.4.1`) }, { charts });
      expect(rows(state)).toContain('api | Deployment/api-ns/api-web | web | ghcr.io/acme/web:0.4.1');
      expect(codes(state)).toEqual([]);
    } finally {
      registry.setPrivate('charts/api', false);
    }
  });
});
