/** docker compose files: each file is an app of its own, named after its path; services are its workloads. */
import { extractComposeImages } from '../extractors/compose/index.js';
import { siteToImage } from './directory.js';
import { emptyRender } from './context.js';
import type { ResolveRun } from './run.js';
import type { Workspace } from './workspace.js';

export function resolveComposeFile(run: ResolveRun, ws: Workspace, file: string): void {
  const render = emptyRender();
  render.files.push(file);
  for (const doc of ws.documents(file)) {
    const extracted = extractComposeImages(doc);
    render.images.push(...extracted.sites.map(siteToImage));
    render.findings.push(...extracted.findings);
    for (const note of extracted.notes ?? []) run.notes.push(`${file}: ${note}`);
  }
  run.addRender({ name: file, kind: 'compose', path: file }, render);
}
