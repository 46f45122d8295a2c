/**
 * Strategic merge patches, as far as kustomize v5.5 (kyaml merge2) needs them for images:
 * maps merge recursively, `null` deletes a field, lists of objects merge by their key
 * (containers by `name`), other lists are replaced, `$patch: delete|replace` directives apply.
 * Merged list order follows kustomize: the patch's elements first, in patch order, then the
 * target's remaining elements.
 */
import type { SourceLocation } from '../../model.js';
import { CONTAINER_FIELDS, isObject, type JsonObject, type PathSegment, type Provenance } from './resource.js';

/** Merge keys of the lists that matter, by field name (Kubernetes OpenAPI `x-kubernetes-patch-merge-key`). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
};

/** kyaml's fallback keys for lists it has no schema for. */
const ASSOCIATIVE_KEYS = ['mountPath', 'devicePath', 'ip', 'type', 'topologyKey', 'name', 'containerPort'];

export interface MergeContext {
  provenance: Provenance;
  /** Location of a path inside the patch document. */
  locate: (path: PathSegment[]) => SourceLocation;
}

function plainClone<T>(value: T): T {
  return structuredClone(value);
}

function directive(value: JsonObject): string | undefined {
  const d = value['$patch'];
  return typeof d === 'string' ? d : undefined;
}

/** The patch without its `$...` directive keys, deeply. */
function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => !(isObject(item) && directive(item) !== undefined && Object.keys(item).length === 1)).map(withoutDirectives);
  }
  if (isObject(value)) {
    const copy: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$')) continue;
      copy[key] = withoutDirectives(item);
    }
    return copy;
  }
  return value;
}

/** Merges `patch` into `target` in place. Returns false when the patch deletes the whole target. */
export function mergeMap(target: JsonObject, patch: JsonObject, path: PathSegment[], ctx: MergeContext): boolean {
  const d = directive(patch);
  if (d === 'delete') return false;
  if (d === 'replace') {
    for (const key of Object.keys(target)) delete target[key];
    Object.assign(target, withoutDirectives(patch) as JsonObject);
    ctx.provenance.adopt(target, ctx.locate, path);
    return true;
  }
  for (const [key, patchValue] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const childPath = [...path, key];
    if (patchValue === null) {
      delete target[key];
      continue;
    }
    const current = target[key];
    if (isObject(patchValue)) {
      if (isObject(current)) {
        if (!mergeMap(current, patchValue, childPath, ctx)) delete target[key];
      } else if (directive(patchValue) !== 'delete') {
        const fresh = withoutDirectives(plainClone(patchValue));
        target[key] = fresh;
        ctx.provenance.adopt(fresh, ctx.locate, childPath);
      }
      continue;
    }
    if (Array.isArray(patchValue)) {
      target[key] = mergeList(key, Array.isArray(current) ? current : undefined, patchValue, childPath, ctx);
      continue;
    }
    target[key] = patchValue;
  }
  return true;
}

function mergeKeyFor(field: string, target: unknown[], patch: unknown[]): string | undefined {
  const known = MERGE_KEYS[field];
  if (known) return known;
  const all = [...target, ...patch].filter((item) => !(isObject(item) && directive(item) !== undefined && Object.keys(item).length === 1));
  if (all.length === 0 || !all.every(isObject)) return undefined;
  return ASSOCIATIVE_KEYS.find((key) => all.every((item) => isObject(item) && item[key] !== undefined));
}

function keyOf(item: unknown, key: string): string | undefined {
  if (!isObject(item)) return undefined;
  const value = item[key];
  return value === undefined || value === null ? undefined : String(value);
}

function mergeList(field: string, target: unknown[] | undefined, patch: unknown[], path: PathSegment[], ctx: MergeContext): unknown[] {
  const replace = patch.some((item) => isObject(item) && directive(item) === 'replace');
  const key = target && !replace ? mergeKeyFor(field, target, patch) : undefined;
  const isContainerList = CONTAINER_FIELDS.includes(field);
  if (!target || replace || !key) {
    // Directive-only elements (`- $patch: replace`) are dropped; keep each element's index in the patch.
    const kept = patch.map((item, index) => ({ item, index })).filter(({ item }) => !(isObject(item) && directive(item) !== undefined && Object.keys(item).length === 1));
    return kept.map(({ item, index }) => {
      const fresh = withoutDirectives(plainClone(item));
      ctx.provenance.adopt(fresh, ctx.locate, [...path, index]);
      if (isContainerList && isObject(fresh)) ctx.provenance.set(fresh, [ctx.locate([...path, index, 'image'])]);
      return fresh;
    });
  }
  const remaining = [...target];
  const result: unknown[] = [];
  patch.forEach((patchItem, i) => {
    const itemKey = keyOf(patchItem, key);
    const index = itemKey === undefined ? -1 : remaining.findIndex((t) => keyOf(t, key) === itemKey);
    const existing = index >= 0 ? remaining.splice(index, 1)[0] : undefined;
    if (!isObject(patchItem)) {
      result.push(patchItem);
      return;
    }
    if (directive(patchItem) === 'delete') return;
    const itemPath = [...path, i];
    if (isObject(existing)) {
      if (mergeMap(existing, patchItem, itemPath, ctx)) {
        result.push(existing);
        if (isContainerList && 'image' in patchItem) {
          ctx.provenance.push(existing, ctx.locate([...itemPath, 'image']));
        }
      }
      return;
    }
    const fresh = withoutDirectives(plainClone(patchItem)) as JsonObject;
    ctx.provenance.adopt(fresh, ctx.locate, itemPath);
    if (isContainerList) ctx.provenance.set(fresh, [ctx.locate([...itemPath, 'image'])]);
    result.push(fresh);
  });
  return [...result, ...remaining];
}
