/**
 * Output hygiene for text that came from untrusted places (manifests, file names, registry replies).
 *
 * - `displaySafe` escapes C0/C1 control characters (ESC starts ANSI and OSC-8 sequences, CR rewrites a terminal
 *   line) and Unicode bidi controls (Trojan Source) so they are shown, never obeyed: `\x1B`, `\u202E`. Used by
 *   every human-facing renderer (table, Markdown, SARIF text, e-mail); JSON keeps the raw text (it is escaped by
 *   JSON itself and read by machines).
 * - `redactSecrets` replaces every credential this process holds (registered by `Secret`, see
 *   registry/credentials.ts, and by `registerSecret`), well-known token shapes (ghp_…, JWTs) and the value of any
 *   `Basic`/`Bearer` authorization
 *   scheme with `[redacted]`: a registry that echoes our Authorization header in an error body must not get the
 *   credential printed, stored in history or mailed. Applied to reports before they are printed or stored.
 *
 * Pure apart from the process-wide set of known secrets (values only, never logged).
 */

export const REDACTED = '[redacted]';

const knownSecrets = new Set<string>();

/** Secrets shorter than this are not searched for (they would redact ordinary words). */
const MIN_SECRET_LENGTH = 6;

/** Remembers a credential value (and its Basic form with `username`) so that no output ever shows it. */
export function registerSecret(value: string | undefined, username?: string): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  knownSecrets.add(value);
  knownSecrets.add(encodeURIComponent(value));
  const encoded = [Buffer.from(value, 'utf8').toString('base64')];
  if (username !== undefined) encoded.push(Buffer.from(`${username}:${value}`, 'utf8').toString('base64'));
  // Padded and unpadded: whichever the echo kept is replaced whole (longest first).
  for (const e of encoded) for (const form of [e, e.replace(/=+$/, '')]) knownSecrets.add(form);
}

/** `Basic …`, `Bearer …` authorization values anywhere in a text (an all-lower-case word is prose, not a value). */
const AUTH_SCHEME = /\b(basic|bearer)(\s+|%20)([A-Za-z0-9._~+/\-]{4,}=*)/gi;
/** Well-known token shapes: GitHub (classic, fine-grained, app, OAuth), Docker Hub PATs, JWTs. */
const TOKEN_SHAPES = /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|dckr_pat_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g;

export function redactSecrets(text: string): string {
  let out = text;
  if (knownSecrets.size > 0) {
    // Longest first, so a secret containing another is replaced whole.
    for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
  }
  return out
    .replace(AUTH_SCHEME, (match: string, scheme: string, sep: string, value: string) => (/^[a-z]+$/.test(value) ? match : `${scheme}${sep}${REDACTED}`))
    .replace(TOKEN_SHAPES, REDACTED);
}

/** C0 (but TAB and LF, see below), DEL, C1, and the bidi/invisible-direction controls. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Text safe to show: every control and bidi character becomes a visible escape. `prose` texts (hints, messages,
 * notes) may have spread over lines: there LF and TAB become a space; elsewhere (images, paths, names) LF is
 * escaped too, so an image string cannot start a line of its own.
 */
export function displaySafe(text: string, prose = false): string {
  const flattened = prose ? text.replace(/\r?\n|\t/g, ' ') : text.replace(/\t/g, '\\x09');
  return flattened.replace(UNSAFE, escapeChar);
}

const PROSE_KEYS = new Set(['hint', 'message', 'notes', 'error', 'meaning', 'remediation', 'reason']);

/** A deep copy of plain data with `fn(text, key)` applied to every string (Dates and class instances kept). */
function mapStrings<T>(value: T, fn: (text: string, key: string | undefined) => string, key?: string): T {
  if (typeof value === 'string') return fn(value, key) as T;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn, key)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn, k);
    return out as T;
  }
  return value;
}

/** `displaySafe` over every string of a report-like value (prose fields flattened, identifiers escaped). */
export function displaySafeDeep<T>(value: T): T {
  return mapStrings(value, (text, key) => displaySafe(text, key !== undefined && PROSE_KEYS.has(key)));
}

/** `redactSecrets` over every string of a report-like value. */
export function redactDeep<T>(value: T): T {
  return mapStrings(value, (text) => redactSecrets(text));
}
