/**
 * Pull-request mode benchmark: a generated GitOps repository of 5,000 files (bench/generate-gitops.ts)
 * committed on `main`, then a branch that changes one overlay's image tag. Runs the same steps as
 * `image-drift audit --dir <repo> --changed-since main` against the real local registry and reports
 * how many images were checked (only that overlay's), how many a full audit would check, and the
 * time of each step.
 *
 *   npx tsx bench/pull-request.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runAudit } from '../lambdas/engine/audit.js';
import { createImageChecker } from '../lambdas/engine/diagnose/index.js';
import type { ImageChecker, ImageReference } from '../lambdas/engine/model.js';
import { resolveDesiredState } from '../lambdas/engine/resolve/index.js';
import { createLocalSource } from '../lambdas/engine/sources/local.js';
import { startLocalRegistry } from '../test/support/registry.js';
import { generateGitOpsRepository } from './generate-gitops.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 625);
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'pipe' });

const root = mkdtempSync(join(tmpdir(), 'pull-request-bench-'));
const registry = await startLocalRegistry();
try {
  const generated = generateGitOpsRepository(root, SERVICES);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'generated');
  git(root, 'checkout', '-q', '-b', 'change-one-overlay');
  const overlay = join(root, 'services/svc0007/overlays/dev/kustomization.yaml');
  writeFileSync(overlay, readFileSync(overlay, 'utf8').replace(/newTag: dev-7\n/, 'newTag: dev-7-rc1\n'));
  git(root, 'commit', '-q', '-am', 'svc0007 dev: rc1');
  // The changed overlay's other images exist; the new tag was never pushed.
  await registry.pushImage('acme-corp/svc0007', 'dev-7');

  const checked: string[] = [];
  const inner = createImageChecker({ registries: { 'ghcr.io': { endpoint: registry.url } } });
  const countingChecker: ImageChecker = {
    check: (images: readonly ImageReference[], onProgress) => {
      checked.push(...images.map((image) => image.canonical));
      return inner.check(images, onProgress);
    },
  };

  const source = createLocalSource(root);
  const started = performance.now();
  const baseTree = await source.load('main');
  const baseline = await resolveDesiredState(source, { tree: baseTree, repoUrls: ['https://github.com/acme-corp/gitops'] });
  const baselineMs = performance.now() - started;
  const headStarted = performance.now();
  const { report, desired } = await runAudit({ source, checker: countingChecker, baseline, repoUrls: ['https://github.com/acme-corp/gitops'] });
  const headMs = performance.now() - headStarted;
  const totalMs = performance.now() - started;

  console.log(
    JSON.stringify(
      {
        bench: 'pull-request',
        repository: { files: generated.files, documents: generated.documents, overlays: generated.overlays.length },
        change: 'one overlay (services/svc0007/overlays/dev) points at a tag that was never pushed',
        imagesChecked: checked.length,
        checkedImages: checked,
        fullAuditWouldCheck: new Set(desired.images.map((image) => image.image)).size,
        desiredEntriesAtHead: desired.images.length,
        results: report.results.map((result) => ({
          image: result.image,
          status: result.status,
          // The deciding location of each desired entry: the overlay line that set the tag.
          decidedAt: [...new Set(report.desired.filter((entry) => entry.image === result.image).map((entry) => {
            const last = entry.locations.at(-1);
            return last ? `${last.file}:${last.line}` : '?';
          }))],
        })),
        ms: { baseRevisionDesiredState: Math.round(baselineMs), headAuditIncludingChecks: Math.round(headMs), total: Math.round(totalMs) },
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      },
      null,
      2,
    ),
  );
} finally {
  await registry.stop();
  rmSync(root, { recursive: true, force: true });
}
