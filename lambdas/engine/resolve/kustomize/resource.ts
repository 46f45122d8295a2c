/**
 * Resources as kustomize holds them while it builds: a mutable copy of the document, the ids it had
 * before namespace and name changes (patches match any of them), and, for every container object,
 * the locations that set its image (provenance).
 */
import type { SourceLocation } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';

export type JsonObject = { [key: string]: unknown };
export type PathSegment = string | number;

export interface ResId {
  group: string;
  version: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface Resource {
  value: JsonObject;
  /** Manifest file and document index the resource came from. */
  file: string;
  index: number;
  /** Ids the resource had before namespace, prefix and suffix changes, oldest first. */
  prevIds: ResId[];
  /**
   * Set while `value` (and `prevIds`) are shared, with a parsed YAML document or a cached build, and must not be
   * changed: ownValue() takes the private copy the resource used to get when it was loaded or handed out, only when
   * a transformer is about to change it (copy on write). Absent or undefined: the value is the resource's own.
   */
  shared?: SharedValue | undefined;
}

/**
 * Where a shared value comes from, which decides how it is copied, as before sharing: the document of a manifest
 * file (structuredClone, then image provenance from the document's lines) or a finished build (provenance.clone).
 */
export type SharedValue = { document: YamlDocument; path: PathSegment[] } | 'build';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Container lists kustomize's image transformer rewrites (anywhere in a resource). */
export const IMAGE_CONTAINER_FIELDS: readonly string[] = ['containers', 'initContainers'];
/** Container lists whose images we track (ephemeral containers are never rewritten by kustomize). */
export const CONTAINER_FIELDS: readonly string[] = ['containers', 'initContainers', 'ephemeralContainers'];

/**
 * Provenance of container images, keyed by the container object itself so that list merges,
 * inserts and reorders keep it. One map per render.
 */
export class Provenance {
  private readonly byContainer = new WeakMap<object, SourceLocation[]>();

  get(container: object): SourceLocation[] | undefined {
    return this.byContainer.get(container);
  }

  set(container: object, locations: SourceLocation[]): void {
    this.byContainer.set(container, locations);
  }

  /** Appends a location, unless it is already the last one (a transformer that ran twice). */
  push(container: object, location: SourceLocation): void {
    const list = this.byContainer.get(container);
    if (!list) {
      this.byContainer.set(container, [location]);
      return;
    }
    const last = list[list.length - 1];
    if (last && last.file === location.file && last.line === location.line) return;
    list.push(location);
  }

  /** A deep copy of a JSON value; copied container objects carry a copy of their provenance. */
  clone<T>(value: T): T {
    return this.cloneValue(value) as T;
  }

  private cloneValue(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      const copy: unknown[] = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) copy[i] = this.cloneValue(value[i]);
      return copy;
    }
    const source = value as JsonObject;
    const copy: JsonObject = {};
    for (const key in source) copy[key] = this.cloneValue(source[key]);
    const locations = this.byContainer.get(source);
    if (locations) this.byContainer.set(copy, [...locations]);
    return copy;
  }

  /**
   * Gives every container object under `value` that has no provenance yet the location `locate`
   * returns for its path (relative to `value`). Used for containers a patch brought in.
   */
  adopt(value: unknown, locate: (path: PathSegment[]) => SourceLocation, base: PathSegment[] = []): void {
    walkContainers(value, base, (container, path) => {
      if (!this.byContainer.has(container)) this.byContainer.set(container, [locate([...path, 'image'])]);
    });
  }
}

/** Provenance lives as long as the container objects; one map serves every render. */
export const provenance = new Provenance();

/** Gives every container under a manifest's value the `image:` line of its document as provenance. */
export function setDocumentProvenance(value: JsonObject, file: string, document: YamlDocument, path: readonly PathSegment[]): void {
  walkContainers(value, [], (container, containerPath) => {
    const image = container['image'];
    provenance.set(container, typeof image === 'string' ? [{ file, line: document.lineOf([...path, ...containerPath, 'image']) }] : []);
  });
}

/** Copy on write: makes a shared resource's value and ids its own before a transformer changes them. */
export function ownValue(resource: Resource): void {
  const shared = resource.shared;
  if (shared === undefined) return;
  if (shared === 'build') {
    resource.value = provenance.clone(resource.value);
  } else {
    resource.value = structuredClone(resource.value);
    setDocumentProvenance(resource.value, resource.file, shared.document, shared.path);
  }
  resource.prevIds = resource.prevIds.map((id) => ({ ...id }));
  resource.shared = undefined;
}

/** Calls `visit` for every object element of a container list anywhere under `value` (with a fresh path array). */
export function walkContainers(
  value: unknown,
  path: PathSegment[],
  visit: (container: JsonObject, path: PathSegment[]) => void,
): void {
  const stack = [...path];
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        stack.push(i);
        walk(node[i]);
        stack.pop();
      }
      return;
    }
    const object = node as JsonObject;
    for (const key in object) {
      const item = object[key];
      if (typeof item !== 'object' || item === null) continue;
      stack.push(key);
      walk(item);
      if (Array.isArray(item) && CONTAINER_FIELDS.includes(key)) {
        for (let i = 0; i < item.length; i++) {
          const container: unknown = item[i];
          if (isObject(container)) visit(container, [...stack, i]);
        }
      }
      stack.pop();
    }
  };
  walk(value);
}

// ─── Ids ───────────────────────────────────────────────────────────────────

/** Kinds kustomize treats as cluster-scoped (no namespace, no namespace transformer). */
const CLUSTER_SCOPED = new Set([
  'APIService',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'ComponentStatus',
  'CSIDriver',
  'CSINode',
  'CustomResourceDefinition',
  'FlowSchema',
  'IngressClass',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Node',
  'PersistentVolume',
  'PodSecurityPolicy',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'RuntimeClass',
  'StorageClass',
  'TokenReview',
  'SelfSubjectAccessReview',
  'SelfSubjectRulesReview',
  'SubjectAccessReview',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function metadataOf(value: JsonObject): JsonObject {
  const metadata = value['metadata'];
  if (isObject(metadata)) return metadata;
  const created: JsonObject = {};
  value['metadata'] = created;
  return created;
}

export function currentId(value: JsonObject): ResId {
  const apiVersion = stringField(value['apiVersion']);
  const slash = apiVersion.indexOf('/');
  const metadata = isObject(value['metadata']) ? value['metadata'] : {};
  return {
    group: slash >= 0 ? apiVersion.slice(0, slash) : '',
    version: slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion,
    kind: stringField(value['kind']),
    name: stringField(metadata['name']),
    namespace: stringField(metadata['namespace']),
  };
}

export function originalId(resource: Resource): ResId {
  return resource.prevIds[0] ?? currentId(resource.value);
}

/** kustomize's EffectiveNamespace: `default` for none, a marker for cluster-scoped kinds. */
export function effectiveNamespace(id: ResId): string {
  if (isClusterScoped(id.kind)) return '~cluster';
  return id.namespace === '' ? 'default' : id.namespace;
}

export function sameId(a: ResId, b: ResId): boolean {
  return (
    a.group === b.group &&
    a.version === b.version &&
    a.kind === b.kind &&
    a.name === b.name &&
    effectiveNamespace(a) === effectiveNamespace(b)
  );
}

export function describeId(id: ResId): string {
  const gv = id.group ? `${id.group}/${id.version}` : id.version;
  return `${gv ? `${gv}, ` : ''}Kind=${id.kind}, ${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

export function storePreviousId(resource: Resource): void {
  resource.prevIds.push(currentId(resource.value));
}
