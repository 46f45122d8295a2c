/**
 * docker/metadata-action: the tags its `images`, `tags` and `flavor` inputs can produce, following
 * the action's documented semantics (README "tags input", "flavor input", "Global expressions").
 * Each rule yields what it can yield on some run the workflow's `on:` allows; a rule whose event
 * never happens yields nothing; an `enable=` condition we can decide narrows the refs the rule runs
 * under or disables it (conditions.ts), one we cannot keeps the rule.
 */
import { enabledRefs } from './conditions.js';
import { evaluateTemplate, refHole, type EvalContext, type StepOutputs } from './context.js';
import { HOLES, anyValue, concat, describe, hole, mapText, oneOf, text, type Pattern } from './pattern.js';

interface Rule {
  type: string;
  attrs: Map<string, string>;
}

const VERSION_PARTS = new Set(['version', 'major', 'minor', 'patch', 'raw']);

/** Types that make `flavor: latest=auto` add `latest`. */
const LATEST_AUTO_TYPES = new Set(['semver', 'pep440', 'match']);
const DEFAULT_RULES = ['type=schedule', 'type=ref,event=branch', 'type=ref,event=tag', 'type=ref,event=pr'];

export function metadataActionOutputs(inputs: Record<string, unknown>, ctx: EvalContext): StepOutputs {
  const images = listInput(inputs['images'])
    .map((entry) => imageOfEntry(entry, ctx))
    .filter((entry): entry is string => entry !== undefined)
    .map((entry) => mapText(evaluateTemplate(entry, ctx), (t) => t.toLowerCase()));
  const rules = listInput(inputs['tags']);
  const flavor = parseAttributes(listInput(inputs['flavor']).join(','));
  const tags = metadataTags(rules.length > 0 ? rules : DEFAULT_RULES, flavor, ctx);
  const tagList = images.flatMap((image) => tags.map((tag) => concat(image, text(':'), tag)));
  const values = new Map<string, Pattern>([
    ['version', tags.length > 0 ? oneOf(tags, 'version') : text('')],
    ['tags', tagList.length > 0 ? oneOf(tagList, 'tags') : text('')],
  ]);
  return { values, tagList };
}

/** The tag patterns (without image names) that a list of rules and a flavor can produce. */
export function metadataTags(ruleLines: readonly string[], flavor: Map<string, string>, workflowCtx: EvalContext): Pattern[] {
  const out: Pattern[] = [];
  let latestAuto = false;
  for (const rule of ruleLines.map(parseRule)) {
    // `enable=` narrows the refs the rule runs under, or disables it (conditions.ts).
    const refs = enabledRefs(rule.attrs.get('enable'), workflowCtx);
    if (refs === null) continue;
    const ctx: EvalContext = { ...workflowCtx, refs };
    const produced = ruleTags(rule, ctx);
    if (produced.length === 0) continue;
    if (LATEST_AUTO_TYPES.has(rule.type) || (rule.type === 'ref' && rule.attrs.get('event') === 'tag')) latestAuto = true;
    const prefix = globalExpressions(rule.attrs.get('prefix') ?? defaultPrefix(rule), ctx);
    const suffix = globalExpressions(rule.attrs.get('suffix') ?? '', ctx);
    const flavorPrefix = globalExpressions(flavor.get('prefix') ?? '', ctx);
    const flavorSuffix = globalExpressions(flavor.get('suffix') ?? '', ctx);
    for (const tag of produced) {
      // Which of the tag's and the flavor's prefix wins differs between versions of the action: allow both.
      out.push(concat(prefix, tag, suffix));
      if (flavorPrefix.length > 0 || flavorSuffix.length > 0) out.push(concat(flavorPrefix, prefix, tag, suffix, flavorSuffix));
    }
  }
  let latest = (flavor.get('latest') ?? 'auto').trim();
  // `latest=${{ github.ref == 'refs/heads/main' }}`: a condition no allowed run satisfies is false.
  if (!['auto', 'true', 'false'].includes(latest) && enabledRefs(latest, workflowCtx) === null) latest = 'false';
  if (latest === 'true' || (latest !== 'false' && latestAuto) || (latest !== 'auto' && latest !== 'false')) {
    out.push(text('latest'));
    const prefix = globalExpressions(flavor.get('prefix') ?? '', workflowCtx);
    const suffix = globalExpressions(flavor.get('suffix') ?? '', workflowCtx);
    if (prefix.length > 0 || suffix.length > 0) out.push(concat(prefix, text('latest'), suffix));
  }
  return dedupePatterns(out);
}

function ruleTags(rule: Rule, ctx: EvalContext): Pattern[] {
  const attrs = rule.attrs;
  switch (rule.type) {
    case 'raw': {
      const value = attrs.get('value');
      return value === undefined || value.trim() === '' ? [] : [sanitizeTag(globalExpressions(value, ctx))];
    }
    case 'sha': {
      const long = attrs.get('format') === 'long';
      // DOCKER_METADATA_SHORT_SHA_LENGTH may change the short length: 7 is only the default.
      const length = ctx.env.has('DOCKER_METADATA_SHORT_SHA_LENGTH') ? undefined : 7;
      return [hole(long ? HOLES.sha : HOLES.shortSha(length))];
    }
    case 'ref': {
      const event = attrs.get('event');
      if (event === 'branch') return holeOrNone(refHole({ ...ctx.refs, tags: null }, 'branch', true));
      if (event === 'tag') return holeOrNone(refHole({ ...ctx.refs, branches: null }, 'tag', true));
      if (event === 'pr') return ctx.refs.pullRequests ? [hole(HOLES.number('pr number'))] : [];
      return [];
    }
    case 'semver':
    case 'pep440': {
      const value = attrs.get('value');
      if ((value === undefined || value === '') && ctx.refs.tags === null) return [];
      return [globalExpressions(attrs.get('pattern') ?? '{{version}}', ctx, rule.type)];
    }
    case 'match': {
      const value = attrs.get('value');
      if ((value === undefined || value === '') && ctx.refs.tags === null) return [];
      return [hole({ label: 'match', regex: '[A-Za-z0-9._-]+' })];
    }
    case 'edge':
      return ctx.refs.branches === null ? [] : [text('edge')];
    case 'schedule': {
      if (!ctx.refs.schedule) return [];
      return [sanitizeTag(globalExpressions(attrs.get('pattern') ?? 'nightly', ctx))];
    }
    default:
      return [anyValue(`type=${rule.type}`)];
  }
}

function defaultPrefix(rule: Rule): string {
  if (rule.type === 'sha') return 'sha-';
  if (rule.type === 'ref' && rule.attrs.get('event') === 'pr') return 'pr-';
  return '';
}

function holeOrNone(h: ReturnType<typeof refHole>): Pattern[] {
  return h ? [hole(h)] : [];
}

/**
 * Handlebars global expressions of the action (`{{branch}}`, `{{tag}}`, `{{sha}}`, `{{base_ref}}`,
 * `{{date 'FORMAT'}}`, `{{commit_date 'FORMAT'}}`, `{{is_default_branch}}`), after the workflow's own `${{ }}`.
 */
export function globalExpressions(value: string, ctx: EvalContext, versionType?: string): Pattern {
  const evaluated = evaluateTemplate(value, ctx);
  const out: Pattern[] = [];
  for (const part of evaluated) {
    if (!('text' in part)) {
      out.push([part]);
      continue;
    }
    let last = 0;
    for (const m of part.text.matchAll(/\{\{\s*([#/]?[a-z_]+)([^}]*)\}\}/g)) {
      out.push(text(part.text.slice(last, m.index)));
      out.push(handlebars(m[1] ?? '', ctx, versionType));
      last = (m.index ?? 0) + m[0].length;
    }
    out.push(text(part.text.slice(last)));
  }
  return concat(...out);
}

function handlebars(name: string, ctx: EvalContext, versionType?: string): Pattern {
  if (versionType !== undefined && VERSION_PARTS.has(name)) {
    // pep440 and {{raw}} print versions semver would not (1.0.0a1, v1.2.3): any tag-safe text.
    if (versionType === 'pep440' || name === 'raw') return hole({ label: name, regex: '[0-9A-Za-z._+-]+' });
    return hole(name === 'version' ? HOLES.semver : HOLES.number(name));
  }
  switch (name) {
    case 'branch':
    case 'base_ref': {
      const h = refHole({ ...ctx.refs, tags: null }, 'branch', true);
      return h ? hole(h) : text('');
    }
    case 'tag': {
      const h = refHole({ ...ctx.refs, branches: null }, 'tag', true);
      return h ? hole(h) : text('');
    }
    case 'sha':
      return hole(HOLES.shortSha(ctx.env.has('DOCKER_METADATA_SHORT_SHA_LENGTH') ? undefined : 7));
    case 'is_default_branch':
      return oneOf([text('true'), text('false')], 'is_default_branch');
    case 'date':
    case 'commit_date':
      return hole({ label: name, regex: '[0-9A-Za-z._-]+' });
    default:
      return anyValue(`{{${name}}}`);
  }
}

/** The action replaces characters a tag cannot hold with `-`; unknown holes already allow anything. */
function sanitizeTag(pattern: Pattern): Pattern {
  return mapText(pattern, (t) => t.replace(/[^a-zA-Z0-9._-]+/g, '-'));
}

function parseRule(line: string): Rule {
  const attrs = parseAttributes(line);
  const type = attrs.get('type');
  if (type === undefined) {
    // A bare line is `type=raw,value=<line>`.
    return { type: 'raw', attrs: new Map([['value', line.trim()]]) };
  }
  if (type === 'raw' && !attrs.has('value')) {
    const bare = line.split(',').map((s) => s.trim()).find((s) => s !== '' && !s.includes('='));
    if (bare !== undefined) attrs.set('value', bare);
  }
  return { type, attrs };
}

function parseAttributes(line: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const field of splitCsv(line)) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    attrs.set(field.slice(0, eq).trim(), unquote(field.slice(eq + 1).trim()));
  }
  return attrs;
}

/** Splits at commas outside quotes and `${{ }}` / `{{ }}` expressions. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth <= 0) {
      out.push(line.slice(start, i));
      start = i + 1;
    }
  }
  out.push(line.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

function unquote(value: string): string {
  return /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
}

function imageOfEntry(entry: string, ctx: EvalContext): string | undefined {
  if (!entry.includes('=')) return entry;
  const attrs = parseAttributes(entry);
  if (enabledRefs(attrs.get('enable'), ctx) === null) return undefined;
  return attrs.get('name');
}

/** A list input: newline-separated, comments dropped; a single line may also be comma-separated. */
export function listInput(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const raw = Array.isArray(value) ? value.map(String).join('\n') : String(value);
  return raw
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function dedupePatterns(patterns: Pattern[]): Pattern[] {
  const seen = new Set<string>();
  return patterns.filter((pattern) => {
    const key = JSON.stringify(pattern) + describe(pattern);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
