import type { SourceLocation } from '../../model.js';
import { isRecord, valueAt, type ValuePath } from '../types.js';

export { valueAt };

/** One source of Helm values, lowest precedence first when merged: chart values.yaml, valueFiles, inline values, parameters. */
export interface HelmValuesLayer {
  /** What the layer is, for notes: `charts/auth/values.yaml`, `Application auth inline values`... */
  name: string;
  values: unknown;
  /** Where a values path of this layer is written, when it is. */
  locate: (valuesPath: ValuePath) => SourceLocation | undefined;
}

/**
 * Helm's coalescing of values: later layers win; maps merge key by key, lists and scalars replace,
 * and `null` deletes the key. Inputs are not modified.
 */
export function mergeHelmValues(...layers: unknown[]): unknown {
  let merged: unknown = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    merged = mergeTwo(merged, layer);
  }
  return merged;
}

function mergeTwo(base: unknown, override: unknown): unknown {
  if (!isRecord(base) || !isRecord(override)) return clone(override);
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete result[key];
    else result[key] = key in result ? mergeTwo(result[key], value) : clone(value);
  }
  return result;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isRecord(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== null) copy[key] = clone(item);
    return copy;
  }
  return value;
}

/** Merges layers and returns a locator that answers from the last layer that sets a path (not to null). */
export function mergeHelmValueLayers(layers: readonly HelmValuesLayer[]): {
  values: unknown;
  locate: (valuesPath: ValuePath) => SourceLocation | undefined;
  /** Every layer that sets the path (not to null), lowest precedence first. */
  locateLayers: (valuesPath: ValuePath) => { layer: number; location: SourceLocation }[];
} {
  const values = mergeHelmValues(...layers.map((layer) => layer.values));
  const locate = (valuesPath: ValuePath): SourceLocation | undefined => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as HelmValuesLayer;
      const value = valueAt(layer.values, valuesPath);
      if (value !== undefined && value !== null) return layer.locate(valuesPath);
    }
    return undefined;
  };
  const locateLayers = (valuesPath: ValuePath): { layer: number; location: SourceLocation }[] => {
    const found: { layer: number; location: SourceLocation }[] = [];
    layers.forEach((layer, index) => {
      const value = valueAt(layer.values, valuesPath);
      if (value === undefined || value === null) return;
      const location = layer.locate(valuesPath);
      if (location) found.push({ layer: index, location });
    });
    return found;
  };
  return { values, locate, locateLayers };
}


// ─── --set style parameters ───────────────────────────────────────────────

export interface HelmParameter {
  /** `image.tag`, `containers[0].image`, `annotations.example\.com/x`. */
  name: string;
  value: string;
  /** `--set-string`: keep the value a string (Argo CD `forceString`). */
  forceString?: boolean;
}

/** Helm's strvals.MaxIndex: a larger list index is an error (and would allocate a huge list). */
const MAX_INDEX = 65536;

/**
 * Parses a `--set` name into a values path the way Helm's strvals does: dots separate keys, a backslash
 * makes the next character literal (`\.`), `[n]` indexes a list. Returns undefined for names Helm
 * rejects: empty keys, an index that is not a number from 0 to 65536, text after `]` other than `.` or `[`.
 */
export function parseHelmParameterName(name: string): ValuePath | undefined {
  const path: ValuePath = [];
  let current = '';
  let afterIndex = false;
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (afterIndex && c !== '.' && c !== '[') return undefined;
    if (c === '\\' && i + 1 < name.length) {
      current += name[++i];
    } else if (c === '.') {
      if (afterIndex) afterIndex = false;
      else if (current === '') return undefined;
      else {
        path.push(current);
        current = '';
      }
      if (i === name.length - 1) return undefined;
    } else if (c === '[') {
      const end = name.indexOf(']', i);
      const digits = end < 0 ? '' : name.slice(i + 1, end);
      if (!/^\d+$/.test(digits) || Number(digits) > MAX_INDEX) return undefined;
      if (!afterIndex) {
        if (current === '') return undefined;
        path.push(current);
        current = '';
      }
      path.push(Number(digits));
      afterIndex = true;
      i = end;
    } else {
      current += c;
    }
  }
  if (!afterIndex) {
    if (current === '') return undefined;
    path.push(current);
  }
  return path;
}

/**
 * What `--set` makes of a value (strvals typedVal): `true`, `false` and `null` in any case, integers
 * (`0`, or a signed number not starting with 0); everything else stays a string. An integer too large
 * for a JavaScript number stays a string, which Helm prints the same way.
 */
export function typedHelmValue(value: string, forceString = false): unknown {
  if (forceString) return value;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (value === '0') return 0;
  if (value[0] !== '0' && /^[+-]?\d+$/.test(value)) {
    const number = Number(value);
    if (Number.isSafeInteger(number)) return number === 0 ? 0 : number;
  }
  return value;
}

/**
 * Applies `--set` style parameters over values, in order, and returns new values (the input is not modified).
 * Parameters whose names cannot be parsed are returned in `rejected`.
 */
export function applyHelmParameters(
  values: unknown,
  parameters: readonly HelmParameter[],
): { values: unknown; rejected: HelmParameter[] } {
  let result: unknown = mergeHelmValues(isRecord(values) ? values : {});
  const rejected: HelmParameter[] = [];
  for (const parameter of parameters) {
    const path = parseHelmParameterName(parameter.name);
    if (!path) {
      rejected.push(parameter);
      continue;
    }
    result = setAt(result, path, typedHelmValue(parameter.value, parameter.forceString));
  }
  return { values: result, rejected };
}

function setAt(target: unknown, path: ValuePath, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (typeof head === 'number') {
    const list = Array.isArray(target) ? [...(target as unknown[])] : [];
    while (list.length < head) list.push(null);
    list[head] = setAt(list[head], rest, value);
    return list;
  }
  const map: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  map[head] = setAt(map[head], rest, value);
  return map;
}

/**
 * A values layer made of parameters (Argo CD `helm.parameters`), locating each path at the parameter that set it
 * or set one of its ancestors.
 */
export function helmParameterLayer(
  name: string,
  parameters: readonly (HelmParameter & { location?: SourceLocation })[],
): HelmValuesLayer & { rejected: HelmParameter[] } {
  const { values, rejected } = applyHelmParameters({}, parameters);
  const located = parameters
    .map((parameter) => ({ path: parseHelmParameterName(parameter.name), location: parameter.location }))
    .filter((entry): entry is { path: ValuePath; location: SourceLocation | undefined } => entry.path !== undefined);
  return {
    name,
    values,
    rejected,
    locate(valuesPath: ValuePath): SourceLocation | undefined {
      for (let i = located.length - 1; i >= 0; i--) {
        const entry = located[i] as (typeof located)[number];
        if (isPrefix(entry.path, valuesPath) || isPrefix(valuesPath, entry.path)) return entry.location;
      }
      return undefined;
    },
  };
}

function isPrefix(prefix: ValuePath, path: ValuePath): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => String(segment) === String(path[i]));
}
