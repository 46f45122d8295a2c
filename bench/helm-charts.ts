/**
 * Helm rendering benchmark: a GitOps repository with 50 charts (25 kept in the repository, 25 from a Helm HTTP
 * repository served on 127.0.0.1, each installed by an Argo CD Application), resolved three times with the real
 * helm: cold chart cache, warm cache, and warm cache with `--offline` semantics. Prints JSON: helm render time per
 * chart (mean, p50, p95, max), resolve wall time, the chart cache hit rate of each pass and the requests the
 * chart server saw (a warm cache must send none).
 *
 *   npx tsx bench/helm-charts.ts [--charts 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createChartFetcher } from '../lambdas/engine/helm/fetch.js';
import { chartRegistryClients } from '../lambdas/engine/helm/registry-clients.js';
import { resolveDesiredState } from '../lambdas/engine/resolve/index.js';
import type { ChartRendering } from '../lambdas/engine/resolve/helm-render.js';
import { testHelm, under, webChart } from '../test/support/helm-charts.js';
import { startHelmRepository } from '../test/support/helm-repository.js';
import { filesTree, treeSource } from '../test/support/resolve-tree.js';

const args = process.argv.slice(2);
const chartsIndex = args.indexOf('--charts');
const CHARTS = chartsIndex >= 0 ? Number(args[chartsIndex + 1]) : 50;
const SELF = 'https://github.com/acme-corp/gitops';

const application = (name: string, source: string[]) =>
  ['apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', `  name: ${name}`, 'spec:', '  source:', ...source.map((line) => `    ${line}`), '  destination:', `    namespace: ${name}`, ''].join('\n');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const helm = await testHelm();
  const remoteCount = Math.floor(CHARTS / 2);
  const localCount = CHARTS - remoteCount;
  const remoteCharts = Array.from({ length: remoteCount }, (_, i) => webChart(`remote-${i}`, `1.${i}.0`, `3.${i}.0`));
  const repo = await startHelmRepository(helm.path, remoteCharts);
  const files: Record<string, string> = {};
  for (let i = 0; i < localCount; i++) {
    Object.assign(files, under(`charts/local-${i}`, webChart(`local-${i}`, '0.1.0', `2.${i}.0`)));
    files[`apps/local-${i}.yaml`] = application(`local-${i}`, [`repoURL: ${SELF}`, `path: charts/local-${i}`, 'helm:', '  values: |', '    metrics:', '      enabled: true']);
  }
  for (let i = 0; i < remoteCount; i++) {
    files[`apps/remote-${i}.yaml`] = application(`remote-${i}`, [`repoURL: ${repo.url}`, `chart: remote-${i}`, `targetRevision: 1.${i}.0`]);
  }
  const cache = mkdtempSync(join(tmpdir(), 'image-drift-bench-charts-'));
  const source = treeSource(filesTree(files, { kind: 'local', location: 'bench' }));
  try {
    const pass = async (name: string, offline: boolean) => {
      const renders: number[] = [];
      const fetcher = createChartFetcher({ cacheDir: cache, offline, registryClient: chartRegistryClients() });
      const rendering: ChartRendering = { helm, fetcher, onRender: (event) => renders.push(event.ms) };
      const served = repo.requests.length;
      const started = performance.now();
      const state = await resolveDesiredState(source, { repoUrls: [SELF], charts: rendering });
      const wallMs = performance.now() - started;
      renders.sort((a, b) => a - b);
      const errors = state.findings.filter((finding) => finding.severity === 'error');
      return {
        pass: name,
        charts: renders.length,
        images: state.images.length,
        errors: errors.length,
        resolveMs: Math.round(wallMs),
        renderMsPerChart: {
          mean: Math.round(renders.reduce((a, b) => a + b, 0) / Math.max(1, renders.length)),
          p50: Math.round(percentile(renders, 50)),
          p95: Math.round(percentile(renders, 95)),
          max: Math.round(renders.at(-1) ?? 0),
        },
        remoteFetches: fetcher.stats.fetches,
        cacheHitRate: fetcher.stats.fetches === 0 ? null : Number((fetcher.stats.hits / fetcher.stats.fetches).toFixed(3)),
        fetchRequests: fetcher.stats.requests,
        chartServerRequests: repo.requests.length - served,
      };
    };
    const results = [await pass('cold cache', false), await pass('warm cache', false), await pass('warm cache, offline', true)];
    console.log(JSON.stringify({ benchmark: 'helm-charts', helm: `${helm.path} (${helm.origin})`, charts: { total: CHARTS, inRepository: localCount, remote: remoteCount }, results }, null, 2));
    const warm = results[1];
    if (warm && (warm.chartServerRequests !== 0 || warm.cacheHitRate !== 1)) {
      console.error('a warm cache sent requests to the chart server');
      process.exitCode = 1;
    }
  } finally {
    await repo.stop();
    rmSync(cache, { recursive: true, force: true });
  }
}

await main();
