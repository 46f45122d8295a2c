/**
 * Desired state no app points at: top-level kustomizations (not included by another kustomization),
 * charts and plain manifest directories. They are still listed, under their path, `unreferenced: true`,
 * with one info finding each, since something (a human, a CI job) may apply them.
 */
import type { AppRef } from '../model.js';
import type { Discovery } from './discover.js';
import { renderDirectory } from './directory.js';
import { renderChart } from './helm.js';
import { renderKustomization } from './kustomize/render.js';
import { topLevelKustomizations } from './kustomize/includes.js';
import { loadCached } from './kustomize/files.js';
import { makesUnknown } from '../completeness.js';
import { withholdFailedBuild } from './render.js';
import type { ResolveRun } from './run.js';
import { dirname, type Workspace } from './workspace.js';

export function resolveUnreferenced(run: ResolveRun, ws: Workspace, found: Discovery): void {
  // Kustomizations an app rendered, and everything they include, are already in referencedDirs. Of the rest,
  // only the top-level ones are units (read from the include graph, not by rendering each candidate); a group
  // that only includes itself gets one unit too, whose render reports the cycle.
  const candidates = found.kustomizationDirs.filter((dir) => !run.referencedDirs.has(dir));
  // A kustomization file that cannot be read may include any of the others (an overlay with a merge conflict no
  // longer includes its base, which then looks top-level): while one is unreadable, these units are unknown too.
  const unreadable = found.kustomizationDirs.flatMap((dir) => {
    const file = ws.kustomizationFile(dir);
    return file !== undefined && loadCached(ws.tree, file).findings.some(makesUnknown) ? [file] : [];
  });
  for (const dir of topLevelKustomizations(ws.tree, candidates)) {
    if (run.referencedDirs.has(dir)) continue;
    const render = withholdFailedBuild(renderKustomization(ws.tree, dir), ws.kustomizationFile(dir) ?? dir, `kustomization ${dir || '.'}`);
    const file = ws.kustomizationFile(dir) ?? dir;
    report(run, { name: dir || '.', kind: 'kustomization', path: dir, unreferenced: true }, file, `kustomization ${dir || '.'}`);
    run.addRender({ name: dir || '.', kind: 'kustomization', path: dir, unreferenced: true }, {
      images: render.images,
      serviceAccounts: render.serviceAccounts,
      findings: render.findings,
      files: render.files,
      kustomizationDirs: render.kustomizationDirs,
      documents: [],
    });
    for (const broken of unreadable) run.renderedApps.get(dir || '.')?.add(broken);
  }

  for (const dir of found.chartDirs) {
    // A subchart (`<chart>/charts/<name>`) is part of its parent chart.
    if (dir !== '' && ws.chartOf(dir) !== undefined) continue;
    if (run.referencedDirs.has(dir)) continue;
    const app: AppRef = { name: dir || '.', kind: 'directory', path: dir, unreferenced: true };
    report(run, app, dir === '' ? 'Chart.yaml' : `${dir}/Chart.yaml`, `chart ${dir || '.'}`);
    run.addRender(app, renderChart(ws, dir, []));
  }

  const byDir = new Map<string, string[]>();
  for (const file of found.manifestsWithImages) {
    const dir = dirname(file);
    if (run.coveredFiles.has(file) || run.referencedDirs.has(dir)) continue;
    const list = byDir.get(dir);
    if (list) list.push(file);
    else byDir.set(dir, [file]);
  }
  for (const [dir, files] of byDir) {
    const app: AppRef = { name: dir || '.', kind: 'directory', path: dir, unreferenced: true };
    report(run, app, files[0] ?? dir, `manifest directory ${dir || '.'}`);
    const render = renderDirectory(ws, dir);
    render.images = render.images.filter((image) => image.locations.some((location) => files.includes(location.file)));
    run.addRender(app, render);
  }
}

function report(run: ResolveRun, app: AppRef, file: string, what: string): void {
  run.findings.push({
    file,
    line: 0,
    code: 'UNREFERENCED',
    severity: 'info',
    message: `${what} is not pointed at by any Argo CD Application or Flux object; its images are listed under ${app.name}`,
    hint: 'If nothing deploys it, delete it; if something outside this repository does, this is expected.',
  });
}
