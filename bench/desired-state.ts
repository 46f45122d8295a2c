/**
 * Desired-state benchmark: generates a GitOps repository of 5,000 files / 20,000 YAML documents
 * (625 services, each a kustomize base, a dev and a prod overlay, and an ApplicationSet over both)
 * in a temporary directory, loads it with the local directory source, runs resolveDesiredState and
 * prints wall time, peak RSS and counts as JSON. When `kubectl` is on the PATH it also times
 * `kubectl kustomize` over a sample of the overlays and extrapolates to all of them.
 *
 *   npx tsx bench/desired-state.ts [--sample 20] [--keep]
 *
 * Targets: resolve under 3 s, peak RSS under 200 MB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveDesiredState } from '../lambdas/engine/resolve/index.js';
import { createLocalSource } from '../lambdas/engine/sources/local.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 625);
const args = process.argv.slice(2);
const sampleIndex = args.indexOf('--sample');
const SAMPLE = sampleIndex >= 0 ? Number(args[sampleIndex + 1]) : 20;
const KEEP = args.includes('--keep');

function deployment(name: string, image: string, sidecar: boolean): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: { app: ${name} }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      initContainers:
        - name: init
          image: ghcr.io/acme-corp/init:1.0.0
      containers:
        - name: ${name}
          image: ${image}
          ports: [{ containerPort: 8080 }]
          env:
            - { name: LOG_LEVEL, value: info }
${sidecar ? '        - name: proxy\n          image: ghcr.io/acme-corp/envoy-proxy:1.29.1\n' : ''}`;
}

const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;

const configMap = (name: string, i: number) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
data:
  SETTING_${i}: "value-${i}"
  FEATURE_FLAGS: "a,b,c"
`;

const serviceAccount = (name: string) => `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
`;

const cronJob = (name: string, image: string) => `apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}-cleanup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: ${image}
`;

/** Nine documents: three Deployments, a CronJob, two Services, a ConfigMap, a ServiceAccount, a PDB. */
function nineDocuments(svc: string, part: string, i: number): string {
  const repo = `ghcr.io/acme-corp/${svc}`;
  return [
    deployment(`${svc}-${part}-a`, `${repo}:latest`, true),
    deployment(`${svc}-${part}-b`, `${repo}-worker:latest`, false),
    deployment(`${svc}-${part}-c`, `${repo}-${part}:1.${i % 7}.0`, false),
    cronJob(`${svc}-${part}`, `ghcr.io/acme-corp/cleanup:2.${i % 3}`),
    service(`${svc}-${part}-a`),
    service(`${svc}-${part}-b`),
    configMap(`${svc}-${part}`, i),
    serviceAccount(`${svc}-${part}`),
    `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: ${svc}-${part}\nspec:\n  minAvailable: 1\n`,
  ].join('---\n');
}

function generate(root: string): { files: number; documents: number; overlays: string[] } {
  let files = 0;
  let documents = 0;
  const overlays: string[] = [];
  const write = (path: string, text: string) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
    files++;
    documents += text.split(/^---$/m).filter((part) => part.trim() !== '').length;
  };
  for (let i = 0; i < SERVICES; i++) {
    const svc = `svc${String(i).padStart(4, '0')}`;
    const dir = `services/${svc}`;
    const repo = `ghcr.io/acme-corp/${svc}`;
    write(`${dir}/base/kustomization.yaml`, `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - workloads.yaml\n  - more.yaml\n`);
    write(`${dir}/base/workloads.yaml`, nineDocuments(svc, 'core', i));
    write(`${dir}/base/more.yaml`, nineDocuments(svc, 'extra', i + 1));
    write(
      `${dir}/overlays/dev/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${svc}-dev\nresources:\n  - ../../base\npatches:\n  - path: patch.yaml\nimages:\n  - name: ${repo}\n    newTag: dev-${i}\n`,
    );
    write(
      `${dir}/overlays/dev/patch.yaml`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${svc}-core-a\nspec:\n  template:\n    spec:\n      containers:\n        - name: proxy\n          image: ghcr.io/acme-corp/envoy-proxy:1.30.0\n`,
    );
    write(
      `${dir}/overlays/prod/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${svc}-prod\nresources:\n  - ../../base\n  - resources.yaml\nimages:\n  - name: ${repo}\n    newTag: ${(0x3f9c2e1 + i).toString(16)}\n  - name: ${repo}-worker\n    newTag: "1.${i % 5}.0"\n`,
    );
    write(`${dir}/overlays/prod/resources.yaml`, nineDocuments(svc, 'prod', i + 2));
    write(
      `apps/${svc}.yaml`,
      `apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: ${svc}\nspec:\n  generators:\n    - list:\n        elements: [{ env: dev }, { env: prod }]\n  template:\n    metadata:\n      name: '${svc}-{{env}}'\n    spec:\n      source:\n        repoURL: https://github.com/acme-corp/gitops\n        targetRevision: HEAD\n        path: '${dir}/overlays/{{env}}'\n      destination:\n        namespace: '${svc}-{{env}}'\n`,
    );
    overlays.push(`${dir}/overlays/dev`, `${dir}/overlays/prod`);
  }
  return { files, documents, overlays };
}

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

const root = mkdtempSync(join(tmpdir(), 'desired-state-bench-'));
try {
  const generated = generate(root);
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
