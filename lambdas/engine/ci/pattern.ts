/**
 * The pattern model: what a workflow can write where an image name or tag goes. A pattern is text
 * with holes; a hole is a value we could only bound (a commit sha, a branch allowed by `on:`, a
 * matrix entry) or not bound at all (an expression we cannot evaluate). A pattern is only as strict
 * as what we could prove, so every hole is a superset of the values CI can produce.
 */

export interface Hole {
  /** What the hole stands for, shown as `<label>`: `commit sha`, `branch`, `matrix.service`. */
  label: string;
  /** Regular expression source (no anchors) of every value the hole can take. */
  regex: string;
  /** True when nothing is known about the value (the hole matches any text). */
  unknown?: boolean;
}

export type Part = { text: string } | { hole: Hole };
export type Pattern = readonly Part[];

const ANY_REGEX = '[\\s\\S]*';

export const text = (value: string): Pattern => (value === '' ? [] : [{ text: value }]);
export const hole = (h: Hole): Pattern => [{ hole: h }];
export const anyValue = (label: string): Pattern => [{ hole: { label, regex: ANY_REGEX, unknown: true } }];

export const HOLES = {
  sha: { label: 'commit sha', regex: '[0-9a-f]{40}' },
  /** `type=sha`, `{{sha}}`, `${GITHUB_SHA::7}`, `git rev-parse --short`: 7 by default, configurable up to 40. */
  shortSha: (length?: number): Hole =>
    length ? { label: 'short sha', regex: `[0-9a-f]{${length}}` } : { label: 'short sha', regex: '[0-9a-f]{4,40}' },
  number: (label: string): Hole => ({ label, regex: '[0-9]+' }),
  /** `{{version}}` of `type=semver`, `v` removed: 1.2.3, 1.2.3-rc.1 (`+build` becomes `-build`); loosely parsed versions too. */
  semver: { label: 'version', regex: '[0-9]+(?:\\.[0-9]+){0,2}(?:[-.][0-9A-Za-z.-]+)?' },
} as const;

export function concat(...patterns: Pattern[]): Pattern {
  const out: Part[] = [];
  for (const pattern of patterns) {
    for (const part of pattern) {
      const last = out[out.length - 1];
      if ('text' in part && last && 'text' in last) out[out.length - 1] = { text: last.text + part.text };
      else if ('text' in part && part.text === '') continue;
      else out.push(part);
    }
  }
  return out;
}

/** One of several patterns, as one hole (correlations between holes are not kept: a superset). */
export function oneOf(alternatives: readonly Pattern[], label?: string): Pattern {
  const unique = dedupe(alternatives);
  if (unique.length === 1) return unique[0] ?? [];
  if (unique.length === 0) return anyValue(label ?? 'unknown');
  if (unique.some(isUnknown)) return anyValue(label ?? unique.map(describe).join('|'));
  return hole({ label: label ?? unique.map(describe).join('|'), regex: `(?:${unique.map(toRegexSource).join('|')})` });
}

export function dedupe(patterns: readonly Pattern[]): Pattern[] {
  const seen = new Map<string, Pattern>();
  for (const pattern of patterns) {
    const key = JSON.stringify(pattern);
    if (!seen.has(key)) seen.set(key, pattern);
  }
  return [...seen.values()];
}

export function isLiteral(pattern: Pattern): boolean {
  return pattern.every((part) => 'text' in part);
}

/** True when the pattern is a single unknown hole: it could be anything. */
export function isUnknown(pattern: Pattern): boolean {
  return pattern.length === 1 && 'hole' in pattern[0]! && pattern[0].hole.unknown === true;
}

export function literalText(pattern: Pattern): string {
  return pattern.map((part) => ('text' in part ? part.text : '')).join('');
}

export function toRegexSource(pattern: Pattern): string {
  return pattern.map((part) => ('text' in part ? escapeRegex(part.text) : part.hole.regex)).join('');
}

export function matches(pattern: Pattern, value: string, flags = ''): boolean {
  return new RegExp(`^(?:${toRegexSource(pattern)})$`, flags).test(value);
}

/** `sha-<short sha>`, `<branch>`, `latest`. */
export function describe(pattern: Pattern): string {
  if (pattern.length === 0) return '""';
  return pattern.map((part) => ('text' in part ? part.text : `<${part.hole.label}>`)).join('');
}

export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Applies a text transformation to the literal parts only (holes are left as they are). */
export function mapText(pattern: Pattern, transform: (value: string) => string): Pattern {
  return pattern.map((part) => ('text' in part ? { text: transform(part.text) } : part));
}

/**
 * Splits a full image reference pattern `name[:tag]` into name and tag. The tag starts at the last
 * `:` of a text part with no `/` after it; a reference without one is tagged `latest` when it ends
 * in text, and has an unknown tag when it ends in a hole (the hole may hold `:tag`).
 */
export function splitReference(pattern: Pattern): { name: Pattern; tag: Pattern } {
  for (let i = pattern.length - 1; i >= 0; i--) {
    const part = pattern[i]!;
    if (!('text' in part)) continue;
    const slash = part.text.lastIndexOf('/');
    const colon = part.text.lastIndexOf(':');
    if (colon > slash) {
      const name = concat(pattern.slice(0, i), text(part.text.slice(0, colon)));
      const tag = concat(text(part.text.slice(colon + 1)), pattern.slice(i + 1));
      return { name, tag: stripDigest(tag) };
    }
    if (slash >= 0) break;
  }
  const last = pattern[pattern.length - 1];
  if (last && 'hole' in last) return { name: pattern, tag: anyValue('tag') };
  return { name: pattern, tag: text('latest') };
}

function stripDigest(tag: Pattern): Pattern {
  const out: Part[] = [];
  for (const part of tag) {
    if ('text' in part && part.text.includes('@')) {
      out.push({ text: part.text.slice(0, part.text.indexOf('@')) });
      break;
    }
    out.push(part);
  }
  return out;
}

/**
 * GitHub filter pattern (`on.push.branches`/`tags`) → regex source over the ref name. With `sanitize`,
 * literal characters a Docker tag cannot hold become `-`, as docker/metadata-action writes branch names.
 */
export function githubGlobRegex(glob: string, sanitize = false): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (c === '?' || c === '+') out += c; // quantifiers of the preceding character, as in a regex
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) out += '\\[';
      else {
        out += glob.slice(i, end + 1);
        i = end;
      }
    } else out += escapeRegex(sanitize && !/[A-Za-z0-9._-]/.test(c) ? '-' : c);
  }
  return sanitize ? out.replace(/\[\^\/\]\*|\.\*/g, '[A-Za-z0-9._-]*') : out;
}
