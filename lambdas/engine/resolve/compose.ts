/**
 * docker compose files no deployer points at (a doco-cd stack covers the ones it deploys): local
 * development and test stacks, or stacks something outside the repository runs. Each is listed under
 * its path, `unreferenced: true`, with one UNREFERENCED info finding, like an unreferenced kustomization:
 * its images are still audited.
 */
import { extractComposeImages } from '../extractors/compose/index.js';
import { siteToImage } from './directory.js';
import { emptyRender } from './context.js';
import type { ResolveRun } from './run.js';
import type { Workspace } from './workspace.js';

export function resolveUnreferencedCompose(run: ResolveRun, ws: Workspace, files: readonly string[]): void {
  for (const file of files) {
    if (run.coveredFiles.has(file)) continue;
    const render = emptyRender();
    render.files.push(file);
    for (const doc of ws.documents(file)) {
      const extracted = extractComposeImages(doc);
      render.images.push(...extracted.sites.map(siteToImage));
      render.findings.push(...extracted.findings);
      for (const note of extracted.notes ?? []) run.notes.push(note);
    }
    if (render.images.length === 0 && render.findings.length === 0) continue;
    run.findings.push({
      file,
      line: 0,
      code: 'UNREFERENCED',
      severity: 'info',
      message: `compose file ${file} is not deployed by any deployer this tool reads (doco-cd); its images are listed under ${file}`,
      hint: 'A development or test stack needs nothing; to skip it, add its path to exclude: in the config. If a deployer outside this repository runs it, this is expected.',
    });
    run.addRender({ name: file, kind: 'compose', path: file, unreferenced: true }, render);
  }
}
