/**
 * Worst-case benchmark (issue 9, bounded resolution): hostile repositories built to hit each resolution cap, each
 * loaded from disk with the local directory source and resolved in its own process, so that every scenario's peak
 * RSS is its own. Prints wall time, CPU time and peak RSS per scenario as JSON, next to the deployed function's
 * defaults (lambdas/engine/config/schema.ts: 512 MB, 300 s), which the Lambda has to stay within.
 *
 *   npx tsx bench/worst-case.ts [scenario...]      (npm run bench -- worst-case)
 *
 * Scenarios:
 * - matrix-100x100x100: the issue's 10 KB ApplicationSet (a million Applications uncapped; 24 s and 1.96 GB before).
 * - appsets-at-run-cap: 11 ApplicationSets of 1,000 list elements over 500 kustomize services: 10,000 generated
 *   Applications (MAX_GENERATED_APPS_PER_RUN), the 11th refused.
 * - deep-chain: a 1,500-level kustomize chain (MAX_KUSTOMIZE_DEPTH).
 * - diamonds: 8 independent 20-level diamonds of overlays (2^21 resources each uncapped; MAX_KUSTOMIZE_RESOURCES).
 * - yaml-bombs: 20 billion-laughs files and 20 files of 10,001 documents (MAX_YAML_ALIAS_COUNT, MAX_YAML_DOCUMENTS).
 * - many-images: 32 files of 9,990 Deployments (just under MAX_YAML_DOCUMENTS and MAX_FILE_BYTES), each its own image.
 * - combined: appsets-at-run-cap, diamonds, yaml-bombs and many-images in one tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULTS } from '../lambdas/engine/config/schema.js';
import { resolveDesiredState } from '../lambdas/engine/resolve/index.js';
import { createLocalSource } from '../lambdas/engine/sources/local.js';
import { applicationSetYaml, matrixBombYaml } from '../test/support/hostile-trees.js';

type Files = Record<string, string>;

const deployment = (name: string, image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`;

const SCENARIOS: Record<string, () => Files> = {
  'matrix-100x100x100': () => ({ 'argocd/bomb.yaml': matrixBombYaml() }),
  'appsets-at-run-cap': () => {
    const files: Files = {};
    for (let s = 0; s < 500; s++) {
      files[`apps/svc${s}/base/kustomization.yaml`] = 'resources:\n  - deploy.yaml\n';
      files[`apps/svc${s}/base/deploy.yaml`] = deployment(`svc${s}`, `ghcr.io/acme/svc${s}:1.0`);
      files[`apps/svc${s}/dev/kustomization.yaml`] = `resources:\n  - ../base\nimages:\n  - name: ghcr.io/acme/svc${s}\n    newTag: dev\n`;
    }
    for (let set = 0; set < 11; set++) {
      const elements = Array.from({ length: 1_000 }, (_, i) => `          - n: "${set}-${i}"\n            svc: svc${(set * 1_000 + i) % 500}`).join('\n');
      files[`argocd/set${String(set).padStart(2, '0')}.yaml`] = applicationSetYaml(`set${set}`, `    - list:\n        elements:\n${elements}\n`, {
        name: 'app-{{n}}',
        repoURL: 'https://github.com/acme/gitops',
        path: 'apps/{{svc}}/dev',
      });
    }
    return files;
  },
  'deep-chain': () => {
    const files: Files = {};
    for (let i = 0; i < 1_500; i++) files[`k${i}/kustomization.yaml`] = `resources:\n  - ../k${i + 1}\n`;
    files['k1500/kustomization.yaml'] = 'resources:\n  - app.yaml\n';
    files['k1500/app.yaml'] = deployment('app', 'ghcr.io/acme/api:1.0');
    return files;
  },
  diamonds: () => {
    const files: Files = {};
    for (let d = 0; d < 8; d++) {
      for (const side of ['a', 'b']) {
        files[`d${d}/l0/${side}/kustomization.yaml`] = 'resources:\n  - deploy.yaml\n';
        files[`d${d}/l0/${side}/deploy.yaml`] = deployment(`${side}${d}`, `ghcr.io/acme/d${d}${side}:1.0`);
        for (let level = 1; level <= 20; level++) {
          files[`d${d}/l${level}/${side}/kustomization.yaml`] = `namePrefix: ${side}-\nresources:\n  - ../../l${level - 1}/a\n  - ../../l${level - 1}/b\n`;
        }
      }
    }
    return files;
  },
  'yaml-bombs': () => {
    const files: Files = {};
    const levels = 'abcdefghi'.split('');
    const bomb = ['apiVersion: v1', 'kind: ConfigMap', 'data:', '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < levels.length; i++) bomb.push(`  ${levels[i]}: &${levels[i]} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]`);
    for (let i = 0; i < 20; i++) {
      files[`bombs/laughs${i}.yaml`] = `${bomb.join('\n')}\n`;
      files[`bombs/flood${i}.yaml`] = 'apiVersion: v1\nkind: ConfigMap\n---\n'.repeat(10_001);
    }
    return files;
  },
  'many-images': () => {
    const files: Files = {};
    // Just under MAX_YAML_DOCUMENTS per file (about 1.7 MiB each, under MAX_FILE_BYTES).
    const perFile = Number(process.env.WORST_CASE_DOCS_PER_FILE ?? 9_990);
    const fileCount = Number(process.env.WORST_CASE_IMAGE_FILES ?? 32);
    let n = 0;
    for (let f = 0; f < fileCount; f++) {
      const docs: string[] = [];
      for (let i = 0; i < perFile; i++, n++) docs.push(deployment(`svc${String(n).padStart(6, '0')}`, `ghcr.io/acme/svc${String(n).padStart(6, '0')}:1.0.0`));
      files[`manifests/m${f}.yaml`] = docs.join('---\n');
    }
    return files;
  },
};
// Every cap at once, in one tree: the caps are per tree, so their costs add up.
SCENARIOS.combined = () => Object.assign({}, ...['appsets-at-run-cap', 'diamonds', 'yaml-bombs', 'many-images'].map((name) => SCENARIOS[name]?.() ?? {})) as Files;

function writeFiles(root: string, files: Files): number {
  let bytes = 0;
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    bytes += Buffer.byteLength(content);
  }
  return bytes;
}

/** Resolves the repository the parent wrote to `root` (so the generated strings are not in this process's RSS). */
async function runScenario(name: string, root: string, fileCount: number, bytes: number): Promise<void> {
  {
    const rssBefore = process.resourceUsage().maxRSS / 1024;
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const source = createLocalSource(root, { detectGit: false });
    const tree = await source.load();
    const state = await resolveDesiredState(source, { tree, repoUrls: ['https://github.com/acme/gitops'] });
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuStart);
    const caps = new Map<string, number>();
    for (const finding of state.findings) {
      if (finding.code !== 'LIMIT_EXCEEDED') continue;
      const cap = /\((MAX_[A-Z_]+)/.exec(finding.message)?.[1] ?? 'unnamed';
      caps.set(cap, (caps.get(cap) ?? 0) + 1);
    }
    console.log(
      JSON.stringify({
        scenario: name,
        input: { files: fileCount, bytes },
        wallMs: Math.round(wallMs),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        rssBeforeMB: Math.round(rssBefore),
        desiredImages: state.images.length,
        uniqueImages: new Set(state.images.map((image) => image.image)).size,
        findings: state.findings.length,
        capsHit: Object.fromEntries(caps),
      }),
    );
  }
}

const args = process.argv.slice(2);
if (args[0] === '--scenario') {
  await runScenario(args[1] ?? '', args[2] ?? '', Number(args[3]), Number(args[4]));
} else {
  const names = args.length ? args : Object.keys(SCENARIOS);
  const results: unknown[] = [];
  for (const name of names) {
    const build = SCENARIOS[name];
    if (!build) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    const root = mkdtempSync(join(tmpdir(), `worst-case-${name}-`));
    const files = build();
    const bytes = writeFiles(root, files);
    const child = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--scenario', name, root, String(Object.keys(files).length), String(bytes)], {
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      maxBuffer: 64 * 1024 * 1024,
    });
    rmSync(root, { recursive: true, force: true });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    try {
      results.push(JSON.parse(line));
    } catch {
      results.push({ scenario: name, failed: true, status: child.status, signal: child.signal, stderr: child.stderr.slice(-2000) });
    }
  }
  const limits = { memoryMb: DEFAULTS.memoryMb, timeoutSeconds: DEFAULTS.timeoutSeconds };
  const within = results.every((r) => {
    const result = r as { peakRssMB?: number; wallMs?: number };
    return result.peakRssMB !== undefined && result.wallMs !== undefined && result.peakRssMB < limits.memoryMb && result.wallMs < limits.timeoutSeconds * 1000;
  });
  console.log(JSON.stringify({ lambdaDefaults: limits, withinLambdaDefaults: within, scenarios: results }, null, 2));
}
