/**
 * One pass over the audited tree: which documents declare apps (Argo CD, Flux), which files are
 * doco-cd configs or compose files, kustomizations, charts, and which plain manifests carry pod images. Files in the
 * audit scope only; Helm chart templates are never parsed.
 */
import { extractPodImages } from '../extractors/kubernetes/index.js';
import type { YamlDocument } from '../yaml/index.js';
import { argoKind } from './argocd/resolve.js';
import { isDocoCdConfig } from './doco-cd.js';
import { fluxKind } from './flux.js';
import { isArtifactGenerator } from './flux-artifacts.js';
import { dirname, normalisePath, type Workspace } from './workspace.js';

export interface Discovery {
  argo: YamlDocument[];
  flux: YamlDocument[];
  /** Flux GitRepository objects: which repository a Flux object's sourceRef names. */
  gitRepositories: YamlDocument[];
  /** Flux ArtifactGenerators: which directories an ExternalArtifact copies. */
  artifactGenerators?: YamlDocument[];
  compose: string[];
  /** doco-cd deployment configs (`.doco-cd.yaml`, `.doco-cd.<target>.yml`...). */
  docoCd: string[];
  kustomizationDirs: string[];
  chartDirs: string[];
  /** Plain manifest files (outside kustomization and chart directories) whose documents have pod images. */
  manifestsWithImages: string[];
}

const COMPOSE_FILE = /(?:^|\/)(?:docker-)?compose[^/]*\.ya?ml$/i;
const KUSTOMIZATION_FILE = /(?:^|\/)(?:kustomization\.ya?ml|Kustomization)$/;

export function isComposeFile(file: string): boolean {
  return COMPOSE_FILE.test(file);
}

export function discover(ws: Workspace, inScope: (path: string) => boolean): Discovery {
  const patchesByKustomization = new Map<string, Set<string>>();
  const found: Discovery = { argo: [], flux: [], gitRepositories: [], compose: [], docoCd: [], kustomizationDirs: [], chartDirs: [], manifestsWithImages: [] };
  for (const file of ws.tree.paths()) {
    // doco-cd configs sit at the root and point anywhere: read whatever the scope, report stacks in scope.
    if (isDocoCdConfig(file)) {
      found.docoCd.push(file);
      continue;
    }
    if (!inScope(file)) continue;
    if (KUSTOMIZATION_FILE.test(file)) {
      found.kustomizationDirs.push(dirname(file));
      continue;
    }
    if (file === 'Chart.yaml' || file.endsWith('/Chart.yaml')) {
      found.chartDirs.push(dirname(file));
      continue;
    }
    if (!ws.isYamlFile(file) || ws.chartOf(file) !== undefined || ws.isHelmTemplate(file)) continue;
    if (isComposeFile(file)) {
      found.compose.push(file);
      continue;
    }
    // Files of a kustomization are parsed when (and if) it is rendered; here only apps matter.
    const kustomization = ws.kustomizationFile(dirname(file));
    const inKustomization = kustomization !== undefined;
    if (inKustomization && !declaresApps(ws.text(file) ?? '')) continue;
    // A patch of an app object (an overlay setting a Flux Kustomization's path, an Application's revision) is a
    // fragment: the kustomization applies it when rendered; on its own it is not an app.
    if (kustomization !== undefined && patchFilesOf(ws, kustomization, patchesByKustomization).has(file)) continue;
    let hasImages = false;
    for (const doc of ws.documents(file)) {
      if (argoKind(doc.value)) found.argo.push(doc);
      else if (fluxKind(doc.value)) found.flux.push(doc);
      else if (isGitRepository(doc.value)) found.gitRepositories.push(doc);
      else if (isArtifactGenerator(doc.value)) (found.artifactGenerators ??= []).push(doc);
      else if (!hasImages && extractPodImages(doc).sites.length > 0) hasImages = true;
    }
    if (hasImages && !inKustomization) found.manifestsWithImages.push(file);
  }
  return found;
}

/** Files a kustomization applies as patches (`patches[].path`, `patchesStrategicMerge`, `patchesJson6902[].path`), repository paths. */
function patchFilesOf(ws: Workspace, kustomization: string, cache: Map<string, Set<string>>): Set<string> {
  let files = cache.get(kustomization);
  if (files) return files;
  files = new Set();
  cache.set(kustomization, files);
  const dir = dirname(kustomization);
  for (const doc of ws.documents(kustomization)) {
    const value: unknown = doc.value;
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    const listed: unknown[] = [
      ...(Array.isArray(record.patches) ? record.patches : []),
      ...(Array.isArray(record.patchesJson6902) ? record.patchesJson6902 : []),
      ...(Array.isArray(record.patchesStrategicMerge) ? record.patchesStrategicMerge : []),
    ];
    for (const entry of listed) {
      const path = typeof entry === 'string' ? entry : typeof entry === 'object' && entry !== null && 'path' in entry ? entry.path : undefined;
      if (typeof path !== 'string' || path.includes('\n')) continue;
      const file = normalisePath(path, dir);
      if (file !== undefined) files.add(file);
    }
  }
  return files;
}

function declaresApps(text: string): boolean {
  return text.includes('argoproj.io') || text.includes('toolkit.fluxcd.io') || text.includes('source.extensions.fluxcd.io');
}

function isGitRepository(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kind' in value &&
    value.kind === 'GitRepository' &&
    'apiVersion' in value &&
    typeof value.apiVersion === 'string' &&
    value.apiVersion.startsWith('source.toolkit.fluxcd.io/')
  );
}
