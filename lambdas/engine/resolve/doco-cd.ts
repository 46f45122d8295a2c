/**
 * doco-cd (github.com/kimdre/doco-cd), a GitOps deployer for docker compose: its deployment configs
 * (`.doco-cd.yaml`/`.yml`, `.doco-cd.<target>.yaml`/`.yml` for a custom target, several YAML documents
 * for several stacks) say which compose files are deployed, as which stack.
 *
 * Read as doco-cd reads them: `working_dir` is relative to the repository root (default `.`);
 * `compose_files` are relative to it (default compose.yaml, compose.yml, docker-compose.yml,
 * docker-compose.yaml: the ones that exist; listed files must all exist); `auto_discovery` (true, or
 * `{ enabled, depth }`; the older `auto_discover` + `auto_discover_opts.depth` too) makes every directory
 * at or below `working_dir` holding one of those files a stack named after the directory, with a
 * `.doco-cd.y(a)ml` in that directory overriding its settings (one document); several files are merged
 * in order (a later file's `image:` for a service wins); services whose `profiles:` are not enabled
 * are not started; `environment` feeds compose interpolation; `reference` is the branch or tag deployed
 * (read through RevisionPolicy like a targetRevision; none = the default branch, as `HEAD`: doco-cd deploys
 * the ref that triggers it, `refs/heads/main` by default);
 * `repository_url` (unless the audited repository's URLs are known and include it) and `source: oci` are not
 * in this repository.
 *
 * Configs are read at the repository root and, for DEPLOY_CONFIG_BASE_DIR setups, in any directory, except
 * the per-directory overrides auto-discovery consumes. Not read: `env_files` (.env files are not loaded
 * by the sources), inline poll-config deployments (they live in the doco-cd server's config), `extends:`
 * and `include:` of compose files.
 */
import type { AppRef, SourceLocation } from '../model.js';
import { extractComposeImages } from '../extractors/compose/index.js';
import { isRecord } from '../extractors/types.js';
import type { YamlDocument } from '../yaml/index.js';
import type { RenderedImage } from './attribution.js';
import { emitterFor, emptyRender, type Emit, type RenderResult } from './context.js';
import { siteToImage } from './directory.js';
import { stripRefPrefix } from './revisions.js';
import type { ResolveRun } from './run.js';
import { dirname, join, normalisePath, type Workspace } from './workspace.js';

/** doco-cd's default `compose_files` (compose-go's default file names, in its order). */
export const DOCO_CD_DEFAULT_COMPOSE_FILES: readonly string[] = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

const CONFIG_FILE = /(?:^|\/)\.doco-cd(?:\.[^/]+)?\.ya?ml$/;
const OVERRIDE_NAMES = ['.doco-cd.yaml', '.doco-cd.yml'];

export function isDocoCdConfig(file: string): boolean {
  return CONFIG_FILE.test(file);
}

/** The settings of one deployment (a YAML document of a config, or a stack auto-discovery made of it). */
interface DeploySettings {
  name?: string | undefined;
  workingDir: string;
  composeFiles: string[];
  /** `compose_files` was written (then every listed file must exist). */
  explicitFiles: boolean;
  environment: Record<string, string>;
  profiles: string[];
  reference?: string | undefined;
  repositoryUrl?: string | undefined;
  source?: string | undefined;
  autoDiscovery?: { depth: number } | undefined;
}

/** Where a setting is written, for findings and provenance. */
interface Written {
  doc: YamlDocument;
  emit: Emit;
}

/** Resolves every doco-cd config of the audited tree into one app per stack. */
export async function resolveDocoCdConfigs(
  run: ResolveRun,
  ws: Workspace,
  files: readonly string[],
  /** The audit scope (`paths`): stacks outside it are not reported, but their files still count as deployed. */
  inScope: (path: string) => boolean = () => true,
): Promise<void> {
  const consumed = new Set<string>();
  // Root configs first, so that the per-directory overrides their auto-discovery reads are not taken for configs.
  const ordered = [...files].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
  for (const file of ordered) {
    if (consumed.has(file)) continue;
    const names = new Map<string, SourceLocation>();
    for (const doc of ws.documents(file)) {
      const written: Written = { doc, emit: emitterFor(file, (path) => doc.lineOf(path), run.findings) };
      const settings = parseSettings(doc.value, written);
      if (!settings) continue;
      for (const stack of await stacksOf(run, ws, settings, written, consumed)) {
        const seen = names.get(stack.settings.name ?? '');
        if (seen) {
          written.emit('INVALID_RESOURCE', ['name'], 'error', `doco-cd: stack name ${stack.settings.name} appears twice in ${file} (also at line ${seen.line}); doco-cd rejects the whole file`);
        } else names.set(stack.settings.name ?? '', { file, line: doc.lineOf(['name']) });
        resolveStack(run, stack, inScope);
      }
    }
  }
}

interface Stack {
  settings: DeploySettings;
  ws: Workspace;
  written: Written;
  assumed?: string | undefined;
  /** The override file that changed this discovered stack's settings, if any. */
  override?: string | undefined;
}

/** The stacks one deployment document stands for: itself, or what auto-discovery finds below its working_dir. */
async function stacksOf(run: ResolveRun, audited: Workspace, settings: DeploySettings, written: Written, consumed: Set<string>): Promise<Stack[]> {
  const { emit } = written;
  const label = settings.name !== undefined ? `doco-cd stack ${settings.name}` : `doco-cd auto-discovery in ${settings.workingDir || '.'}`;
  if (settings.source !== undefined && settings.source !== 'git') {
    emit('UNRESOLVED_APP', ['source'], 'warning', `${label} deploys from an ${settings.source} artifact, not from this repository; its images are not audited`);
    return [];
  }
  // doco-cd users write repository_url to deploy another repository: unless the audited repository's URLs
  // are known and name it, it is not read from this tree (one REMOTE_RESOURCE per repository).
  if (settings.repositoryUrl !== undefined && settings.repositoryUrl !== '' && !(run.identity.known && run.isSelf(settings.repositoryUrl))) {
    run.readsOtherRepository(settings.repositoryUrl, settings.name ?? label, { file: written.doc.file, line: written.doc.lineOf(['repository_url']) });
    return [];
  }
  // The working directory counts as pointed at even when its revision cannot be read.
  run.referencedDirs.add(settings.workingDir);
  const reference = settings.reference !== undefined ? stripRefPrefix(settings.reference) : '';
  const target = await run.target(reference, {
    emit,
    at: ['reference'],
    where: { file: written.doc.file, line: written.doc.lineOf(settings.reference !== undefined ? ['reference'] : []) },
    what: `${label}'s desired state`,
    app: settings.name ?? label,
    controller: 'doco-cd',
  });
  if (!target) return [];
  const { ws, assumed } = target;
  if (!settings.autoDiscovery) return [{ settings, ws, written, assumed }];

  const root = settings.workingDir;
  if (root !== '' && !ws.isDirectory(root)) {
    emit('MISSING_FILE', ['working_dir'], assumed === undefined ? 'error' : 'info', `${label}: working_dir ${root} is not in the repository${ws.revision ? ` at ${ws.revision}` : ''}`);
    return [];
  }
  const depthOf = (dir: string) => (dir === root ? 0 : dir.slice(root === '' ? 0 : root.length + 1).split('/').length);
  const dirs = new Set<string>();
  for (const file of ws.filesBelow(root)) {
    const dir = dirname(file);
    const name = file.slice(dir === '' ? 0 : dir.length + 1);
    if (!settings.composeFiles.includes(name)) continue;
    // depth 0 is no limit; deeper directories are not walked.
    if (settings.autoDiscovery.depth > 0 && depthOf(dir) > settings.autoDiscovery.depth) continue;
    dirs.add(dir);
  }
  if (dirs.size === 0) {
    run.notes.push(`${written.doc.file}: ${label} finds no compose file (${settings.composeFiles.join(', ')}) below ${root || '.'}; it deploys nothing`);
  }
  const stacks: Stack[] = [];
  for (const dir of [...dirs].sort()) {
    const base = dir === '' ? (settings.name ?? repositoryName(ws)) : dir.slice(dir.lastIndexOf('/') + 1);
    let stack: DeploySettings = { ...settings, name: base, workingDir: dir, explicitFiles: false, autoDiscovery: undefined };
    let override: string | undefined;
    const overrideFile = OVERRIDE_NAMES.map((name) => join(dir, name)).find((file) => ws.has(file));
    // The directory's own config overrides the discovered settings (the root config is not its own override).
    if (overrideFile !== undefined && overrideFile !== written.doc.file) {
      consumed.add(overrideFile);
      const docs = ws.documents(overrideFile);
      const first = docs[0];
      if (docs.length > 1 && first) {
        emitterFor(overrideFile, () => 0, run.findings)('INVALID_RESOURCE', [], 'error', `doco-cd: ${overrideFile} overrides an auto-discovered stack and must hold one YAML document (it holds ${docs.length}); doco-cd rejects it`);
        continue;
      }
      if (first) {
        const overrideWritten: Written = { doc: first, emit: emitterFor(overrideFile, (path) => first.lineOf(path), run.findings) };
        stack = mergeOverride(stack, first.value, dir);
        override = overrideFile;
        stacks.push({ settings: stack, ws, written: overrideWritten, assumed, override });
        continue;
      }
    }
    stacks.push({ settings: stack, ws, written, assumed, override });
  }
  return stacks;
}

function resolveStack(run: ResolveRun, stack: Stack, inScope: (path: string) => boolean): void {
  const { settings, ws, written } = stack;
  const name = settings.name ?? settings.workingDir;
  const render = composeRender(run, ws, settings, written);
  if (!inScope(settings.workingDir) && !render.files.some(inScope)) {
    for (const file of render.files) run.coveredFiles.add(file);
    return;
  }
  const app: AppRef = {
    name,
    kind: 'doco-cd',
    path: settings.workingDir,
    definedAt: { file: written.doc.file, line: written.doc.lineOf(['name']) },
  };
  if (stack.assumed !== undefined) {
    app.revision = stack.assumed;
    app.revisionAssumed = true;
  } else if (ws.revision !== undefined) app.revision = ws.revision;
  run.addRender(app, render, undefined, ws === run.audited);
}

/** The images a stack's compose files give, merged in order; services whose profiles are not enabled are left out. */
function composeRender(run: ResolveRun, ws: Workspace, settings: DeploySettings, written: Written): RenderResult {
  const render = emptyRender();
  const label = `doco-cd stack ${settings.name ?? settings.workingDir}`;
  const listed = settings.composeFiles.map((file) => normalisePath(file, settings.workingDir));
  const files: string[] = [];
  // The files the stack names are pointed at even when the stack fails: they are not unreferenced units.
  render.files.push(...listed.filter((file): file is string => file !== undefined && ws.has(file)));
  for (const [index, file] of listed.entries()) {
    if (file === undefined) {
      written.emit('INVALID_RESOURCE', ['compose_files', index], 'error', `${label}: compose file ${settings.composeFiles[index]} leaves working_dir; doco-cd rejects it`);
      return render;
    }
    if (ws.has(file)) files.push(file);
    else if (settings.explicitFiles) {
      // doco-cd fails the deployment when a listed file is missing: nothing of this stack is deployed.
      written.emit('MISSING_FILE', ['compose_files', index], 'error', `${label}: compose file ${file} is not in the repository${ws.revision ? ` at ${ws.revision}` : ''}; doco-cd cannot deploy the stack`);
      return render;
    }
  }
  if (files.length === 0) {
    written.emit('MISSING_FILE', ['working_dir'], 'error', `${label}: no compose file (${settings.composeFiles.join(', ')}) in ${settings.workingDir || '.'}; doco-cd cannot deploy the stack`);
    return render;
  }
  const byService = new Map<string, RenderedImage>();
  for (const file of files) {
    for (const doc of ws.documents(file)) {
      const extracted = extractComposeImages(doc, { env: settings.environment });
      render.findings.push(...extracted.findings);
      for (const note of extracted.notes ?? []) run.notes.push(note);
      for (const site of extracted.sites) {
        const service = site.workload.name;
        const profiles = serviceProfiles(doc.value, service);
        if (profiles.length > 0 && !profiles.some((profile) => settings.profiles.includes(profile))) {
          run.notes.push(`${file}: compose service "${service}" only runs with profile ${profiles.join(' or ')}, which ${label} does not enable; not checked`);
          byService.delete(service);
          continue;
        }
        const image = siteToImage(site);
        const earlier = byService.get(service);
        // A later file's image replaces the earlier one (compose merge); both lines decided it.
        if (earlier) image.locations = [...earlier.locations, ...image.locations];
        byService.set(service, image);
      }
    }
  }
  render.images.push(...byService.values());
  return render;
}

function serviceProfiles(root: unknown, service: string): string[] {
  if (!isRecord(root) || !isRecord(root['services'])) return [];
  const definition = root['services'][service];
  if (!isRecord(definition) || !Array.isArray(definition['profiles'])) return [];
  return definition['profiles'].filter((profile): profile is string => typeof profile === 'string');
}

/** One deployment document's settings with doco-cd's defaults; undefined (after a finding) when doco-cd rejects it. */
function parseSettings(value: unknown, written: Written): DeploySettings | undefined {
  const { emit } = written;
  if (value === null || value === undefined) return undefined;
  if (!isRecord(value)) {
    emit('INVALID_RESOURCE', [], 'error', `doco-cd: ${written.doc.file} holds a document that is not a mapping; doco-cd rejects the file`);
    return undefined;
  }
  const text = (key: string): string | undefined => {
    const field = value[key];
    if (field === undefined || field === null) return undefined;
    if (typeof field === 'string') return field;
    if (typeof field === 'number' || typeof field === 'boolean') return String(field);
    emit('INVALID_RESOURCE', [key], 'error', `doco-cd: ${key} must be a string`);
    return undefined;
  };
  const list = (key: string): string[] | undefined => {
    const field = value[key];
    if (field === undefined || field === null) return undefined;
    if (Array.isArray(field) && field.every((entry) => typeof entry === 'string')) return field;
    emit('INVALID_RESOURCE', [key], 'error', `doco-cd: ${key} must be a list of strings`);
    return undefined;
  };
  const autoDiscovery = readAutoDiscovery(value);
  const name = text('name');
  if ((name === undefined || name === '') && !autoDiscovery) {
    emit('INVALID_RESOURCE', [], 'error', 'doco-cd: a deployment needs a name (or auto_discovery); doco-cd rejects the file');
    return undefined;
  }
  const workingDirText = text('working_dir') ?? '.';
  const workingDir = normalisePath(workingDirText);
  if (workingDir === undefined) {
    emit('INVALID_RESOURCE', ['working_dir'], 'error', `doco-cd: working_dir ${workingDirText} leaves the repository`);
    return undefined;
  }
  const composeFiles = list('compose_files');
  if (composeFiles !== undefined && composeFiles.length === 0) {
    emit('INVALID_RESOURCE', ['compose_files'], 'error', 'doco-cd: compose_files is empty; doco-cd rejects the file');
    return undefined;
  }
  const environment: Record<string, string> = {};
  if (isRecord(value['environment'])) {
    for (const [key, entry] of Object.entries(value['environment'])) {
      if (typeof entry === 'string' || typeof entry === 'number' || typeof entry === 'boolean') environment[key] = String(entry);
    }
  }
  return {
    name: name === '' ? undefined : name,
    workingDir,
    composeFiles: composeFiles ?? [...DOCO_CD_DEFAULT_COMPOSE_FILES],
    explicitFiles: composeFiles !== undefined,
    environment,
    profiles: list('profiles') ?? [],
    reference: text('reference'),
    repositoryUrl: text('repository_url'),
    source: text('source'),
    autoDiscovery,
  };
}

/** `auto_discovery: true | { enabled, depth }`, or the releases before May 2026: `auto_discover: true` + `auto_discover_opts.depth`. */
function readAutoDiscovery(value: Record<string, unknown>): { depth: number } | undefined {
  const current = value['auto_discovery'];
  const depthOf = (options: unknown) => (isRecord(options) && typeof options['depth'] === 'number' && options['depth'] > 0 ? Math.floor(options['depth']) : 0);
  if (current === true) return { depth: 0 };
  if (isRecord(current) && current['enabled'] === true) return { depth: depthOf(current) };
  if (value['auto_discover'] === true) return { depth: depthOf(value['auto_discover_opts']) };
  return undefined;
}

/** doco-cd's override merge for a discovered stack: non-empty scalars and lists replace, maps merge by key. */
function mergeOverride(base: DeploySettings, value: unknown, dir: string): DeploySettings {
  if (!isRecord(value)) return base;
  const merged: DeploySettings = { ...base, environment: { ...base.environment } };
  if (typeof value['name'] === 'string' && value['name'] !== '') merged.name = value['name'];
  if (typeof value['working_dir'] === 'string' && value['working_dir'] !== '') merged.workingDir = normalisePath(value['working_dir']) ?? dir;
  const files = value['compose_files'];
  if (Array.isArray(files) && files.length > 0 && files.every((file) => typeof file === 'string')) {
    merged.composeFiles = files;
    merged.explicitFiles = true;
  }
  const profiles = value['profiles'];
  if (Array.isArray(profiles) && profiles.length > 0) merged.profiles = profiles.filter((profile): profile is string => typeof profile === 'string');
  if (isRecord(value['environment'])) {
    for (const [key, entry] of Object.entries(value['environment'])) {
      if (typeof entry === 'string' || typeof entry === 'number' || typeof entry === 'boolean') merged.environment[key] = String(entry);
    }
  }
  return merged;
}

/** The repository's name as doco-cd sees it (the clone's directory): the last segment of the source location. */
function repositoryName(ws: Workspace): string {
  const location = ws.tree.description.location.replace(/\.git$/, '').replace(/[/\\]+$/, '');
  return location.slice(Math.max(location.lastIndexOf('/'), location.lastIndexOf('\\')) + 1) || '.';
}
