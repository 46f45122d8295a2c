/**
 * Desired-state benchmark: generates a GitOps repository of 5,000 files / 20,000 YAML documents
 * (625 services, each a kustomize base, a dev and a prod overlay, and an ApplicationSet over both)
 * in a temporary directory, loads it with the local directory source, runs resolveDesiredState and
 * prints wall time, peak RSS and counts as JSON. When `kubectl` is on the PATH it also times
 * `kubectl kustomize` over a sample of the overlays and extrapolates to all of them.
 *
 *   npx tsx bench/desired-state.ts [--sample 20] [--keep]
 *
 * Targets: resolve under 3 s, peak RSS under 200 MB. The peak is the whole process's: `rssAtStartMB` says how much of
 * it is there before the repository is even generated (node, the tsx loader and the transpiled modules, about 90 MB
 * here; bare node is about 40 MB), and `heapUsedAfterMB` what the heap holds at the end (the loaded tree and the
 * resolver's per-tree caches included, since `tree` is still referenced).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveDesiredState } from '../lambdas/engine/resolve/index.js';
import { generateGitOpsRepository } from './generate-gitops.js';
import { createLocalSource } from '../lambdas/engine/sources/local.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 625);
const args = process.argv.slice(2);
const sampleIndex = args.indexOf('--sample');
const SAMPLE = sampleIndex >= 0 ? Number(args[sampleIndex + 1]) : 20;
const KEEP = args.includes('--keep');

function kubectlComparison(root: string, overlays: string[], resolveMs: number) {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.status !== 0) return { available: false as const };
  // An evenly spread, deterministic sample.
  const step = Math.max(1, Math.floor(overlays.length / SAMPLE));
  const sample = overlays.filter((_, index) => index % step === 0).slice(0, SAMPLE);
  const started = performance.now();
  for (const overlay of sample) execFileSync('kubectl', ['kustomize', join(root, overlay)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const sampleMs = performance.now() - started;
  const perOverlayMs = sampleMs / sample.length;
  const extrapolatedMs = perOverlayMs * overlays.length;
  return {
    available: true as const,
    note: `kubectl kustomize timed on ${sample.length} of ${overlays.length} overlays, one process each, and extrapolated linearly`,
    sampledOverlays: sample.length,
    perOverlayMs: round(perOverlayMs),
    extrapolatedMs: Math.round(extrapolatedMs),
    ratio: round(extrapolatedMs / resolveMs),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const rssAtStart = process.memoryUsage().rss;
const root = mkdtempSync(join(tmpdir(), 'desired-state-bench-'));
try {
  const generated = generateGitOpsRepository(root, SERVICES);
  const rssBefore = process.resourceUsage().maxRSS;
  const loadStart = performance.now();
  const source = createLocalSource(root, { detectGit: false });
  const tree = await source.load();
  const loadMs = performance.now() - loadStart;
  const resolveStart = performance.now();
  const cpuStart = process.cpuUsage();
  const state = await resolveDesiredState(source, { tree, repoUrls: ['https://github.com/acme-corp/gitops'] });
  const resolveMs = performance.now() - resolveStart;
  const cpu = process.cpuUsage(cpuStart);
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  const apps = new Set(state.images.map((image) => `${image.app.kind}/${image.app.name}`));
  const result = {
    repository: { files: generated.files, documents: generated.documents, overlays: generated.overlays.length, loadedFiles: tree.paths().length },
    loadMs: Math.round(loadMs),
    resolveMs: Math.round(resolveMs),
    resolveCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    loadAverage: (await import('node:os')).loadavg().map(round),
    wallMs: Math.round(loadMs + resolveMs),
    peakRssMB: round(peakRssMB),
    rssAtStartMB: round(rssAtStart / 1048576),
    rssBeforeLoadMB: round(rssBefore / 1024),
    heapUsedAfterMB: round(process.memoryUsage().heapUsed / 1048576),
    counts: {
      apps: apps.size,
      desiredImages: state.images.length,
      uniqueImages: new Set(state.images.map((image) => image.image)).size,
      findings: state.findings.length,
    },
    targets: { resolveUnder3s: resolveMs < 3000, peakRssUnder200MB: peakRssMB < 200 },
    kubectl: kubectlComparison(root, generated.overlays, resolveMs),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  if (KEEP) console.error(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
