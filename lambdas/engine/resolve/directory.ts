/**
 * Plain manifest directories, rendered the way Argo CD's directory source does: the YAML and JSON files
 * in the directory (and below it with `recurse`), filtered by `include`/`exclude` globs. Helm chart
 * templates and kustomization files are never read as manifests.
 */
import { extractPodImages, listResources, serviceAccountOf } from '../extractors/kubernetes/index.js';
import type { RenderedImage } from './attribution.js';
import { emptyRender, type RenderResult } from './context.js';
import { globToRegExp } from './glob.js';
import type { Workspace } from './workspace.js';

export interface DirectoryOptions {
  recurse?: boolean;
  include?: string;
  exclude?: string;
}

const KUSTOMIZATION = /(?:^|\/)(?:kustomization\.ya?ml|Kustomization)$/;

export function manifestFiles(ws: Workspace, dir: string, options: DirectoryOptions = {}): string[] {
  const candidates = options.recurse ? ws.filesBelow(dir) : ws.filesIn(dir);
  const include = options.include ? braceGlobs(options.include) : undefined;
  const exclude = options.exclude ? braceGlobs(options.exclude) : undefined;
  const offset = dir === '' ? 0 : dir.length + 1;
  return candidates.filter((file) => {
    if (!ws.isYamlFile(file) || KUSTOMIZATION.test(file) || ws.isHelmTemplate(file)) return false;
    const relative = file.slice(offset);
    if (include && !include.some((re) => re.test(relative) || re.test(file))) return false;
    if (exclude?.some((re) => re.test(relative) || re.test(file))) return false;
    return true;
  });
}

export function renderDirectory(ws: Workspace, dir: string, options: DirectoryOptions = {}): RenderResult {
  const result = emptyRender();
  for (const file of manifestFiles(ws, dir, options)) {
    result.files.push(file);
    for (const document of ws.documents(file)) {
      result.documents.push(document);
      const extracted = extractPodImages(document);
      result.findings.push(...extracted.findings);
      result.images.push(...extracted.sites.map(siteToImage));
      for (const resource of listResources(document)) {
        const account = serviceAccountOf(resource.value, resource.location);
        if (account) (result.serviceAccounts ??= []).push(account);
      }
    }
  }
  return result;
}

export function siteToImage(site: {
  workload: RenderedImage['workload'];
  container: string;
  written: string;
  location: RenderedImage['locations'][number];
  pod?: RenderedImage['pod'];
}): RenderedImage {
  return {
    workload: site.workload,
    container: site.container,
    written: site.written,
    locations: [site.location],
    ...(site.pod ? { pod: site.pod } : {}),
  };
}

/** Argo CD include/exclude: a glob, or `{a,b}` for several. */
function braceGlobs(pattern: string): RegExp[] {
  const trimmed = pattern.trim();
  const parts = trimmed.startsWith('{') && trimmed.endsWith('}') ? trimmed.slice(1, -1).split(',') : [trimmed];
  return parts.map((part) => globToRegExp(part.trim().replace(/^\.\//, '')));
}
