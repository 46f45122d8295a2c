import type { SourceLocation } from '../../model.js';
import { isRecord, type ValuePath } from '../types.js';

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

export function valueAt(value: unknown, path: ValuePath): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isRecord(current)) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

// ─── --set style parameters ───────────────────────────────────────────────

export interface HelmParameter {
  /** `image.tag`, `containers[0].image`, `annotations.example\.com/x`. */
  name: string;
  value: string;
  /** `--set-string`: keep the value a string (Argo CD `forceString`). */
  forceString?: boolean;
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const INDEX_SUFFIX = /^(.*?)\[(\d+)\]$/;

/**
 * Parses a `--set` name into a values path: dots separate keys (`\.` escapes one), `[n]` indexes a list.
 * Returns undefined for names Helm would reject (empty keys).
 */
export function parseHelmParameterName(name: string): ValuePath | undefined {
  const keys: string[] = [];
  let current = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '\\' && name[i + 1] === '.') {
      current += '.';
      i++;
    } else if (c === '.') {
      keys.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  keys.push(current);
  const path: ValuePath = [];
  for (const key of keys) {
    let rest = key;
    const indexes: number[] = [];
    for (let match = INDEX_SUFFIX.exec(rest); match; match = INDEX_SUFFIX.exec(rest)) {
      indexes.unshift(Number(match[2]));
      rest = match[1] as string;
    }
    if (rest === '') return undefined;
    path.push(rest, ...indexes);
  }
  return path;
}

/** What `--set` makes of a value: `true`/`false` booleans, `null`, integers; everything else stays a string. */
export function typedHelmValue(value: string, forceString = false): unknown {
  if (forceString) return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value === 'null') return null;
  if (INTEGER.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
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
