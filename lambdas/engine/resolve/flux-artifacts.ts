/**
 * Flux `ArtifactGenerator` (source-watcher, `source.extensions.fluxcd.io`): splits a GitRepository into
 * ExternalArtifacts by copying directories (`@alias/apps/base/**` → `@artifact/base/`), and Kustomizations
 * read those artifacts (`sourceRef.kind: ExternalArtifact`, `path: ./production`). A Kustomization of such
 * an artifact is read as the repository path the copy came from, at the GitRepository's revision.
 *
 * Only whole-directory copies (`@alias/<dir>/**` to `@artifact/<dir>/`) that keep the directories'
 * relative layout are mapped: kustomizations inside then refer to each other (`../base/podinfo`) as they
 * do in the repository. Anything else (file globs, `exclude`, a layout the copies rearrange, an
 * OCIRepository or Bucket source) stays unresolved, with the reason.
 */
import type { FluxSourceRef } from '../extractors/flux/index.js';
import { isRecord } from '../extractors/types.js';
import type { YamlDocument } from '../yaml/index.js';
import type { ResolveRun } from './run.js';
import { normalisePath } from './workspace.js';

interface ArtifactCopy {
  alias: string;
  /** Repository directory copied (normalised, '' for the root). */
  from: string;
  /** Directory inside the artifact it is copied to. */
  to: string;
}

interface GeneratedArtifact {
  generator: string;
  /** The file the ArtifactGenerator is written in. */
  file: string;
  sources: Map<string, FluxSourceRef>;
  copies: ArtifactCopy[];
  /** Why this artifact cannot be mapped onto the repository, when it cannot. */
  problem?: string;
}

/** Artifacts by `namespace/name`; several when each cluster directory has its own generator of that name. */
const artifactsOf = new WeakMap<ResolveRun, Map<string, GeneratedArtifact[]>>();

export function isArtifactGenerator(value: unknown): boolean {
  return isRecord(value) && value.kind === 'ArtifactGenerator' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('source.extensions.fluxcd.io/');
}

/** Records the artifacts an ArtifactGenerator of the audited tree generates (by `namespace/name`). */
export function recordArtifactGenerator(run: ResolveRun, doc: YamlDocument): void {
  const { value } = doc;
  if (!isRecord(value) || !isRecord(value.metadata) || !isRecord(value.spec)) return;
  const generator = typeof value.metadata.name === 'string' ? value.metadata.name : doc.file;
  const namespace = typeof value.metadata.namespace === 'string' ? value.metadata.namespace : '';
  const sources = new Map<string, FluxSourceRef>();
  for (const source of Array.isArray(value.spec.sources) ? value.spec.sources : []) {
    if (!isRecord(source) || typeof source.alias !== 'string' || typeof source.kind !== 'string' || typeof source.name !== 'string') continue;
    sources.set(source.alias, { kind: source.kind, name: source.name, ...(typeof source.namespace === 'string' && { namespace: source.namespace }) });
  }
  let artifacts = artifactsOf.get(run);
  if (!artifacts) {
    artifacts = new Map();
    artifactsOf.set(run, artifacts);
  }
  for (const artifact of Array.isArray(value.spec.artifacts) ? value.spec.artifacts : []) {
    if (!isRecord(artifact) || typeof artifact.name !== 'string') continue;
    const generated: GeneratedArtifact = { generator, file: doc.file, sources, copies: [] };
    for (const copy of Array.isArray(artifact.copy) ? artifact.copy : []) {
      const mapped = isRecord(copy) ? directoryCopy(copy) : undefined;
      if (typeof mapped === 'string' || mapped === undefined) {
        generated.problem ??= mapped ?? 'a copy operation is not an object';
        continue;
      }
      generated.copies.push(mapped);
    }
    if (generated.copies.length === 0) generated.problem ??= 'it copies nothing';
    const key = `${namespace}/${artifact.name}`;
    artifacts.set(key, [...(artifacts.get(key) ?? []), generated]);
  }
}

/** `@alias/dir/**` → `@artifact/dir/`, or the reason it is not such a copy. */
function directoryCopy(copy: Record<string, unknown>): ArtifactCopy | string {
  const { from, to } = copy;
  if (typeof from !== 'string' || typeof to !== 'string') return 'a copy operation lacks from or to';
  if (copy.exclude !== undefined) return `the copy from ${from} excludes files`;
  const source = /^@([^/]+)\/(.*?)\/?\*\*$/.exec(from.trim());
  const target = /^@artifact\/(.*)$/.exec(to.trim());
  const fromDir = source ? normalisePath(source[2] ?? '') : undefined;
  const toDir = target ? normalisePath(target[1] ?? '') : undefined;
  if (!source?.[1] || fromDir === undefined || toDir === undefined || /[*?[{]/.test(`${fromDir}/${toDir}`)) {
    return `the copy ${from} → ${to} is not a whole directory`;
  }
  return { alias: source[1], from: fromDir, to: toDir };
}

export type ArtifactMapping = { sourceRef: FluxSourceRef; path: string; note: string } | { problem: string };

/**
 * The GitRepository and repository path an ExternalArtifact's `path` comes from, or why it cannot be told.
 * `ownNamespace`: the Kustomization's namespace (a sourceRef without namespace names its own).
 */
export function mapExternalArtifact(run: ResolveRun, ref: FluxSourceRef, ownNamespace: string | undefined, path: string, file: string): ArtifactMapping {
  const namespace = ref.namespace ?? ownNamespace ?? '';
  const artifacts = artifactsOf.get(run);
  const candidates = artifacts?.get(`${namespace}/${ref.name}`) ?? artifacts?.get(`/${ref.name}`) ?? [];
  // The generator nearest to the Kustomization (clusters/production/ for clusters/production/apps.yaml).
  const artifact = candidates.reduce<GeneratedArtifact | undefined>((best, next) => (best === undefined || sharedDepth(next.file, file) > sharedDepth(best.file, file) ? next : best), undefined);
  if (!artifact) return { problem: `no ArtifactGenerator in this repository generates ExternalArtifact ${ref.name}` };
  if (artifact.problem !== undefined) return { problem: `ArtifactGenerator ${artifact.generator} builds ${ref.name} in a way not read offline (${artifact.problem})` };
  const aliases = new Set(artifact.copies.map((copy) => copy.alias));
  const source = aliases.size === 1 ? artifact.sources.get([...aliases][0] ?? '') : undefined;
  if (!source || source.kind !== 'GitRepository') {
    return { problem: `ArtifactGenerator ${artifact.generator} builds ${ref.name} from ${aliases.size === 1 ? `${source?.kind ?? 'an unknown'} source` : 'several sources'}, not from one GitRepository` };
  }
  // The copies keep the layout when each moves its directory by the same prefix (apps/base → base, apps/production → production).
  const shifts = new Set(artifact.copies.map((copy) => shiftOf(copy)));
  const shift = shifts.size === 1 ? [...shifts][0] : undefined;
  if (shift === undefined) return { problem: `ArtifactGenerator ${artifact.generator} rearranges the directories it copies into ${ref.name}` };
  const inArtifact = normalisePath(path);
  const covered = inArtifact !== undefined && artifact.copies.some((copy) => copy.to === '' || inArtifact === copy.to || inArtifact.startsWith(`${copy.to}/`));
  if (!covered || inArtifact === undefined) return { problem: `path ${path || './'} is not among what ArtifactGenerator ${artifact.generator} copies into ${ref.name}` };
  const repositoryPath = normalisePath(inArtifact, shift) ?? inArtifact;
  return {
    sourceRef: { ...source, ...(source.namespace === undefined && namespace !== '' && { namespace }) },
    path: repositoryPath,
    note: `ExternalArtifact ${ref.name} (ArtifactGenerator ${artifact.generator}) is read as ${repositoryPath || '.'} of GitRepository ${source.name}`,
  };
}

/** How many leading directories two files share. */
function sharedDepth(a: string, b: string): number {
  const left = a.split('/').slice(0, -1);
  const right = b.split('/').slice(0, -1);
  let depth = 0;
  while (depth < left.length && depth < right.length && left[depth] === right[depth]) depth += 1;
  return depth;
}

/** The repository prefix a copy adds to artifact paths, or a marker that it renames rather than moves. */
function shiftOf(copy: ArtifactCopy): string {
  if (copy.to === '') return copy.from;
  if (copy.from === copy.to) return '';
  if (copy.from.endsWith(`/${copy.to}`)) return copy.from.slice(0, -copy.to.length - 1);
  return `\u0000${copy.from}\u0000${copy.to}`;
}
