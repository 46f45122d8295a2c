/**
 * The transformers that decide images and workload identity, over accumulated resources:
 * target selection (types.Selector), namespace, name prefix/suffix, metadata labels and
 * annotations, and the image transformer. Each one follows kustomize v5.5's builtin of that name.
 */
import type { ImageTransform } from './images.js';
import { hasEffect, transformImage } from './images.js';
import type { TargetSelector } from './kustomization.js';
import {
  IMAGE_CONTAINER_FIELDS,
  currentId,
  effectiveNamespace,
  isClusterScoped,
  isObject,
  metadataOf,
  originalId,
  provenance,
  storePreviousId,
  type JsonObject,
  type Resource,
} from './resource.js';

// ─── Target selection (types.Selector) ─────────────────────────────────────

const anchoredCache = new Map<string, RegExp | null>();

/** kustomize's anchorRegex; null when the pattern is not a valid regular expression (matches nothing). */
function anchored(pattern: string): RegExp | null {
  let regex = anchoredCache.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(`^(?:${pattern})$`, 'u');
    } catch {
      regex = null;
    }
    anchoredCache.set(pattern, regex);
  }
  return regex;
}

function matchesField(pattern: string | undefined, ...values: string[]): boolean {
  if (!pattern) return true;
  const regex = anchored(pattern);
  return regex !== null && values.some((v) => regex.test(v));
}

/** resWrangler.Select: name and namespace match the original or the current id; gvk the current one. */
export function select(resources: Resource[], target: TargetSelector): Resource[] {
  return resources.filter((r) => {
    const cur = currentId(r.value);
    const org = originalId(r);
    if (!matchesField(target.namespace, effectiveNamespace(org), effectiveNamespace(cur))) return false;
    if (!matchesField(target.name, org.name, cur.name)) return false;
    if (!matchesField(target.group, cur.group) || !matchesField(target.version, cur.version) || !matchesField(target.kind, cur.kind)) return false;
    const metadata = isObject(r.value['metadata']) ? r.value['metadata'] : {};
    if (target.labelSelector && !matchesSelector(target.labelSelector, metadata['labels'])) return false;
    if (target.annotationSelector && !matchesSelector(target.annotationSelector, metadata['annotations'])) return false;
    return true;
  });
}

/** Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function matchesSelector(selector: string, labelsValue: unknown): boolean {
  const labels = isObject(labelsValue) ? labelsValue : {};
  const has = (key: string): boolean => typeof labels[key] === 'string' || typeof labels[key] === 'number' || typeof labels[key] === 'boolean';
  const get = (key: string): string | undefined => (has(key) ? String(labels[key]) : undefined);
  const requirements = selector.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  return requirements.every((raw) => {
    const req = raw.trim();
    if (req === '') return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      const value = get(m[1] ?? '');
      return m[2] === 'in' ? value !== undefined && values.includes(value) : value === undefined || !values.includes(value);
    }
    m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(req);
    if (m) {
      const value = get(m[1] ?? '');
      return m[2] === '!=' ? value !== m[3] : value === m[3];
    }
    if (req.startsWith('!')) return !has(req.slice(1).trim());
    return has(req);
  });
}

// ─── Transformers ──────────────────────────────────────────────────────────

export function applyNamespace(resources: Resource[], namespace: string): void {
  for (const resource of resources) {
    storePreviousId(resource);
    const id = currentId(resource.value);
    // kustomize's namespace field specs also rename Namespace objects to the new namespace.
    if (id.kind === 'Namespace' && id.group === '') metadataOf(resource.value)['name'] = namespace;
    if (isClusterScoped(id.kind)) continue;
    metadataOf(resource.value)['namespace'] = namespace;
  }
}

/** commonLabels / labels / commonAnnotations, as far as patch selectors see them (metadata only). */
export function setMetadataMap(resources: Resource[], field: 'labels' | 'annotations', values: Record<string, string>): void {
  if (Object.keys(values).length === 0) return;
  for (const resource of resources) {
    const metadata = metadataOf(resource.value);
    const current = isObject(metadata[field]) ? metadata[field] : {};
    metadata[field] = { ...current, ...values };
  }
}

const AFFIX_SKIPPED = new Set(['CustomResourceDefinition', 'Namespace']);

export function applyNameAffixes(resources: Resource[], prefix: string, suffix: string): void {
  if (!prefix && !suffix) return;
  for (const resource of resources) {
    const org = originalId(resource);
    if (AFFIX_SKIPPED.has(org.kind) || (org.kind === 'APIService' && org.group === 'apiregistration.k8s.io')) continue;
    storePreviousId(resource);
    const metadata = metadataOf(resource.value);
    metadata['name'] = `${prefix}${typeof metadata['name'] === 'string' ? metadata['name'] : ''}${suffix}`;
  }
}

const FIELD_SPEC_PATHS: readonly string[][] = [
  ['spec', 'containers'],
  ['spec', 'initContainers'],
  ['spec', 'template', 'spec', 'containers'],
  ['spec', 'template', 'spec', 'initContainers'],
];

/**
 * One `images:` entry over all resources: the legacy walk over every containers/initContainers list,
 * then the field specs (kustomize's defaults unless a transformer configuration gives its own).
 */
export function applyImageTransform(resources: Resource[], transform: ImageTransform, fieldSpecPaths: readonly (readonly string[])[] = FIELD_SPEC_PATHS): void {
  const effective = hasEffect(transform);
  const update = (container: unknown): void => {
    if (!isObject(container)) return;
    const image = container['image'];
    if (typeof image !== 'string') return;
    const next = transformImage(image, transform);
    if (next === undefined) return;
    container['image'] = next;
    if (!effective) return;
    if (transform.preservedFrom) provenance.push(container, transform.preservedFrom);
    provenance.push(container, transform.location);
  };
  for (const resource of resources) {
    if (currentId(resource.value).kind === 'CustomResourceDefinition') continue;
    legacyWalk(resource.value, update);
    for (const path of fieldSpecPaths) {
      let node: unknown = resource.value;
      for (const key of path) node = isObject(node) ? node[key] : undefined;
      if (Array.isArray(node)) node.forEach(update);
    }
  }
}

/** Every `containers` / `initContainers` list anywhere in the object (children before the list itself). */
function legacyWalk(value: unknown, update: (container: unknown) => void): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) legacyWalk(item, update);
    return;
  }
  const object = value as JsonObject;
  for (const key in object) {
    const item = object[key];
    if (typeof item !== 'object' || item === null) continue;
    legacyWalk(item, update);
    if (Array.isArray(item) && IMAGE_CONTAINER_FIELDS.includes(key)) item.forEach(update);
  }
}
