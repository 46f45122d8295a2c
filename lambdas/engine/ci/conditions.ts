/**
 * docker/metadata-action `enable=` conditions: the refs a rule can run under once its condition holds.
 * The value is what GitHub Actions and the action make of it — `${{ … }}` first, then the action's
 * `{{is_default_branch}}` — and the rule runs only where it reads `true`. We decide it against the
 * refs the workflow's `on:` allows: a condition we can read narrows those refs (`github.ref ==
 * 'refs/heads/main'` keeps only branch main); one that no allowed run can satisfy disables the rule;
 * anything we cannot read keeps the rule as it is (a pattern is only as strict as what we can prove).
 */
import { evaluateTemplate, splitTopLevel, type EvalContext, type RefBounds } from './context.js';
import { githubGlobRegex, isLiteral, literalText } from './pattern.js';

/** Events on which `{{is_default_branch}}` is true even for a tag ref (the action's own list). */
const DEFAULT_BRANCH_EVENTS = ['create', 'discussion', 'issues', 'schedule'];

/** The refs under which a rule with this `enable=` value runs; null when no run the workflow allows enables it. */
export function enabledRefs(value: string | undefined, ctx: EvalContext): RefBounds | null {
  if (value === undefined) return ctx.refs;
  const raw = value.trim();
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(raw);
  const refs = whole && !whole[1]!.includes('}}') ? narrow(whole[1]!.trim(), ctx.refs) : literalCondition(raw, ctx);
  return refs && isEmpty(refs) ? null : refs;
}

/** A value that is not one expression: `true`, `false`, `{{is_default_branch}}`, or a template we evaluate. */
function literalCondition(raw: string, ctx: EvalContext): RefBounds | null {
  if (/^\{\{\s*is_default_branch\s*\}\}$/.test(raw)) return onDefaultBranch(ctx.refs);
  const evaluated = evaluateTemplate(raw, ctx);
  if (!isLiteral(evaluated)) return ctx.refs;
  const text = literalText(evaluated).trim().toLowerCase();
  if (text === 'false') return null;
  return ctx.refs;
}

/**
 * `{{is_default_branch}}`: a branch run whose branch is the default one (unknown here: any allowed
 * branch may be it), or a run of an event that always runs on the default branch. Never a pull request.
 */
function onDefaultBranch(refs: RefBounds): RefBounds {
  const tagEventsOnDefault = refs.events === undefined || DEFAULT_BRANCH_EVENTS.some((event) => refs.events?.includes(event));
  return { ...refs, tags: tagEventsOnDefault ? refs.tags : null, pullRequests: false };
}

/** Narrows `refs` by a boolean expression; unknown parts leave them as they are. */
function narrow(expr: string, refs: RefBounds): RefBounds | null {
  const alternatives = splitTopLevel(expr, '||');
  if (alternatives.length > 1) {
    const each = alternatives.map((alt) => narrow(alt, refs)).filter((r): r is RefBounds => r !== null);
    return each.length === 0 ? null : each.reduce(union);
  }
  const conjuncts = splitTopLevel(expr, '&&');
  if (conjuncts.length > 1) {
    let out: RefBounds | null = refs;
    for (const part of conjuncts) {
      if (out === null) return null;
      out = narrow(part, out);
    }
    return out;
  }
  return atom(expr.trim(), refs);
}

function atom(expr: string, refs: RefBounds): RefBounds | null {
  if (expr.startsWith('(') && expr.endsWith(')') && balanced(expr.slice(1, -1))) return narrow(expr.slice(1, -1), refs);
  if (expr === 'true') return refs;
  if (expr === 'false') return null;
  const starts = /^startsWith\(\s*github\.ref\s*,\s*'([^']*)'\s*\)$/i.exec(expr);
  if (starts) return refPrefix(starts[1] ?? '', refs);
  const comparison = /^(?:([\w.]+)\s*(==|!=)\s*'([^']*)'|'([^']*)'\s*(==|!=)\s*([\w.]+))$/.exec(expr);
  if (!comparison) return refs;
  const name = (comparison[1] ?? comparison[6] ?? '').toLowerCase();
  const equal = (comparison[2] ?? comparison[5]) === '==';
  const value = comparison[3] ?? comparison[4] ?? '';
  switch (name) {
    case 'github.ref':
      return equal ? refEquals(value, refs) : refs;
    case 'github.ref_name':
      return equal ? { ...refs, branches: keepName(refs.branches, value), tags: keepName(refs.tags, value), pullRequests: false } : refs;
    case 'github.ref_type':
      return refType(equal ? value : value === 'tag' ? 'branch' : value === 'branch' ? 'tag' : '', refs);
    case 'github.event_name':
      return equal ? eventIs(value, refs) : eventIsNot(value, refs);
    default:
      return refs;
  }
}

/** `github.ref == 'refs/heads/main'` and the like. */
function refEquals(value: string, refs: RefBounds): RefBounds | null {
  const branch = /^refs\/heads\/(.+)$/.exec(value)?.[1];
  if (branch !== undefined) return { ...refs, branches: keepName(refs.branches, branch), tags: null, pullRequests: false };
  const tag = /^refs\/tags\/(.+)$/.exec(value)?.[1];
  if (tag !== undefined) return { ...refs, branches: null, tags: keepName(refs.tags, tag), pullRequests: false, schedule: false };
  if (/^refs\/pull\//.test(value)) return { ...refs, branches: null, tags: null, schedule: false };
  return null; // github.ref always starts with one of these
}

/** `startsWith(github.ref, 'refs/tags/v')`: each kind of ref whose names can start so keeps those names. */
function refPrefix(prefix: string, refs: RefBounds): RefBounds {
  // The rest of the prefix after a ref kind's root, '' when the prefix stops inside the root, undefined when it leaves it.
  const rest = (root: string): string | undefined => (root.startsWith(prefix) ? '' : prefix.startsWith(root) ? prefix.slice(root.length) : undefined);
  const branch = rest('refs/heads/');
  const tag = rest('refs/tags/');
  return {
    ...refs,
    branches: branch === undefined ? null : keepPrefix(refs.branches, branch),
    tags: tag === undefined ? null : keepPrefix(refs.tags, tag),
    pullRequests: refs.pullRequests && rest('refs/pull/') !== undefined,
    schedule: refs.schedule && branch !== undefined,
  };
}

function refType(type: string, refs: RefBounds): RefBounds | null {
  if (type === 'branch') return { ...refs, tags: null };
  if (type === 'tag') return { ...refs, branches: null, pullRequests: false, schedule: false };
  return refs;
}

const PULL_REQUEST_EVENTS = ['pull_request', 'pull_request_target'];

function eventIs(event: string, refs: RefBounds): RefBounds | null {
  if (refs.events !== undefined && !refs.events.includes(event)) return null;
  if (PULL_REQUEST_EVENTS.includes(event)) return refs.pullRequests ? { branches: null, tags: null, pullRequests: true, schedule: false, ...(refs.events ? { events: [event] } : {}) } : null;
  if (event === 'schedule') return refs.schedule ? { ...refs, tags: null, pullRequests: false, events: [event] } : null;
  return { ...refs, pullRequests: false, schedule: false, ...(refs.events ? { events: [event] } : {}) };
}

function eventIsNot(event: string, refs: RefBounds): RefBounds {
  const events = refs.events?.filter((e) => e !== event);
  const out: RefBounds = { ...refs, ...(events ? { events } : {}) };
  if (PULL_REQUEST_EVENTS.includes(event) && !(events ?? []).some((e) => PULL_REQUEST_EVENTS.includes(e))) out.pullRequests = false;
  if (event === 'schedule') out.schedule = false;
  return out;
}

/** The ref name, when the globs (or `any`) allow it; else none. */
function keepName(globs: RefBounds['branches'], name: string): RefBounds['branches'] {
  if (globs === null) return null;
  if (GLOB_SPECIAL.test(name)) return globs; // a name we cannot write as a filter pattern: keep what was allowed
  if (globs === 'any') return [name];
  return globs.some((glob) => new RegExp(`^(?:${githubGlobRegex(glob)})$`).test(name)) ? [name] : null;
}

/** The names starting with `prefix` that the globs allow (a superset: globs whose literal start is compatible). */
function keepPrefix(globs: RefBounds['branches'], prefix: string): RefBounds['branches'] {
  if (prefix === '' || globs === null) return globs;
  if (GLOB_SPECIAL.test(prefix)) return globs;
  if (globs === 'any') return [`${prefix}**`];
  const kept = globs.filter((glob) => {
    const literal = /^[^*?+[\]!]*/.exec(glob)?.[0] ?? '';
    return literal.startsWith(prefix) || prefix.startsWith(literal);
  });
  return kept.length > 0 ? kept : null;
}

/** Characters with a meaning in GitHub filter patterns. */
const GLOB_SPECIAL = /[*?+[\]!\\]/;

function union(a: RefBounds, b: RefBounds): RefBounds {
  const merge = (x: RefBounds['branches'], y: RefBounds['branches']): RefBounds['branches'] =>
    x === 'any' || y === 'any' ? 'any' : x === null ? y : y === null ? x : [...new Set([...x, ...y])];
  const out: RefBounds = {
    branches: merge(a.branches, b.branches),
    tags: merge(a.tags, b.tags),
    pullRequests: a.pullRequests || b.pullRequests,
    schedule: a.schedule || b.schedule,
  };
  if (a.events && b.events) out.events = [...new Set([...a.events, ...b.events])];
  return out;
}

function isEmpty(refs: RefBounds): boolean {
  return refs.branches === null && refs.tags === null && !refs.pullRequests && !refs.schedule;
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (const c of expr) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}
