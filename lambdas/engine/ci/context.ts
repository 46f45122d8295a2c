/**
 * What a workflow run knows when it writes an image reference: the refs its `on:` triggers allow,
 * `env:`, the matrix, reusable-workflow inputs, earlier steps' outputs; and the evaluation of
 * `${{ … }}` expressions against it. Whatever we cannot evaluate becomes an unknown hole.
 */
import { HOLES, anyValue, concat, githubGlobRegex, oneOf, text, type Hole, type Pattern } from './pattern.js';

/** The refs a workflow can run on, as its `on:` triggers bound them. `null`: never runs on such a ref. */
export interface RefBounds {
  /** Branch-name globs; `'any'` when some trigger allows any branch. */
  branches: readonly string[] | 'any' | null;
  /** Git tag globs; `'any'` when some trigger allows any tag. */
  tags: readonly string[] | 'any' | null;
  pullRequests: boolean;
  /** Runs on `schedule` (docker/metadata-action `type=schedule` tags only exist then). */
  schedule: boolean;
  /** The events that start the workflow, when `on:` lists them (`enable=` conditions on `github.event_name`). */
  events?: readonly string[];
}

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);
/** Events whose ref is not bounded by the workflow file: dispatches, releases, calls from other workflows. */
const REF_UNBOUNDED_EVENTS = new Set(['workflow_dispatch', 'repository_dispatch', 'workflow_run', 'workflow_call', 'release', 'create', 'deployment', 'registry_package']);

/** Reads `on:` (string, list or map). Anything unrecognised widens the bounds rather than narrowing them. */
export function refBoundsOf(on: unknown): RefBounds {
  const bounds: { branches: string[] | 'any' | null; tags: string[] | 'any' | null; pullRequests: boolean; schedule: boolean; events?: string[] } = {
    branches: null,
    tags: null,
    pullRequests: false,
    schedule: false,
  };
  const widen = (kind: 'branches' | 'tags', globs: string[] | 'any') => {
    const current = bounds[kind];
    if (current === 'any' || globs === 'any') bounds[kind] = 'any';
    else bounds[kind] = [...(current ?? []), ...globs];
  };
  const events: Array<[string, unknown]> =
    typeof on === 'string'
      ? [[on, null]]
      : Array.isArray(on)
        ? on.filter((e): e is string => typeof e === 'string').map((e) => [e, null])
        : isRecord(on)
          ? Object.entries(on)
          : [];
  if (events.length === 0) return { branches: 'any', tags: 'any', pullRequests: true, schedule: true };
  bounds.events = events.map(([event]) => event);
  for (const [event, config] of events) {
    if (event === 'push') {
      const filters = isRecord(config) ? config : {};
      const branches = globList(filters['branches']);
      const tags = globList(filters['tags']);
      const hasBranchFilter = 'branches' in filters || 'branches-ignore' in filters;
      const hasTagFilter = 'tags' in filters || 'tags-ignore' in filters;
      // GitHub: a push filter on branches only never runs for tags, and the other way round.
      if (!hasBranchFilter && !hasTagFilter) {
        widen('branches', 'any');
        widen('tags', 'any');
        continue;
      }
      if (hasBranchFilter) widen('branches', 'branches-ignore' in filters || branches === undefined ? 'any' : branches);
      if (hasTagFilter) widen('tags', 'tags-ignore' in filters || tags === undefined ? 'any' : tags);
    } else if (PULL_REQUEST_EVENTS.has(event)) {
      bounds.pullRequests = true;
    } else if (event === 'schedule') {
      bounds.schedule = true;
      widen('branches', 'any'); // the default branch, whose name the workflow does not say
    } else if (REF_UNBOUNDED_EVENTS.has(event) || event === 'merge_group') {
      widen('branches', 'any');
      widen('tags', 'any');
    }
    // Other events (issues, check_run...) run on the default branch: covered by 'any' only if listed above.
    else widen('branches', 'any');
  }
  return bounds;
}

function globList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return undefined;
  const globs = value.filter((v): v is string => typeof v === 'string' || typeof v === 'number').map(String);
  // Negations only remove refs: ignoring them keeps a superset.
  return globs.filter((g) => !g.startsWith('!'));
}

const ANY_REF = '[^\\s]+';
const ANY_SANITIZED_REF = '[A-Za-z0-9._-]+';

/** The names a ref of `kind` can have under `bounds`; `sanitized` as metadata-action writes them into tags. */
export function refHole(bounds: RefBounds, kind: 'branch' | 'tag' | 'ref', sanitized = false): Hole | null {
  const parts: string[] = [];
  const add = (globs: readonly string[] | 'any' | null) => {
    if (globs === null) return true;
    if (globs === 'any') {
      parts.push(sanitized ? ANY_SANITIZED_REF : ANY_REF);
      return true;
    }
    for (const glob of globs) parts.push(githubGlobRegex(glob, sanitized));
    return true;
  };
  if (kind !== 'tag') add(bounds.branches);
  if (kind !== 'branch') add(bounds.tags);
  if (kind === 'ref' && bounds.pullRequests) parts.push(sanitized ? ANY_SANITIZED_REF : '[0-9]+/merge');
  if (parts.length === 0) return null;
  const label = kind === 'ref' ? 'branch or tag' : kind === 'tag' ? 'git tag' : 'branch';
  return { label, regex: parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})` };
}

/** Outputs of an earlier step: plain values, or the list of full references of a metadata-action step. */
export interface StepOutputs {
  values: Map<string, Pattern>;
  /** docker/metadata-action: `outputs.tags` as a list of `name:tag` patterns. */
  tagList?: Pattern[];
  /** The same outputs under narrower refs (a later step's condition), when they depend on the refs. */
  under?: (refs: RefBounds) => StepOutputs;
}

export interface EvalContext {
  /** `owner/name` of the repository whose workflows these are, when known. */
  repository?: string | undefined;
  refs: RefBounds;
  env: Map<string, Pattern>;
  matrix: Map<string, Pattern>;
  inputs: Map<string, Pattern>;
  steps: Map<string, StepOutputs>;
}

export function childContext(parent: EvalContext, changes: Partial<EvalContext>): EvalContext {
  return {
    repository: parent.repository,
    refs: parent.refs,
    env: new Map(parent.env),
    matrix: new Map(parent.matrix),
    inputs: new Map(parent.inputs),
    steps: new Map(parent.steps),
    ...changes,
  };
}

const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

/** Evaluates a string that may hold `${{ … }}` expressions into a pattern. */
export function evaluateTemplate(value: string, ctx: EvalContext): Pattern {
  const pieces: Pattern[] = [];
  let last = 0;
  for (const match of value.matchAll(EXPRESSION)) {
    pieces.push(text(value.slice(last, match.index)));
    pieces.push(evaluateExpression(match[1] ?? '', ctx));
    last = (match.index ?? 0) + match[0].length;
  }
  pieces.push(text(value.slice(last)));
  return concat(...pieces);
}

/**
 * One expression. `a || b` may be either; `cond && x` is x when it is truthy (the `c && 'a' || 'b'`
 * idiom gives a|b). Literals, `format()`, context lookups; anything else is unknown.
 */
export function evaluateExpression(source: string, ctx: EvalContext): Pattern {
  const expr = source.trim();
  const alternatives = splitTopLevel(expr, '||');
  if (alternatives.length > 1) return oneOf(alternatives.map((alt) => evaluateExpression(alt, ctx)), expr);
  const conjuncts = splitTopLevel(expr, '&&');
  if (conjuncts.length > 1) return evaluateExpression(conjuncts[conjuncts.length - 1] ?? '', ctx);
  return evaluateAtom(expr, ctx);
}

function evaluateAtom(expr: string, ctx: EvalContext): Pattern {
  if (expr.startsWith('(') && expr.endsWith(')') && splitTopLevel(expr.slice(1, -1), ',').length === 1) {
    return evaluateExpression(expr.slice(1, -1), ctx);
  }
  const literal = /^'((?:[^']|'')*)'$/.exec(expr);
  if (literal) return text((literal[1] ?? '').replace(/''/g, "'"));
  if (/^-?[0-9]+(?:\.[0-9]+)?$/.test(expr)) return text(expr);
  const call = /^([A-Za-z]+)\(([\s\S]*)\)$/.exec(expr);
  if (call) {
    const name = (call[1] ?? '').toLowerCase();
    const args = splitTopLevel(call[2] ?? '', ',');
    if (name === 'format' && args.length > 0) {
      const template = /^'((?:[^']|'')*)'$/.exec(args[0]!.trim())?.[1];
      if (template === undefined) return anyValue(expr);
      const values = args.slice(1).map((arg) => evaluateExpression(arg, ctx));
      const pieces: Pattern[] = [];
      let last = 0;
      for (const m of template.matchAll(/\{(\d+)\}/g)) {
        pieces.push(text(template.slice(last, m.index).replace(/''/g, "'")));
        pieces.push(values[Number(m[1])] ?? anyValue(expr));
        last = (m.index ?? 0) + m[0].length;
      }
      pieces.push(text(template.slice(last).replace(/''/g, "'")));
      return concat(...pieces);
    }
    return anyValue(expr);
  }
  const path = parsePath(expr);
  if (!path) return anyValue(expr);
  return lookup(path, ctx) ?? anyValue(expr);
}

function parsePath(expr: string): string[] | undefined {
  if (!/^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\s*'[^']*'\s*\])*$/.test(expr)) return undefined;
  const path: string[] = [];
  for (const m of expr.matchAll(/([\w-]+)|\[\s*'([^']*)'\s*\]/g)) path.push(m[1] ?? m[2] ?? '');
  return path;
}

function lookup(path: string[], ctx: EvalContext): Pattern | undefined {
  const [root, ...rest] = path;
  const key = rest.join('.');
  switch (root) {
    case 'github':
      return githubContext(key, ctx);
    case 'env':
      return ctx.env.get(key);
    case 'matrix':
      return ctx.matrix.get(key);
    case 'inputs':
      return ctx.inputs.get(key);
    case 'steps': {
      const [id, kind, name] = rest;
      if (kind !== 'outputs' || !id || !name) return undefined;
      return ctx.steps.get(id)?.values.get(name);
    }
    default:
      return undefined; // secrets, vars, needs, runner, job: not known from the files
  }
}

function githubContext(key: string, ctx: EvalContext): Pattern | undefined {
  const [owner, name] = (ctx.repository ?? '').split('/');
  switch (key) {
    case 'sha':
      return [{ hole: HOLES.sha }];
    case 'ref_name': {
      const h = refHole(ctx.refs, 'ref');
      return h ? [{ hole: h }] : undefined;
    }
    case 'ref': {
      const branches = refHole({ ...ctx.refs, tags: null }, 'branch');
      const tags = refHole({ ...ctx.refs, branches: null }, 'tag');
      const options: Pattern[] = [];
      if (branches) options.push(concat(text('refs/heads/'), [{ hole: branches }]));
      if (tags) options.push(concat(text('refs/tags/'), [{ hole: tags }]));
      if (ctx.refs.pullRequests) options.push(concat(text('refs/pull/'), [{ hole: { label: 'pr', regex: '[0-9]+/merge' } }]));
      return options.length > 0 ? oneOf(options, 'github.ref') : undefined;
    }
    case 'event.release.tag_name': {
      const h = refHole({ ...ctx.refs, branches: null, tags: 'any' }, 'tag');
      return h ? [{ hole: h }] : undefined;
    }
    case 'run_number':
    case 'run_id':
    case 'run_attempt':
    case 'event.number':
    case 'event.pull_request.number':
      return [{ hole: HOLES.number(`github.${key}`) }];
    case 'repository':
      return ctx.repository ? text(ctx.repository) : undefined;
    case 'repository_owner':
      return owner ? text(owner) : undefined;
    case 'event.repository.name':
      return name ? text(name) : undefined;
    default:
      return undefined;
  }
}

/** Splits at a two-character operator outside quotes and parentheses. */
export function splitTopLevel(expr: string, operator: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (depth === 0 && expr.startsWith(operator, i)) {
      out.push(expr.slice(start, i).trim());
      start = i + operator.length;
      i += operator.length - 1;
    }
  }
  out.push(expr.slice(start).trim());
  return out;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
