/**
 * ApplicationSet generators that can be evaluated from the repository alone: list, git (directories
 * and files), matrix and merge. Each yields parameter sets in the shape the template syntax expects:
 * flat string maps for fasttemplate, nested objects for Go templates.
 * Generators that need a live cluster or an SCM API are reported as UNSUPPORTED_GENERATOR.
 */
import type { FileTree } from '../../model.js';
import type { Emit, Locate, YamlPath } from '../context.js';
import { globToRegExp } from '../glob.js';
import { isRecord, renderFast, renderGo, renderValue } from './template.js';

export interface ParamSet {
  params: Record<string, unknown>;
  /** A generator-level `template` that overrides the ApplicationSet's template for these params. */
  template?: Record<string, unknown>;
}

export interface GeneratorContext {
  goTemplate: boolean;
  file: string;
  locate: Locate;
  emit: Emit;
  /** The tree a git generator reads, or undefined after emitting a finding (remote repo, missing revision). */
  treeFor(repoURL: unknown, revision: unknown, at: YamlPath): Promise<FileTree | undefined>;
  /** Parses a git-files generator file (JSON or YAML); undefined after emitting a finding. */
  readData(tree: FileTree, path: string): unknown[] | undefined;
  /** Parameter sets one ApplicationSet may generate (default MAX_GENERATED_APPS_PER_APPLICATIONSET). */
  maxParamSets?: number;
}

const UNSUPPORTED: Readonly<Record<string, string>> = {
  clusters: 'reads the clusters registered in Argo CD',
  clusterDecisionResource: 'reads a custom resource from the cluster',
  scmProvider: 'lists repositories through an SCM API',
  pullRequest: 'lists pull requests through an SCM API',
  plugin: 'calls a generator plugin service',
};

/** Evaluates one generator; undefined when it cannot be evaluated (a finding says why). */
export async function runGenerator(
  generator: unknown,
  at: YamlPath,
  ctx: GeneratorContext,
): Promise<ParamSet[] | undefined> {
  if (!isRecord(generator)) {
    ctx.emit('INVALID_RESOURCE', at, 'error', 'generator is not a mapping');
    return undefined;
  }
  const keys = Object.keys(generator).filter((key) => key !== 'selector');
  const kind = keys[0];
  if (kind === undefined || keys.length !== 1) {
    ctx.emit('INVALID_RESOURCE', at, 'error', `generator must have exactly one type, found ${keys.join(', ') || 'none'}`);
    return undefined;
  }
  const spec = generator[kind];
  const here = [...at, kind];
  let sets: ParamSet[] | undefined;
  if (kind in UNSUPPORTED) {
    ctx.emit(
      'UNSUPPORTED_GENERATOR',
      here,
      'warning',
      `${kind} generator ${UNSUPPORTED[kind]}; the Applications it would generate are not audited`,
      'Audit those Applications another way, or add a list generator with the same parameters for the audit.',
    );
    return undefined;
  } else if (!isRecord(spec)) {
    ctx.emit('INVALID_RESOURCE', here, 'error', `${kind} generator is not a mapping`);
    return undefined;
  } else if (kind === 'list') {
    sets = listGenerator(spec, here, ctx);
  } else if (kind === 'git') {
    sets = await gitGenerator(spec, here, ctx);
  } else if (kind === 'matrix') {
    sets = await matrixGenerator(spec, here, ctx);
  } else if (kind === 'merge') {
    sets = await mergeGenerator(spec, here, ctx);
  } else {
    ctx.emit('UNSUPPORTED_GENERATOR', here, 'warning', `unknown generator type "${kind}"; not evaluated`);
    return undefined;
  }
  if (sets === undefined) return undefined;
  if (sets.length > paramSetCap(ctx)) {
    emitGeneratorCap(ctx, here, `${kind} generator`);
    return undefined;
  }
  const template = isRecord(spec) && isRecord(spec.template) ? spec.template : undefined;
  const withTemplate = template ? sets.map((set) => ({ ...set, template: set.template ?? template })) : sets;
  return applySelector(withTemplate, generator.selector, ctx);
}

function listGenerator(spec: Record<string, unknown>, at: YamlPath, ctx: GeneratorContext): ParamSet[] | undefined {
  const elements: unknown[] = Array.isArray(spec.elements) ? spec.elements : [];
  if (typeof spec.elementsYaml === 'string') {
    ctx.emit('UNSUPPORTED_GENERATOR', [...at, 'elementsYaml'], 'warning', 'list generator elementsYaml is not evaluated');
  }
  const sets: ParamSet[] = [];
  // Past the cap runGenerator refuses the whole list: flattening the rest would be wasted work.
  elements.slice(0, paramSetCap(ctx) + 1).forEach((element, index) => {
    if (!isRecord(element)) {
      ctx.emit('INVALID_RESOURCE', [...at, 'elements', index], 'error', 'list generator element is not a mapping');
      return;
    }
    sets.push({ params: ctx.goTemplate ? { ...element } : flatten(element) });
  });
  return sets;
}

async function gitGenerator(
  spec: Record<string, unknown>,
  at: YamlPath,
  ctx: GeneratorContext,
): Promise<ParamSet[] | undefined> {
  const tree = await ctx.treeFor(spec.repoURL, spec.revision, at);
  if (!tree) return undefined;
  const prefix = typeof spec.pathParamPrefix === 'string' && spec.pathParamPrefix !== '' ? spec.pathParamPrefix : undefined;
  let sets: ParamSet[] = [];
  if (Array.isArray(spec.directories)) {
    const include: RegExp[] = [];
    const exclude: RegExp[] = [];
    for (const entry of spec.directories) {
      if (!isRecord(entry) || typeof entry.path !== 'string') continue;
      (entry.exclude === true ? exclude : include).push(globToRegExp(entry.path.replace(/^\.?\/+/, '')));
    }
    for (const dir of listDirectories(tree)) {
      if (include.some((re) => re.test(dir)) && !exclude.some((re) => re.test(dir))) {
        sets.push({ params: pathParams(dir, undefined, prefix, ctx.goTemplate) });
      }
    }
  } else if (Array.isArray(spec.files)) {
    for (const entry of spec.files) {
      if (!isRecord(entry) || typeof entry.path !== 'string') continue;
      const re = globToRegExp(entry.path.replace(/^\.?\/+/, ''));
      for (const file of tree.paths()) {
        if (!re.test(file)) continue;
        for (const data of ctx.readData(tree, file) ?? []) {
          if (!isRecord(data)) continue;
          const base = ctx.goTemplate ? { ...data } : flatten(data);
          sets.push({ params: { ...base, ...pathParams(dirname(file), file, prefix, ctx.goTemplate) } });
        }
      }
    }
  } else {
    ctx.emit('INVALID_RESOURCE', at, 'error', 'git generator has neither directories nor files');
    return undefined;
  }
  if (isRecord(spec.values)) {
    const values = spec.values;
    sets = sets.map((set) => ({ params: withValues(set.params, values, ctx.goTemplate) }));
  }
  return sets;
}

/**
 * SECURITY: a 10 KB ApplicationSet of nested matrices (100×100×100) would generate a million Applications, and a
 * list or git generator can yield as many as the file or tree holds. Past this many parameter sets, any generator
 * (list, git, matrix, merge) stops with a LIMIT_EXCEEDED finding and its ApplicationSet generates nothing; the same
 * cap holds for the sum of an ApplicationSet's generators (applicationset.ts). docs/security.md.
 */
export const MAX_GENERATED_APPS_PER_APPLICATIONSET = 1_000;
/** Applications all ApplicationSets of one run may generate together (app-of-apps included); see resolve.ts. */
export const MAX_GENERATED_APPS_PER_RUN = 10_000;

function paramSetCap(ctx: GeneratorContext): number {
  return ctx.maxParamSets ?? MAX_GENERATED_APPS_PER_APPLICATIONSET;
}

/** The LIMIT_EXCEEDED finding of the per-ApplicationSet cap, naming it; callers then generate nothing. */
export function emitGeneratorCap(ctx: Pick<GeneratorContext, 'emit' | 'maxParamSets'>, at: YamlPath, what: string): void {
  const cap = ctx.maxParamSets ?? MAX_GENERATED_APPS_PER_APPLICATIONSET;
  ctx.emit(
    'LIMIT_EXCEEDED',
    at,
    'error',
    `${what} yields more than the cap of ${cap} Applications per ApplicationSet (MAX_GENERATED_APPS_PER_APPLICATIONSET); none of them are audited`,
    'Split the ApplicationSet, or narrow its generators.',
  );
}

async function matrixGenerator(
  spec: Record<string, unknown>,
  at: YamlPath,
  ctx: GeneratorContext,
): Promise<ParamSet[] | undefined> {
  const children = Array.isArray(spec.generators) ? spec.generators : [];
  if (children.length !== 2) {
    ctx.emit('INVALID_RESOURCE', [...at, 'generators'], 'error', `matrix generator needs exactly 2 generators, found ${children.length}`);
    return undefined;
  }
  const first = await runGenerator(children[0], [...at, 'generators', 0], ctx);
  if (!first) return undefined;
  const out: ParamSet[] = [];
  for (const left of first) {
    // The second generator may use the first one's parameters (e.g. a git path built from a list element).
    const render = renderer(left.params, ctx.goTemplate);
    const second = await runGenerator(renderValue(children[1], render), [...at, 'generators', 1], ctx);
    if (!second) return undefined;
    if (out.length + second.length > paramSetCap(ctx)) {
      emitGeneratorCap(ctx, at, 'matrix generator');
      return undefined;
    }
    for (const right of second) {
      const template = right.template ?? left.template;
      out.push({ params: combine(left.params, right.params, ctx.goTemplate), ...(template ? { template } : {}) });
    }
  }
  return out;
}

async function mergeGenerator(
  spec: Record<string, unknown>,
  at: YamlPath,
  ctx: GeneratorContext,
): Promise<ParamSet[] | undefined> {
  const keys = Array.isArray(spec.mergeKeys) ? spec.mergeKeys.filter((key) => typeof key === 'string') : [];
  const children = Array.isArray(spec.generators) ? spec.generators : [];
  if (keys.length === 0 || children.length < 1) {
    ctx.emit('INVALID_RESOURCE', at, 'error', 'merge generator needs mergeKeys and at least one generator');
    return undefined;
  }
  const results: ParamSet[][] = [];
  for (let index = 0; index < children.length; index++) {
    const sets = await runGenerator(children[index], [...at, 'generators', index], ctx);
    if (!sets) return undefined;
    results.push(sets);
  }
  const keyOf = (params: Record<string, unknown>): string =>
    JSON.stringify(keys.map((key) => lookup(params, key, ctx.goTemplate)));
  const [base = [], ...others] = results;
  // Indexed by merge key: comparing every pair is quadratic (1,000 × 1,000 sets per pair of generators).
  const indexes = others.map((other) => {
    const byKey = new Map<string, ParamSet[]>();
    for (const candidate of other) {
      const key = keyOf(candidate.params);
      const list = byKey.get(key);
      if (list) list.push(candidate);
      else byKey.set(key, [candidate]);
    }
    return byKey;
  });
  return base.map((set) => {
    let params = set.params;
    // Merging a candidate of the same key keeps the key: one lookup per generator is enough.
    const key = keyOf(params);
    for (const index of indexes) {
      for (const candidate of index.get(key) ?? []) params = combine(params, candidate.params, ctx.goTemplate);
    }
    return { ...set, params };
  });
}

function applySelector(sets: ParamSet[], selector: unknown, ctx: GeneratorContext): ParamSet[] {
  if (!isRecord(selector) || !isRecord(selector.matchLabels)) return sets;
  const labels = Object.entries(selector.matchLabels);
  return sets.filter((set) => labels.every(([key, value]) => lookup(set.params, key, ctx.goTemplate) === String(value)));
}

// ─── parameters ─────────────────────────────────────────────────────────────

export function renderer(params: Record<string, unknown>, goTemplate: boolean): (text: string) => string {
  if (goTemplate) return (text) => renderGo(text, params);
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) flat[key] = typeof value === 'string' ? value : String(value);
  return (text) => renderFast(text, flat);
}

function pathParams(
  dir: string,
  file: string | undefined,
  prefix: string | undefined,
  goTemplate: boolean,
): Record<string, unknown> {
  const segments = dir === '' ? [] : dir.split('/');
  const basename = segments[segments.length - 1] ?? '';
  const filename = file?.split('/').pop();
  if (goTemplate) {
    const path: Record<string, unknown> = {
      path: dir,
      basename,
      basenameNormalized: normalizeName(basename),
      segments,
      ...(filename !== undefined ? { filename, filenameNormalized: normalizeName(filename) } : {}),
    };
    return prefix ? { [prefix]: { path } } : { path };
  }
  const key = prefix ? `${prefix}.path` : 'path';
  const out: Record<string, string> = {
    [key]: dir,
    [`${key}.basename`]: basename,
    [`${key}.basenameNormalized`]: normalizeName(basename),
  };
  if (filename !== undefined) {
    out[`${key}.filename`] = filename;
    out[`${key}.filenameNormalized`] = normalizeName(filename);
  }
  segments.forEach((segment, index) => (out[`${key}[${index}]`] = segment));
  return out;
}

function withValues(params: Record<string, unknown>, values: Record<string, unknown>, goTemplate: boolean) {
  const render = renderer(params, goTemplate);
  const rendered: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) rendered[key] = render(typeof value === 'string' ? value : String(value));
  if (goTemplate) return { ...params, values: rendered };
  const out: Record<string, unknown> = { ...params };
  for (const [key, value] of Object.entries(rendered)) out[`values.${key}`] = value;
  return out;
}

/** Flattens nested data into dotted keys, the way Argo CD does for fasttemplate parameters. */
export function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [key, item] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isRecord(item)) flatten(item, name, out);
    else if (Array.isArray(item)) item.forEach((entry, index) => {
      if (isRecord(entry)) flatten(entry, `${name}.${index}`, out);
      else out[`${name}.${index}`] = String(entry);
    });
    else out[name] = item === null || item === undefined ? '' : String(item);
  }
  return out;
}

function combine(left: Record<string, unknown>, right: Record<string, unknown>, goTemplate: boolean) {
  return goTemplate ? deepMerge(left, right) : { ...left, ...right };
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function lookup(params: Record<string, unknown>, key: string, goTemplate: boolean): string | undefined {
  if (!goTemplate) {
    const value = params[key];
    return value === undefined ? undefined : String(value);
  }
  let current: unknown = params;
  for (const part of key.split('.')) current = isRecord(current) ? current[part] : undefined;
  return current === undefined ? undefined : String(current);
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
}

function dirname(path: string): string {
  const index = path.lastIndexOf('/');
  return index < 0 ? '' : path.slice(0, index);
}

function listDirectories(tree: FileTree): string[] {
  const dirs = new Set<string>();
  for (const file of tree.paths()) {
    let dir = dirname(file);
    while (dir !== '' && !dirs.has(dir)) {
      dirs.add(dir);
      dir = dirname(dir);
    }
  }
  return [...dirs].sort();
}
