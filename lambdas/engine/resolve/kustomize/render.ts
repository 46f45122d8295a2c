/**
 * An offline `kustomize build`, restricted to what decides container images, with provenance.
 *
 * The order of operations is kustomize v5.5's (api/internal/target/kusttarget.go):
 * resources (files, then sub-kustomizations fully built), legacy bases after them; components,
 * each applied to everything accumulated so far; then this kustomization's transformers in the
 * order patchesStrategicMerge, patches, namespace, namePrefix, nameSuffix, patchesJson6902,
 * images. Each level transforms what its resources rendered, so inner overlays apply first.
 */
import type { Finding, FileTree, PodPullConfig, SourceLocation, Workload } from '../../model.js';
import { findContainerImages, listResources, serviceAccountOf, type ServiceAccountPullSecrets } from '../../extractors/kubernetes/index.js';
import { valueAt } from '../../extractors/types.js';
import { loadYamlDocuments, type YamlDocument } from '../../yaml/index.js';
import { loadCached, isDirectory, isFile } from './files.js';
import type { ImageTransform } from './images.js';
import { applyJsonPatch, JsonPatchError, type JsonPatchOperation } from './json-patch.js';
import { mergeImageOverrides, type ImageOverride, type ImageOverrideMerge } from './overrides.js';
import { applyReplacement, ReplacementError, type ReplacementSpec } from './replacements.js';
import {
  KUSTOMIZATION_FILE_NAMES,
  joinPath,
  readKustomization,
  type Entry,
  type Kustomization,
  type PatchEntry,
  type PluginEntry,
  type TargetSelector,
} from './kustomization.js';
import {
  currentId,
  describeId,
  effectiveNamespace,
  isClusterScoped,
  isObject,
  metadataOf,
  originalId,
  ownValue,
  provenance,
  sameId,
  setDocumentProvenance,
  type JsonObject,
  type PathSegment,
  type ResId,
  type Resource,
} from './resource.js';
import { mergeMap } from './strategic-merge.js';
import { applyImageTransform, applyNameAffixes, applyNamespace, select, setMetadataMap } from './transformers.js';

// ─── Public types ──────────────────────────────────────────────────────────

/** One `images:` entry from outside the repository's kustomizations (Argo CD, Flux). */
export type KustomizeImageOverride = ImageOverride;

export interface RenderOptions {
  /**
   * Image overrides applied last, after the kustomization's own `images:` (Argo CD
   * `spec.source.kustomize.images`, Flux Kustomization `spec.images`).
   */
  extraImages?: KustomizeImageOverride[];
  /**
   * How extraImages join the kustomization's own `images:` (see overrides.ts): `append` (default,
   * applied after them), `argocd` (kustomize edit set image: same name replaced, list sorted by
   * name) or `flux` (same name replaced in place).
   */
  extraImagesMerge?: ImageOverrideMerge;
  /** Namespace for namespaced workloads that have none after rendering (the app's destination namespace). */
  namespace?: string;
  /**
   * Changes an app makes to the rendered kustomization before building it, as Argo CD does with
   * `kustomize edit` (spec.source.kustomize namePrefix, nameSuffix, namespace, components, patches).
   */
  edits?: KustomizationEdits;
}

export interface KustomizationEdits {
  /** Replaces the kustomization's namePrefix / nameSuffix / namespace. */
  namePrefix?: string;
  nameSuffix?: string;
  namespace?: string;
  /** Component directories, relative to the rendered directory, appended to `components`. */
  components?: { path: string; location: SourceLocation }[];
  /** Patches appended to `patches`: inline text (with the line its first line is written on) or a path relative to the directory. */
  patches?: { patch?: string; path?: string; target?: TargetSelector; location: SourceLocation; firstLine?: number }[];
}

function hasEdits(options: RenderOptions): boolean {
  const e = options.edits;
  return (options.extraImages?.length ?? 0) > 0 || (e !== undefined && Object.values(e).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
}

/** Applies the app's changes to the top-level kustomization (a copy read for this render only). */
function editKustomization(k: Kustomization, options: RenderOptions): void {
  const overrides = options.extraImages ?? [];
  if (overrides.length > 0) k.images = mergeImageOverrides(k.images, overrides, options.extraImagesMerge ?? 'append');
  const e = options.edits;
  if (!e) return;
  if (e.namePrefix !== undefined) k.namePrefix = e.namePrefix;
  if (e.nameSuffix !== undefined) k.nameSuffix = e.nameSuffix;
  if (e.namespace !== undefined) k.namespace = e.namespace;
  for (const component of e.components ?? []) {
    // kustomize edit add component skips a component the kustomization already lists
    if (k.components.some((c) => c.value === component.path)) continue;
    k.components = [...k.components, { value: component.path, line: component.location.line, file: component.location.file }];
  }
  for (const p of e.patches ?? []) {
    const entry: PatchEntry = { field: 'patches', line: p.location.line, file: p.location.file };
    if (p.path !== undefined) entry.path = p.path;
    if (p.patch !== undefined) entry.patch = { text: p.patch, file: p.location.file, firstLine: p.firstLine ?? p.location.line };
    if (p.target) entry.target = p.target;
    k.patches = [...k.patches, entry];
  }
}

export interface RenderedContainerImage {
  workload: Workload;
  container: string;
  /** The image exactly as `kustomize build` would write it. */
  written: string;
  /** The base `image:` line first, then every overlay `images:` entry and patch that set it, in order of application. */
  locations: SourceLocation[];
  /** The rendered pod spec's ServiceAccount and imagePullSecrets. */
  pod?: PodPullConfig;
}

export interface KustomizeRender {
  images: RenderedContainerImage[];
  /** ServiceAccounts in the output, namespaces as rendered (their imagePullSecrets decide who can pull private images). */
  serviceAccounts: ServiceAccountPullSecrets[];
  findings: Finding[];
  /** Every kustomization directory included (the rendered one first): bases are not units of their own. */
  kustomizationDirs: string[];
  /** Every file read: kustomization files, manifests and patches. */
  files: string[];
}

// ─── Public functions ──────────────────────────────────────────────────────

/** The kustomization file of a directory (`kustomization.yaml`, `kustomization.yml` or `Kustomization`), if any. */
export function findKustomizationFile(tree: FileTree, dir: string): string | undefined {
  const clean = joinPath(dir, '');
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const file = clean === '' ? name : `${clean}/${name}`;
    if (isFile(tree, file)) return file;
  }
  return undefined;
}

export function isKustomizationDir(tree: FileTree, dir: string): boolean {
  return findKustomizationFile(tree, dir) !== undefined;
}

/** Renders the kustomization in `dir` (repository-relative) and returns its container images. Never throws. */
export function renderKustomization(tree: FileTree, dir: string, options: RenderOptions = {}): KustomizeRender {
  const renderer = new Renderer(tree);
  const root = joinPath(dir, '');
  const build = renderer.buildDirectory(root, [], undefined, hasEdits(options) ? (k) => editKustomization(k, options) : undefined);
  return {
    images: collectImages(build.resources, options.namespace, build.findings),
    serviceAccounts: collectServiceAccounts(build.resources, options.namespace),
    findings: dedupeFindings(build.findings),
    kustomizationDirs: unique(build.dirs),
    files: unique(build.files),
  };
}

// ─── Building ──────────────────────────────────────────────────────────────

interface Build {
  resources: Resource[];
  findings: Finding[];
  dirs: string[];
  files: string[];
  /** False when the result depends on who included it (a cycle was cut short). */
  cacheable: boolean;
  /** MAX_KUSTOMIZE_RESOURCES was passed: the build's resources are dropped (unknown), whatever follows. */
  capped?: boolean;
}

/** Finished builds of kustomization directories, per tree; handed out as copies. */
const buildCache = new WeakMap<FileTree, Map<string, Build>>();

/**
 * Directories built once as the top of a render and not cached, per tree. Most top-level kustomizations (the
 * overlays apps point at) are rendered once, and their cached copies were a third of what a run holds: such a build
 * is kept only when the directory is asked for again, by rebuilding it then ("replaying" it, see Tally).
 */
const builtOnceUncached = new WeakMap<FileTree, Set<string>>();

/**
 * Directories whose kustomization is a Component, per tree. Built on its own, a Component is cached (or replayed) like
 * any kustomization; listed under another one's `resources` it must still give the "is a Component" error, so such an
 * include never takes the cached or replayed build.
 */
const componentDirs = new WeakMap<FileTree, Set<string>>();

function emptyBuild(): Build {
  return { resources: [], findings: [], dirs: [], files: [], cacheable: true };
}

function finding(file: string, line: number, code: Finding['code'], message: string, severity: Finding['severity'], hint?: string): Finding {
  const f: Finding = { file, line, code, message, severity };
  if (hint) f.hint = hint;
  return f;
}

/** What kustomize would try to fetch: URLs, git specs, `host.tld/org/repo` forms, `?ref=`. */
export function looksRemote(path: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ||
    /^git::/i.test(path) ||
    /^git@/i.test(path) ||
    /^(github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com|ssh\.dev\.azure\.com)[/:]/i.test(path) ||
    /[?&]ref=/.test(path) ||
    /^[a-z0-9-]+(\.[a-z0-9-]+)+\/[^/]+\/[^/]+/i.test(path) && !path.startsWith('.') && /\.(com|org|io|net|dev)\//i.test(path)
  );
}

/**
 * SECURITY: nesting depth is user-controlled and the build recurses once per level (bases, components, plugin
 * directories); past this many levels the build stops with a LIMIT_EXCEEDED finding before recursing further, so
 * the stack never holds more than this many levels (docs/security.md). Which kustomizations are top-level is read
 * iteratively (includes.ts), whatever the chain's length.
 */
export const MAX_KUSTOMIZE_DEPTH = 100;

/**
 * SECURITY: resources one build may accumulate. Bases included through several paths multiply (each level of a
 * diamond of overlays doubles them: 2^30 from 30 small files); past this many the build stops with a
 * LIMIT_EXCEEDED finding and yields no resources (what it would deploy is unknown, never half-transformed).
 */
export const MAX_KUSTOMIZE_RESOURCES = 10_000;

/**
 * SECURITY: resources all builds over one tree (one revision of a run) may accumulate together. Finished builds are
 * cached (a copy of each resource a build transformed; untransformed ones share their documents), and an attacker can write many independent capped builds: past this many the
 * remaining builds stop with LIMIT_EXCEEDED, so memory and time stay bounded (bench/worst-case.ts). A repository of
 * 625 services with base, dev and prod overlays accumulates about 6,000.
 */
export const MAX_KUSTOMIZE_RESOURCES_PER_RUN = 50_000;

/**
 * Resources accumulated per tree, against MAX_KUSTOMIZE_RESOURCES_PER_RUN. While `replaying` a build that was not
 * cached, nothing counts and nothing caps: the first build of the directory counted, and did not reach the cap.
 */
interface Tally {
  count: number;
  replaying: number;
}
const accumulatedPerTree = new WeakMap<FileTree, Tally>();

function tallyOf(tree: FileTree): Tally {
  let tally = accumulatedPerTree.get(tree);
  if (!tally) {
    tally = { count: 0, replaying: 0 };
    accumulatedPerTree.set(tree, tally);
  }
  return tally;
}

class Renderer {
  constructor(private readonly tree: FileTree) {}

  /** Builds the kustomization in `dir` from nothing (AccumulateTarget). */
  buildDirectory(
    dir: string,
    stack: string[],
    from: { file: string; line: number } | undefined,
    edit?: (k: Kustomization) => void,
  ): Build {
    if (from && componentDirs.get(this.tree)?.has(dir)) return this.buildUncached(dir, stack, from, edit, false);
    const cache = buildCache.get(this.tree);
    const cached = edit ? undefined : cache?.get(dir);
    if (cached) return { ...cached, resources: cached.resources.map(shareCachedResource), findings: [...cached.findings] };
    const replay = !edit && (builtOnceUncached.get(this.tree)?.has(dir) ?? false);
    if (replay) {
      // Exactly the first build (top of a render: no includer, no stack), which the cache would have returned; it
      // must not count twice or cap.
      const tally = tallyOf(this.tree);
      tally.replaying++;
      try {
        return this.buildUncached(dir, [], undefined, undefined, true);
      } finally {
        tally.replaying--;
      }
    }
    return this.buildUncached(dir, stack, from, edit, false);
  }

  private buildUncached(
    dir: string,
    stack: string[],
    from: { file: string; line: number } | undefined,
    edit: ((k: Kustomization) => void) | undefined,
    replay: boolean,
  ): Build {

    const build = emptyBuild();
    if (this.tooDeep(stack, dir, from ?? { file: dir, line: 0 }, build)) return build;
    const file = findKustomizationFile(this.tree, dir);
    if (!file) {
      const where = from ?? { file: dir, line: 0 };
      build.findings.push(finding(where.file, where.line, 'MISSING_FILE', `${dir || '.'} has no kustomization.yaml, kustomization.yml or Kustomization`, 'error'));
      return build;
    }
    this.checkAmbiguous(dir, file, build);
    const k = readKustomization(this.tree, file, build.findings);
    build.dirs.push(dir);
    build.files.push(file);
    if (!k) return build;
    if (k.kind === 'Component') {
      let components = componentDirs.get(this.tree);
      if (!components) {
        components = new Set();
        componentDirs.set(this.tree, components);
      }
      components.add(dir);
    }
    if (k.kind === 'Component' && from) {
      // kustomize builds a Component on its own, but refuses one listed under resources.
      build.findings.push(
        finding(from.file, from.line, 'INVALID_RESOURCE', `${dir || '.'} is a Component: include it under components, not resources; kustomize build fails`, 'error'),
      );
      return build;
    }
    edit?.(k);
    this.accumulate(k, build, [...stack, dir]);
    if (build.cacheable && !edit) {
      const topLevel = stack.length === 0 && from === undefined;
      if (topLevel && !build.capped && !replay) {
        // Returned to renderKustomization, which only reads it: no copy, and none kept until it is asked for again.
        let once = builtOnceUncached.get(this.tree);
        if (!once) {
          once = new Set();
          builtOnceUncached.set(this.tree, once);
        }
        once.add(dir);
        return build;
      }
      builtOnceUncached.get(this.tree)?.delete(dir);
      let perTree = buildCache.get(this.tree);
      if (!perTree) {
        perTree = new Map();
        buildCache.set(this.tree, perTree);
      }
      perTree.set(dir, { ...build, resources: build.resources.map(cacheResource) });
    }
    return build;
  }

  /**
   * The depth cap, checked before every nested build (bases, plugin directories) and every nested component, so
   * that the recursion is never deeper than MAX_KUSTOMIZE_DEPTH levels whatever the tree holds.
   */
  private tooDeep(stack: string[], dir: string, where: { file: string; line: number }, build: Build): boolean {
    if (stack.length < MAX_KUSTOMIZE_DEPTH) return false;
    build.findings.push(
      finding(where.file, where.line, 'LIMIT_EXCEEDED', `kustomizations nest deeper than the cap of ${MAX_KUSTOMIZE_DEPTH} levels (MAX_KUSTOMIZE_DEPTH) at ${dir || '.'}; deeper bases were not resolved`, 'error', 'Flatten the overlay chain.'),
    );
    build.cacheable = false;
    return true;
  }

  /** The resource cap, checked after everything that adds resources; a capped build stays empty. */
  private tooMany(k: Kustomization, line: number, build: Build): boolean {
    if (!build.capped && build.resources.length <= MAX_KUSTOMIZE_RESOURCES) return false;
    if (!build.capped) {
      build.findings.push(
        finding(k.file, line, 'LIMIT_EXCEEDED', `kustomize build of ${k.dir || '.'} accumulates more than the cap of ${MAX_KUSTOMIZE_RESOURCES} resources (MAX_KUSTOMIZE_RESOURCES); none of its resources are audited`, 'error', 'Split the kustomization, or include each base once.'),
      );
    }
    // Still cacheable: the cap does not depend on who includes the build, and a cached capped base keeps a
    // diamond of overlays from rebuilding it once per path.
    build.capped = true;
    build.resources.length = 0;
    return true;
  }

  private checkAmbiguous(dir: string, file: string, build: Build): void {
    const all = KUSTOMIZATION_FILE_NAMES.map((name) => (dir === '' ? name : `${dir}/${name}`)).filter((f) => isFile(this.tree, f));
    if (all.length > 1) {
      build.findings.push(
        finding(file, 0, 'INVALID_RESOURCE', `${dir || '.'} holds several kustomization files (${all.join(', ')}); kustomize build fails`, 'error', 'Keep one.'),
      );
    }
  }

  /** accumulateTarget: resources, components, then this kustomization's transformers, into `build.resources`. */
  private accumulate(k: Kustomization, build: Build, stack: string[]): void {
    for (const entry of k.resources) {
      this.accumulateResource(k, entry, build, stack);
      if (this.tooMany(k, entry.line, build)) return;
    }
    for (const remote of k.remote) {
      build.findings.push(
        finding(k.file, remote.line, 'REMOTE_RESOURCE', `${remote.what} is not rendered offline; its images are not audited`, 'warning', 'Audit the chart\'s values separately, or render it into the repository.'),
      );
    }
    for (const entry of k.generators) {
      this.runPlugins(k, entry, 'generators', build, stack);
      if (this.tooMany(k, entry.line, build)) return;
    }
    for (const entry of k.components) {
      this.accumulateComponent(k, entry, build, stack);
      if (this.tooMany(k, entry.line, build)) return;
    }

    // Copy on write: a kustomization that only lists resources leaves them shared with their documents and cached builds.
    if (transformsResources(k)) for (const resource of build.resources) ownValue(resource);
    this.applyStrategicMergePatches(k, k.patchesStrategicMerge, build);
    for (const entry of k.patches) this.applyPatch(k, entry, build);
    if (k.namespace) applyNamespace(build.resources, k.namespace);
    if (k.namePrefix) applyNameAffixes(build.resources, k.namePrefix, '');
    if (k.nameSuffix) applyNameAffixes(build.resources, '', k.nameSuffix);
    setMetadataMap(build.resources, 'labels', k.labels);
    setMetadataMap(build.resources, 'annotations', k.commonAnnotations);
    for (const entry of k.patchesJson6902) this.applyPatch(k, entry, build);
    for (const transform of k.images) applyImageTransform(build.resources, transform);
    for (const entry of k.replacements) this.applyReplacements(k, entry, build);
    for (const entry of k.transformers) this.runPlugins(k, entry, 'transformers', build, stack);
  }

  // ─── replacements ──────────────────────────────────────────────────────

  private applyReplacements(k: Kustomization, entry: Kustomization['replacements'][number], build: Build): void {
    const specs: ReplacementSpec[] = [];
    if (entry.value) {
      specs.push({ value: entry.value, location: { file: k.file, line: entry.line } });
    } else if (entry.path !== undefined) {
      const file = joinPath(k.dir, entry.path);
      if (file.startsWith('..') || !isFile(this.tree, file)) {
        build.findings.push(finding(k.file, entry.line, 'MISSING_FILE', `replacements file ${entry.path} does not exist`, 'error'));
        return;
      }
      this.checkLoadRestriction(k, entry.path, file, entry.line, build);
      const loaded = loadCached(this.tree, file);
      build.findings.push(...loaded.findings);
      build.files.push(file);
      for (const doc of loaded.documents) {
        const items: unknown[] = Array.isArray(doc.value) ? doc.value : [doc.value];
        items.forEach((item, i) => {
          if (isObject(item)) specs.push({ value: item, location: { file, line: doc.lineOf(Array.isArray(doc.value) ? [i] : []) } });
        });
      }
    }
    for (const spec of specs) {
      try {
        applyReplacement(build.resources, spec, provenance, (resource, path) => this.locateInOrigin(resource, path));
      } catch (error) {
        if (!(error instanceof ReplacementError)) throw error;
        build.findings.push(finding(spec.location.file, spec.location.line, 'INVALID_RESOURCE', `replacement cannot apply: ${error.message}; kustomize build fails`, 'error'));
      }
    }
  }

  /** The line of a field in the file a resource came from (right as long as the path exists there). */
  private locateInOrigin(resource: Resource, path: PathSegment[]): SourceLocation | undefined {
    const doc = loadCached(this.tree, resource.file).documents.find((d) => d.index === resource.index);
    if (!doc) return undefined;
    let prefix: PathSegment[] = [];
    const items = isObject(doc.value) && Array.isArray(doc.value['items']) ? doc.value['items'] : undefined;
    if (items) {
      const name = originalId(resource).name;
      const index = items.findIndex((item) => isObject(item) && isObject(item['metadata']) && item['metadata']['name'] === name);
      if (index < 0) return undefined;
      prefix = ['items', index];
    }
    return { file: resource.file, line: doc.lineOf([...prefix, ...path]) };
  }

  // ─── transformers: and generators: plugin configurations ──────────────

  /** The plugin configurations an entry names: a file, a kustomization directory or inline YAML. */
  private loadPluginConfigs(k: Kustomization, entry: PluginEntry, build: Build, stack: string[]): PatchDocument[] | undefined {
    if (entry.inline) return this.parseInline(k.file, entry.inline.text, entry.inline.firstLine, entry.line, build);
    const written = entry.path ?? '';
    const path = joinPath(k.dir, written);
    if (!path.startsWith('..') && isFile(this.tree, path)) {
      const loaded = loadCached(this.tree, path);
      build.findings.push(...loaded.findings);
      build.files.push(path);
      return loaded.documents.map((doc) => ({ value: doc.value, locate: (p) => ({ file: path, line: doc.lineOf(p) }) }));
    }
    if (!path.startsWith('..') && isDirectory(this.tree, path) && !looksRemote(written)) {
      if (stack.includes(path)) {
        this.reportCycle(k, { value: written, line: entry.line }, [...stack, path], build);
        return undefined;
      }
      const sub = this.buildDirectory(path, stack, { file: k.file, line: entry.line });
      mergeBuildInfo(build, sub);
      return sub.resources.map((r) => {
        const doc = loadCached(this.tree, r.file).documents.find((d) => d.index === r.index);
        return { value: r.value, locate: (p) => ({ file: r.file, line: doc ? doc.lineOf(p) : 0 }) };
      });
    }
    this.reportUnresolvable(k, { value: written, line: entry.line }, 'plugin configuration', build);
    return undefined;
  }

  private runPlugins(k: Kustomization, entry: PluginEntry, field: 'transformers' | 'generators', build: Build, stack: string[]): void {
    const configs = this.loadPluginConfigs(k, entry, build, stack);
    for (const config of configs ?? []) {
      if (!isObject(config.value)) continue;
      const kind = typeof config.value['kind'] === 'string' ? config.value['kind'] : '';
      const builtin = config.value['apiVersion'] === 'builtin';
      const handled = builtin && (field === 'transformers' ? this.runBuiltinTransformer(k, kind, config, build) : IGNORED_GENERATORS.has(kind));
      if (handled) continue;
      if (builtin && IGNORED_TRANSFORMERS.has(kind)) continue;
      const where = config.locate([]);
      const name = isObject(config.value['metadata']) && typeof config.value['metadata']['name'] === 'string' ? ` ${config.value['metadata']['name']}` : '';
      build.findings.push(
        finding(
          where.file,
          where.line,
          'REMOTE_RESOURCE',
          `${field === 'transformers' ? 'transformer' : 'generator'} plugin ${String(config.value['apiVersion'] ?? '')}/${kind}${name} is not run offline; images it would set or create are not audited`,
          'warning',
        ),
      );
    }
  }

  /** Builtin transformer configurations that can change images or workload identity. False when not handled. */
  private runBuiltinTransformer(k: Kustomization, kind: string, config: PatchDocument, build: Build): boolean {
    const value = config.value as JsonObject;
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const configLine = config.locate([]);
    switch (kind) {
      case 'ImageTagTransformer': {
        const tag = isObject(value['imageTag']) ? value['imageTag'] : {};
        const name = str(tag['name']);
        if (!name) return true;
        const key = ['newTag', 'digest', 'newName', 'tagSuffix'].find((f) => str(tag[f])) ?? 'name';
        const transform: ImageTransform = { name, location: config.locate(['imageTag', key]) };
        for (const field of ['newName', 'newTag', 'digest', 'tagSuffix'] as const) {
          const v = str(tag[field]);
          if (v) transform[field] = v;
        }
        const specs = Array.isArray(value['fieldSpecs']) ? value['fieldSpecs'] : [];
        const paths = specs.flatMap((spec) => (isObject(spec) && typeof spec['path'] === 'string' ? [spec['path']] : []));
        applyImageTransform(build.resources, transform, paths.map(fieldSpecContainerPath).filter((p): p is string[] => p !== undefined));
        return true;
      }
      case 'PatchTransformer':
      case 'PatchJson6902Transformer': {
        const entry: PatchEntry = { field: kind === 'PatchTransformer' ? 'patches' : 'patchesJson6902', line: configLine.line };
        const path = str(value['path']);
        const text = str(value['patch']) ?? str(value['jsonOp']);
        if (path) entry.path = path;
        else if (text) entry.patch = { text, file: configLine.file, firstLine: inlineFirstLine(this.tree, config.locate([value['patch'] ? 'patch' : 'jsonOp'])) };
        else return true;
        if (isObject(value['target'])) entry.target = selectorOf(value['target']);
        this.applyPatch(k, entry, build);
        return true;
      }
      case 'PatchStrategicMergeTransformer': {
        const entries: PatchEntry[] = [];
        for (const path of Array.isArray(value['paths']) ? value['paths'] : []) if (typeof path === 'string') entries.push({ field: 'patchesStrategicMerge', path, line: configLine.line });
        const text = str(value['patches']);
        if (text) entries.push({ field: 'patchesStrategicMerge', line: configLine.line, patch: { text, file: configLine.file, firstLine: inlineFirstLine(this.tree, config.locate(['patches'])) } });
        this.applyStrategicMergePatches(k, entries, build);
        return true;
      }
      case 'PrefixSuffixTransformer':
      case 'PrefixTransformer':
      case 'SuffixTransformer': {
        const specs = Array.isArray(value['fieldSpecs']) ? value['fieldSpecs'] : [];
        if (!specs.some((spec) => isObject(spec) && spec['path'] === 'metadata/name')) return true;
        applyNameAffixes(build.resources, str(value['prefix']) ?? '', str(value['suffix']) ?? '');
        return true;
      }
      case 'NamespaceTransformer': {
        const metadata = isObject(value['metadata']) ? value['metadata'] : {};
        const namespace = str(metadata['namespace']);
        if (namespace) applyNamespace(build.resources, namespace);
        return true;
      }
      default:
        return false;
    }
  }

  private accumulateResource(k: Kustomization, entry: Entry, build: Build, stack: string[]): void {
    const path = joinPath(k.dir, entry.value);
    if (!path.startsWith('..') && isFile(this.tree, path)) {
      this.checkLoadRestriction(k, entry.value, path, entry.line, build);
      this.appendResources(build, this.loadResources(path, build), k, entry);
      return;
    }
    if (!path.startsWith('..') && isDirectory(this.tree, path) && !looksRemote(entry.value)) {
      if (stack.includes(path)) {
        this.reportCycle(k, entry, [...stack, path], build);
        return;
      }
      const sub = this.buildDirectory(path, stack, { file: k.file, line: entry.line });
      mergeBuildInfo(build, sub);
      this.appendResources(build, sub.resources, k, entry);
      return;
    }
    this.reportUnresolvable(k, entry, 'resource', build);
  }

  private accumulateComponent(k: Kustomization, entry: Entry, build: Build, stack: string[]): void {
    const path = joinPath(k.dir, entry.value);
    if (path.startsWith('..') || !isDirectory(this.tree, path) || looksRemote(entry.value)) {
      this.reportUnresolvable(k, entry, 'component', build);
      return;
    }
    if (stack.includes(path)) {
      this.reportCycle(k, entry, [...stack, path], build);
      return;
    }
    // Components nest through accumulate(), not buildDirectory(): the cap applies here too.
    if (this.tooDeep(stack, path, { file: entry.file ?? k.file, line: entry.line }, build)) return;
    const file = findKustomizationFile(this.tree, path);
    if (!file) {
      build.findings.push(finding(entry.file ?? k.file, entry.line, 'MISSING_FILE', `component ${entry.value} has no kustomization.yaml`, 'error'));
      return;
    }
    this.checkAmbiguous(path, file, build);
    const component = readKustomization(this.tree, file, build.findings);
    build.dirs.push(path);
    build.files.push(file);
    if (!component) return;
    if (component.kind !== 'Component') {
      build.findings.push(
        finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', `component ${entry.value} is not kind: Component; kustomize build fails`, 'error', 'Set kind: Component in its kustomization, or list it under resources.'),
      );
      return;
    }
    // A component's resources join the accumulated ones, and its transformers apply to all of them.
    this.accumulate(component, build, [...stack, path]);
  }

  /** kustomize's default load restrictor refuses files outside the kustomization's directory. */
  private checkLoadRestriction(k: Kustomization, written: string, file: string, line: number, build: Build): void {
    if (k.dir === '' || file.startsWith(`${k.dir}/`)) return;
    build.findings.push(
      finding(
        k.file,
        line,
        'INVALID_RESOURCE',
        `${written} is outside ${k.dir}: kustomize build refuses it by default ("security; file is not in or below"); rendered anyway`,
        'warning',
        'Flux builds with --load-restrictor LoadRestrictionsNone; Argo CD needs kustomize.buildOptions: --load-restrictor LoadRestrictionsNone. Or move the file into a base with its own kustomization.',
      ),
    );
  }

  private reportCycle(k: Kustomization, entry: Entry, chain: string[], build: Build): void {
    const start = chain.indexOf(chain[chain.length - 1] ?? '');
    const loop = chain.slice(start).map((d) => d || '.');
    build.findings.push(
      finding(entry.file ?? k.file, entry.line, 'KUSTOMIZE_CYCLE', `kustomizations include each other: ${loop.join(' → ')}`, 'error', 'Remove one of the references.'),
    );
    build.cacheable = false;
  }

  private reportUnresolvable(k: Kustomization, entry: Entry, what: string, build: Build): void {
    if (looksRemote(entry.value)) {
      build.findings.push(
        finding(entry.file ?? k.file, entry.line, 'REMOTE_RESOURCE', `remote ${what} ${entry.value} cannot be resolved offline; its images are not audited`, 'warning', 'Vendor the remote base into the repository to audit it.'),
      );
      return;
    }
    const path = joinPath(k.dir, entry.value);
    const outside = path.startsWith('..') ? ' (outside the repository)' : '';
    build.findings.push(finding(entry.file ?? k.file, entry.line, 'MISSING_FILE', `${what} ${entry.value} does not exist${outside}`, 'error'));
  }

  /** The resources of a manifest file (List items expanded), sharing the parsed values until a transformer changes them. */
  private loadResources(file: string, build: Build): Resource[] {
    const loaded = loadCached(this.tree, file);
    build.findings.push(...loaded.findings);
    build.files.push(file);
    const resources: Resource[] = [];
    for (const document of loaded.documents) {
      if (!isObject(document.value) || typeof document.value['kind'] !== 'string') {
        build.findings.push(finding(file, document.startLine, 'INVALID_RESOURCE', `document ${document.index + 1} is not a Kubernetes resource (no kind); kustomize build fails`, 'error'));
        continue;
      }
      for (const item of listResources(document)) {
        if (!item.name) {
          build.findings.push(finding(file, item.location.line, 'INVALID_RESOURCE', `${item.kind} without metadata.name; kustomize build fails`, 'error'));
          continue;
        }
        // Read as they are when nothing transforms them; ownValue() copies them (and sets this again) first otherwise.
        const value = item.value as JsonObject;
        setDocumentProvenance(value, file, document, item.path);
        resources.push({ value, file, index: document.index, prevIds: [], shared: { document, path: item.path } });
      }
    }
    return resources;
  }

  private appendResources(build: Build, resources: Resource[], k: Kustomization, entry: Entry): void {
    if (build.capped) return;
    const tally = tallyOf(this.tree);
    if (tally.replaying === 0) tally.count += resources.length;
    if (tally.replaying === 0 && tally.count > MAX_KUSTOMIZE_RESOURCES_PER_RUN) {
      build.findings.push(
        finding(entry.file ?? k.file, entry.line, 'LIMIT_EXCEEDED', `kustomize builds of this tree accumulate more than the cap of ${MAX_KUSTOMIZE_RESOURCES_PER_RUN} resources (MAX_KUSTOMIZE_RESOURCES_PER_RUN); the build of ${k.dir || '.'} and later ones are not audited`, 'error', 'Audit the repository in parts (paths), or include each base once.'),
      );
      build.capped = true;
      build.resources.length = 0;
      return;
    }
    const known = new Set(build.resources.map((r) => idKey(currentId(r.value))));
    for (const resource of resources) {
      const id = currentId(resource.value);
      const key = idKey(id);
      if (known.has(key)) {
        build.findings.push(
          finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', `${describeId(id)} is included twice; kustomize build fails ("may not add resource with an already registered id")`, 'error'),
        );
        continue;
      }
      known.add(key);
      build.resources.push(resource);
    }
  }

  // ─── Patches ───────────────────────────────────────────────────────────

  private loadPatch(k: Kustomization, entry: PatchEntry, build: Build): PatchDocument[] | undefined {
    if (entry.path !== undefined) {
      const file = joinPath(k.dir, entry.path);
      if (file.startsWith('..') || !isFile(this.tree, file)) {
        build.findings.push(finding(entry.file ?? k.file, entry.line, 'MISSING_FILE', `patch ${entry.path} does not exist`, 'error'));
        return undefined;
      }
      this.checkLoadRestriction(k, entry.path, file, entry.line, build);
      const loaded = loadCached(this.tree, file);
      build.findings.push(...loaded.findings);
      build.files.push(file);
      return loaded.documents.map((doc) => ({ value: doc.value, locate: (path) => ({ file, line: doc.lineOf(path) }) }));
    }
    if (entry.patch === undefined) return undefined;
    return this.parseInline(entry.patch.file ?? k.file, entry.patch.text, entry.patch.firstLine, entry.line, build);
  }

  /** Parses YAML written inside another file (an inline patch), with lines of that file. */
  private parseInline(file: string, text: string, firstLine: number, entryLine: number, build: Build): PatchDocument[] {
    const offset = firstLine - 1;
    const loaded = loadYamlDocuments(file, text);
    for (const f of loaded.findings) build.findings.push({ ...f, line: f.line > 0 ? f.line + offset : entryLine });
    return loaded.documents.map((doc: YamlDocument) => ({ value: doc.value, locate: (path) => ({ file, line: doc.lineOf(path) + offset }) }));
  }

  private applyStrategicMergePatches(k: Kustomization, entries: PatchEntry[], build: Build): void {
    for (const entry of entries) {
      const docs = this.loadPatch(k, entry, build);
      if (!docs) continue;
      for (const doc of docs) this.applySmPatchById(k, entry, doc, build);
    }
  }

  private applyPatch(k: Kustomization, entry: PatchEntry, build: Build): void {
    const docs = this.loadPatch(k, entry, build);
    if (!docs || docs.length === 0) return;
    const first = docs[0];
    if (docs.length === 1 && first && Array.isArray(first.value)) {
      const ops = parseJsonPatch(first, k, entry, build);
      if (!ops) return;
      if (!entry.target) {
        build.findings.push(finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', 'a JSON 6902 patch needs a target; kustomize build fails', 'error'));
        return;
      }
      for (const resource of select(build.resources, entry.target)) {
        try {
          const before = currentId(resource.value);
          applyJsonPatch(resource.value, ops, provenance);
          if (!sameId(before, currentId(resource.value))) resource.prevIds.push(before);
        } catch (error) {
          if (!(error instanceof JsonPatchError)) throw error;
          build.findings.push(
            finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', `JSON 6902 patch cannot apply to ${describeId(currentId(resource.value))}: ${error.message}; kustomize build fails`, 'error'),
          );
        }
      }
      return;
    }
    if (entry.field === 'patchesJson6902') {
      build.findings.push(finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', 'patchesJson6902 entry is not a list of operations', 'error'));
      return;
    }
    if (entry.target) {
      if (docs.length > 1) {
        build.findings.push(
          finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', 'several strategic merge patches in one patches entry cannot have a target; kustomize build fails', 'error'),
        );
        return;
      }
      if (!first || !isObject(first.value)) return;
      const patch = first;
      for (const resource of select(build.resources, entry.target)) this.applySmPatch(resource, patch, build);
      return;
    }
    for (const doc of docs) this.applySmPatchById(k, entry, doc, build);
  }

  private applySmPatchById(k: Kustomization, entry: PatchEntry, doc: PatchDocument, build: Build): void {
    if (!isObject(doc.value)) {
      build.findings.push(finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', 'strategic merge patch is not a map', 'error'));
      return;
    }
    const id = currentId(doc.value);
    const matches = build.resources.filter((r) => [...r.prevIds, currentId(r.value)].some((other) => sameId(other, id)));
    if (matches.length !== 1) {
      const why = matches.length === 0 ? 'no resource matches' : `${matches.length} resources match`;
      build.findings.push(
        finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', `${why} strategic merge patch ${describeId(id)}; kustomize build fails`, 'error', 'The patch needs the apiVersion, kind, name and namespace of exactly one resource (before or after name changes).'),
      );
      return;
    }
    const [target] = matches;
    if (target) this.applySmPatch(target, doc, build);
  }

  private applySmPatch(resource: Resource, patch: PatchDocument, build: Build): void {
    if (!isObject(patch.value)) return;
    const { name, namespace } = currentId(resource.value);
    const { apiVersion: _apiVersion, kind: _kind, ...body } = patch.value;
    const keep = mergeMap(resource.value, body, [], { provenance, locate: patch.locate });
    if (!keep) {
      build.resources.splice(build.resources.indexOf(resource), 1);
      return;
    }
    const metadata = metadataOf(resource.value);
    metadata['name'] = name;
    if (namespace) metadata['namespace'] = namespace;
    else delete metadata['namespace'];
  }
}

/** Builtin transformers that change neither images nor workload names and namespaces. */
const IGNORED_TRANSFORMERS = new Set(['LabelTransformer', 'AnnotationsTransformer', 'ReplicaCountTransformer', 'HashTransformer', 'ValueAddTransformer', 'SortOrderTransformer']);
/** Builtin generators that create no workloads. */
const IGNORED_GENERATORS = new Set(['ConfigMapGenerator', 'SecretGenerator']);

/** `spec/template/spec/containers[]/image` → the path of the container list; undefined for other field specs. */
function fieldSpecContainerPath(path: string): string[] | undefined {
  const match = /^(.*)\[\]\/image$/.exec(path);
  if (!match?.[1]) return undefined;
  return match[1].split('/');
}

function selectorOf(value: JsonObject): TargetSelector {
  const target: TargetSelector = {};
  for (const key of ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'] as const) {
    const v = value[key];
    if (typeof v === 'string') target[key] = v;
  }
  return target;
}

/** The first line of a block scalar's content (the line after `key: |`), or the value's own line. */
export function inlineFirstLine(tree: FileTree, location: SourceLocation): number {
  const text = tree.read(location.file)?.toString('utf8').split('\n')[location.line - 1] ?? '';
  return /[|>][-+0-9]*\s*(#.*)?$/.test(text) ? location.line + 1 : location.line;
}

interface PatchDocument {
  value: unknown;
  locate: (path: PathSegment[]) => SourceLocation;
}

function parseJsonPatch(doc: PatchDocument, k: Kustomization, entry: PatchEntry, build: Build): JsonPatchOperation[] | undefined {
  if (!Array.isArray(doc.value)) return undefined;
  const ops: JsonPatchOperation[] = [];
  for (const [i, item] of doc.value.entries()) {
    if (!isObject(item) || typeof item['op'] !== 'string' || typeof item['path'] !== 'string') {
      build.findings.push(finding(doc.locate([i]).file, doc.locate([i]).line, 'INVALID_RESOURCE', `JSON 6902 operation ${i + 1} needs op and path; kustomize build fails`, 'error'));
      return undefined;
    }
    const op: JsonPatchOperation = { op: item['op'], path: item['path'], locate: (path) => doc.locate('value' in item ? [i, 'value', ...path] : [i]) };
    if (typeof item['from'] === 'string') op.from = item['from'];
    if ('value' in item) op.value = item['value'];
    ops.push(op);
  }
  if (ops.length === 0) {
    build.findings.push(finding(entry.file ?? k.file, entry.line, 'INVALID_RESOURCE', 'JSON 6902 patch is empty', 'warning'));
    return undefined;
  }
  return ops;
}

// ─── Output ────────────────────────────────────────────────────────────────

function collectImages(resources: Resource[], defaultNamespace: string | undefined, findings: Finding[]): RenderedContainerImage[] {
  const images: RenderedContainerImage[] = [];
  for (const resource of resources) {
    const id = currentId(resource.value);
    const workload: Workload = { kind: id.kind, name: id.name };
    if (id.namespace) workload.namespace = id.namespace;
    else if (defaultNamespace && !isClusterScoped(id.kind)) workload.namespace = defaultNamespace;
    for (const slot of findContainerImages(resource.value)) {
      const container = valueAt(resource.value, slot.path.slice(0, -1));
      const locations = isObject(container) ? provenance.get(container) : undefined;
      if (typeof slot.image !== 'string') {
        // After patches: a container left without an image (or with a non-string one) cannot run.
        const where = locations?.at(-1) ?? { file: resource.file, line: 0 };
        const what = slot.image === undefined || slot.image === null ? 'has no image' : 'has an image that is not a string';
        findings.push(finding(where.file, where.line, 'INVALID_RESOURCE', `${id.kind} ${id.name}: ${slot.containerList} "${slot.container}" ${what} after kustomize rendering`, 'warning'));
        continue;
      }
      images.push({
        workload: { ...workload },
        container: slot.container,
        written: slot.image,
        locations: locations && locations.length > 0 ? [...locations] : [{ file: resource.file, line: 0 }],
        pod: slot.pod,
      });
    }
  }
  return images;
}

function collectServiceAccounts(resources: Resource[], defaultNamespace: string | undefined): ServiceAccountPullSecrets[] {
  return resources.flatMap((resource) => {
    const found = serviceAccountOf(resource.value, { file: resource.file, line: 0 }, defaultNamespace);
    return found ? [found] : [];
  });
}

// ─── Helpers ───────────────────────────────────────────────────────────────

/** What sameId compares, as a string. */
function idKey(id: ResId): string {
  return `${id.group}/${id.version}/${id.kind}/${effectiveNamespace(id)}/${id.name}`;
}

/**
 * What the cache keeps of a finished build's resource: a copy of a value the build changed (the build's caller goes
 * on changing it), or the shared value itself, which nobody changes.
 */
function cacheResource(resource: Resource): Resource {
  if (resource.shared === undefined) {
    return { ...resource, value: provenance.clone(resource.value), prevIds: resource.prevIds.map((id: ResId) => ({ ...id })), shared: 'build' };
  }
  return { value: resource.value, file: resource.file, index: resource.index, prevIds: resource.prevIds, shared: 'build' };
}

/** A cached resource for one more caller: shared until it is changed, then copied as a cached build is. */
function shareCachedResource(resource: Resource): Resource {
  return { value: resource.value, file: resource.file, index: resource.index, prevIds: resource.prevIds, shared: 'build' };
}

/**
 * Whether this kustomization's transformer stage (accumulate()) may change resources: any patch, name or namespace
 * change, metadata map, image, replacement or transformer plugin. Only lists of resources, components and generators
 * change nothing here (a component's own transformers run in its own accumulate()).
 */
function transformsResources(k: Kustomization): boolean {
  return (
    k.patchesStrategicMerge.length > 0 ||
    k.patches.length > 0 ||
    Boolean(k.namespace) ||
    Boolean(k.namePrefix) ||
    Boolean(k.nameSuffix) ||
    Object.keys(k.labels).length > 0 ||
    Object.keys(k.commonAnnotations).length > 0 ||
    k.patchesJson6902.length > 0 ||
    k.images.length > 0 ||
    k.replacements.length > 0 ||
    k.transformers.length > 0
  );
}

/**
 * Adds what a nested build read and found. Each once: a base reached through several paths (a diamond of
 * overlays) would otherwise double these lists at every level (2^n entries from 2n directories).
 */
function mergeBuildInfo(into: Build, from: Build): void {
  const seen = new Set(into.findings.map(findingKey));
  for (const found of from.findings) {
    const key = findingKey(found);
    if (!seen.has(key)) {
      seen.add(key);
      into.findings.push(found);
    }
  }
  appendNew(into.dirs, from.dirs);
  appendNew(into.files, from.files);
  if (!from.cacheable) into.cacheable = false;
}

function findingKey(found: Finding): string {
  return `${found.file}\0${found.line}\0${found.code}\0${found.message}`;
}

function appendNew(into: string[], values: readonly string[]): void {
  const seen = new Set(into);
  for (const value of values) {
    if (!seen.has(value)) {
      seen.add(value);
      into.push(value);
    }
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.file}\0${f.line}\0${f.code}\0${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
