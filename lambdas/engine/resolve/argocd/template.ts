/**
 * ApplicationSet templating, the two syntaxes Argo CD supports:
 * - fasttemplate (default): `{{name}}`, `{{path.basename}}`, `{{path[0]}}` looked up in a flat map of strings;
 *   unknown keys are left as written.
 * - Go templates (`goTemplate: true`): `{{.name}}`, `{{ .path.path }}`, `{{ index .path.segments 1 }}`,
 *   pipelines with a few Sprig functions (default, lower, upper, trim, trunc, replace, quote, printf, normalize).
 *   An action we cannot evaluate is left as written, so it surfaces later as an unresolved template.
 */
import { isRecord } from '../../extractors/types.js';

export type FlatParams = Readonly<Record<string, string>>;
export type NestedParams = Readonly<Record<string, unknown>>;

export function renderFast(text: string, params: FlatParams): string {
  return text.replace(/\{\{([^{}]*)\}\}/g, (whole, inner: string) => {
    const key = inner.trim();
    return Object.hasOwn(params, key) ? (params[key] ?? '') : whole;
  });
}

export function renderGo(text: string, params: NestedParams): string {
  return text.replace(/\{\{(-?)([\s\S]*?)(-?)\}\}/g, (whole, _l: string, inner: string) => {
    try {
      const value = evaluatePipeline(inner.trim(), params);
      return value === undefined ? whole : stringify(value);
    } catch {
      return whole;
    }
  });
}

/** Renders every string (not keys) of a JSON-like value. */
export function renderValue(value: unknown, render: (text: string) => string): unknown {
  if (typeof value === 'string') return render(value);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, render));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderValue(item, render);
    return out;
  }
  return value;
}

export function hasTemplate(text: string): boolean {
  return /\{\{[\s\S]*?\}\}/.test(text);
}

export { isRecord };

// ─── Go template subset ─────────────────────────────────────────────────────

class Unsupported extends Error {}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '<nil>';
  return JSON.stringify(value);
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === '\\' && ch === '"' ? 2 : 1;
      tokens.push(text.slice(i, j + 1));
      i = j + 1;
    } else if (ch === '|' || ch === '(' || ch === ')') {
      tokens.push(ch);
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s|()"`]/.test(text[j] ?? '')) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function evaluatePipeline(text: string, params: NestedParams): unknown {
  if (/^(if|else|end|range|with|define|template|block)\b/.test(text) || text.includes(':=')) {
    throw new Unsupported(text);
  }
  const tokens = tokenize(text);
  let pos = 0;
  const parsePipeline = (): unknown => {
    let result: unknown;
    let first = true;
    for (;;) {
      const args: Array<() => unknown> = [];
      let name: string | undefined;
      while (pos < tokens.length && tokens[pos] !== '|' && tokens[pos] !== ')') {
        const token = tokens[pos++] ?? '';
        if (name === undefined && args.length === 0 && /^[a-zA-Z_][\w]*$/.test(token) && FUNCTIONS[token]) {
          name = token;
        } else if (token === '(') {
          const inner = parsePipeline();
          if (tokens[pos++] !== ')') throw new Unsupported('unbalanced parentheses');
          args.push(() => inner);
        } else {
          args.push(() => operand(token, params));
        }
      }
      const values = args.map((arg) => arg());
      if (!first) values.push(result);
      if (name !== undefined) {
        const fn = FUNCTIONS[name];
        if (!fn) throw new Unsupported(name);
        result = fn(values);
      } else {
        if (values.length !== 1) throw new Unsupported(text);
        result = values[0];
      }
      first = false;
      if (tokens[pos] !== '|') return result;
      pos++;
    }
  };
  const result = parsePipeline();
  if (pos !== tokens.length) throw new Unsupported(text);
  return result;
}

function operand(token: string, params: NestedParams): unknown {
  if (token.startsWith('"')) return JSON.parse(token) as unknown;
  if (token.startsWith('`')) return token.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  if (token === 'true' || token === 'false') return token === 'true';
  if (token === '.' || token === '$') return params;
  if (token.startsWith('.') || token.startsWith('$.')) {
    let current: unknown = params;
    for (const key of token.replace(/^\$/, '').slice(1).split('.')) {
      if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined;
      current = current[key];
    }
    return current;
  }
  throw new Unsupported(token);
}

function requireDefined(values: unknown[]): unknown[] {
  if (values.some((value) => value === undefined)) throw new Unsupported('missing key');
  return values;
}

const str = (value: unknown): string => (value === undefined ? '' : stringify(value));

const FUNCTIONS: Readonly<Record<string, (args: unknown[]) => unknown>> = {
  lower: (a) => str(requireDefined(a)[0]).toLowerCase(),
  upper: (a) => str(requireDefined(a)[0]).toUpperCase(),
  trim: (a) => str(requireDefined(a)[0]).trim(),
  quote: (a) => JSON.stringify(str(requireDefined(a)[0])),
  squote: (a) => `'${str(requireDefined(a)[0])}'`,
  toString: (a: unknown[]) => str(requireDefined(a)[0]),
  base: (a) => str(requireDefined(a)[0]).split('/').pop() ?? '',
  dir: (a) => str(requireDefined(a)[0]).split('/').slice(0, -1).join('/') || '.',
  normalize: (a) =>
    str(requireDefined(a)[0])
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-'),
  default: ([fallback, value]) =>
    value === undefined || value === '' || value === null || value === false ? fallback : value,
  trunc: (a) => {
    const [n, s] = requireDefined(a);
    const text = str(s);
    const count = Number(n);
    return count >= 0 ? text.slice(0, count) : text.slice(count);
  },
  replace: (a) => {
    const [oldText, newText, s] = requireDefined(a);
    return str(s).split(str(oldText)).join(str(newText));
  },
  trimPrefix: (a) => {
    const [prefix, s] = requireDefined(a).map(str);
    return s?.startsWith(prefix ?? '') ? s.slice((prefix ?? '').length) : s;
  },
  trimSuffix: (a) => {
    const [suffix, s] = requireDefined(a).map(str);
    return suffix && s?.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
  },
  join: (a) => {
    const [sep, list] = requireDefined(a);
    if (!Array.isArray(list)) throw new Unsupported('join of a non-list');
    return list.map(str).join(str(sep));
  },
  index: (a) => {
    let [current, ...keys] = requireDefined(a);
    for (const key of keys) {
      if (Array.isArray(current) && typeof key === 'number') current = current[key];
      else if (isRecord(current) && typeof key === 'string') current = current[key];
      else throw new Unsupported('index');
      if (current === undefined) throw new Unsupported('index out of range');
    }
    return current;
  },
  printf: (a) => {
    const [format, ...rest] = requireDefined(a);
    let i = 0;
    return str(format).replace(/%[svdq%]/g, (verb) => {
      if (verb === '%%') return '%';
      const value = rest[i++];
      return verb === '%q' ? JSON.stringify(str(value)) : str(value);
    });
  },
};
