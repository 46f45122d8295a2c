import type { SourceLocation } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import { isRecord, stringField, type ValuePath } from '../types.js';

/** A Kubernetes object found in a document: the document itself, or an item of a `List`. */
export interface KubernetesResource {
  apiVersion?: string;
  kind: string;
  name?: string;
  namespace?: string;
  value: Record<string, unknown>;
  /** Path of the resource inside its document: `[]`, or `['items', 3]` for a List item. */
  path: ValuePath;
  document: YamlDocument;
  location: SourceLocation;
}

/** Lists nested deeper than this are not expanded (they do not occur in practice; this bounds recursion). */
const MAX_LIST_DEPTH = 4;

/**
 * The resources of a document. `kind: List` and any `*List` kind with an `items` array
 * (`v1/List`, `DeploymentList`...) are expanded; each item keeps its own path and line.
 * Values without a string `kind` are not resources and give nothing.
 */
export function listResources(document: YamlDocument): KubernetesResource[] {
  const resources: KubernetesResource[] = [];
  collect(document, document.value, [], 0, resources);
  return resources;
}

function collect(document: YamlDocument, value: unknown, path: ValuePath, depth: number, out: KubernetesResource[]): void {
  if (!isRecord(value)) return;
  const kind = stringField(value, 'kind');
  if (kind === undefined) return;
  const items = value['items'];
  if (kind.endsWith('List') && Array.isArray(items) && depth < MAX_LIST_DEPTH) {
    items.forEach((item, index) => collect(document, item, [...path, 'items', index], depth + 1, out));
    return;
  }
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  const resource: KubernetesResource = {
    kind,
    value,
    path,
    document,
    location: { file: document.file, line: document.lineOf(path) },
  };
  const apiVersion = stringField(value, 'apiVersion');
  const name = stringField(metadata, 'name');
  const namespace = stringField(metadata, 'namespace');
  if (apiVersion !== undefined) resource.apiVersion = apiVersion;
  if (name !== undefined) resource.name = name;
  if (namespace !== undefined) resource.namespace = namespace;
  out.push(resource);
}
