/**
 * kustomize `replacements` (api/filters/replacement): copy a field of one resource into fields of
 * others. Sources and targets are selected by exact group/version/kind/name/namespace against the
 * current or a previous id; field paths are dot-separated with `[key=value]` list selectors and `*`.
 */
import type { SourceLocation } from '../../model.js';
import { CONTAINER_FIELDS, currentId, effectiveNamespace, isObject, type JsonObject, type PathSegment, type Provenance, type ResId, type Resource } from './resource.js';

export interface ReplacementSpec {
  value: JsonObject;
  /** Where the replacement is written. */
  location: SourceLocation;
}

export class ReplacementError extends Error {}

type Selector = Partial<Record<'group' | 'version' | 'kind' | 'name' | 'namespace', string>>;

function selectorOf(value: unknown): Selector | undefined {
  if (!isObject(value)) return undefined;
  const selector: Selector = {};
  for (const key of ['group', 'version', 'kind', 'name', 'namespace'] as const) {
    const v = value[key];
    if (typeof v === 'string' && v !== '') selector[key] = v;
  }
  return selector;
}

function idsOf(resource: Resource): ResId[] {
  return [currentId(resource.value), ...resource.prevIds];
}

/** resid.IsSelectedBy: every field the selector sets must be equal. */
function isSelectedBy(id: ResId, selector: Selector): boolean {
  return (
    (!selector.name || selector.name === id.name) &&
    (!selector.namespace || effectiveNamespace({ ...id, namespace: selector.namespace }) === effectiveNamespace(id)) &&
    (!selector.group || selector.group === id.group) &&
    (!selector.version || selector.version === id.version) &&
    (!selector.kind || selector.kind === id.kind)
  );
}

/** kyaml SmarterPathSplitter: split on '.', but not inside [...]. */
export function splitFieldPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of path) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === '.' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.filter((p) => p !== '');
}

interface Match {
  parent: JsonObject | unknown[];
  key: string | number;
  /** Path of the field inside the resource. */
  path: PathSegment[];
}

/** Every field a path designates (kyaml PathMatcher without create). */
function matchFields(root: unknown, segments: string[]): Match[] {
  let frontier: { node: unknown; path: PathSegment[] }[] = [{ node: root, path: [] }];
  const matches: Match[] = [];
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    const next: { node: unknown; path: PathSegment[] }[] = [];
    for (const { node, path } of frontier) {
      const selector = /^\[([^=\]]+)=([^\]]*)\]$/.exec(segment);
      if (Array.isArray(node)) {
        node.forEach((item, index) => {
          const ok = segment === '*' || segment === '-' ? segment === '*' : selector ? isObject(item) && String(item[selector[1] ?? '']) === selector[2] : /^\d+$/.test(segment) && Number(segment) === index;
          if (!ok) return;
          if (last) matches.push({ parent: node, key: index, path: [...path, index] });
          else next.push({ node: item, path: [...path, index] });
        });
      } else if (isObject(node)) {
        const keys = segment === '*' ? Object.keys(node) : segment in node ? [segment] : [];
        for (const key of keys) {
          if (last) matches.push({ parent: node, key, path: [...path, key] });
          else next.push({ node: node[key], path: [...path, key] });
        }
      }
    }
    frontier = next;
  });
  return matches;
}

function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function optionsOf(value: unknown): { delimiter?: string; index: number } {
  if (!isObject(value)) return { index: 0 };
  const options: { delimiter?: string; index: number } = { index: typeof value['index'] === 'number' ? value['index'] : 0 };
  if (typeof value['delimiter'] === 'string' && value['delimiter'] !== '') options.delimiter = value['delimiter'];
  return options;
}

/**
 * Applies one replacement to the resources. `sourceLocation` says where a source field is written
 * (for provenance). Throws ReplacementError where kustomize build fails.
 */
export function applyReplacement(
  resources: Resource[],
  spec: ReplacementSpec,
  provenance: Provenance,
  sourceLocation: (resource: Resource, path: PathSegment[]) => SourceLocation | undefined,
): void {
  const source = spec.value['source'];
  const sourceSelector = selectorOf(source);
  if (!isObject(source) || !sourceSelector) throw new ReplacementError('a replacement needs a source');
  const sources = resources.filter((r) => idsOf(r).some((id) => isSelectedBy(id, sourceSelector)));
  if (sources.length !== 1) throw new ReplacementError(sources.length === 0 ? `nothing selected by source ${JSON.stringify(sourceSelector)}` : `multiple matches for source ${JSON.stringify(sourceSelector)}`);
  const sourceResource = sources[0] as Resource;
  const fieldPath = typeof source['fieldPath'] === 'string' && source['fieldPath'] !== '' ? source['fieldPath'] : 'metadata.name';
  const found = matchFields(sourceResource.value, splitFieldPath(fieldPath))[0];
  const raw = found ? (found.parent as Record<string | number, unknown>)[found.key] : undefined;
  if (raw === undefined || raw === null || raw === '') throw new ReplacementError(`fieldPath ${fieldPath} is missing for replacement source`);
  let value: unknown = raw;
  const sourceOptions = optionsOf(source['options']);
  if (sourceOptions.delimiter !== undefined) {
    const parts = scalarText(raw).split(sourceOptions.delimiter);
    if (sourceOptions.index >= parts.length || sourceOptions.index < 0) throw new ReplacementError(`options.index ${sourceOptions.index} is out of bounds for value ${scalarText(raw)}`);
    value = parts[sourceOptions.index];
  }
  const location = (found && sourceLocation(sourceResource, found.path)) ?? spec.location;

  const targets = Array.isArray(spec.value['targets']) ? spec.value['targets'] : [];
  for (const target of targets) {
    if (!isObject(target)) continue;
    const select = selectorOf(target['select']);
    if (!select) throw new ReplacementError('target must specify resources to select');
    const rejects = (Array.isArray(target['reject']) ? target['reject'] : []).map(selectorOf).filter((s): s is Selector => s !== undefined);
    const fieldPaths = (Array.isArray(target['fieldPaths']) ? target['fieldPaths'] : ['metadata.name']).filter((p): p is string => typeof p === 'string');
    const options = optionsOf(target['options']);
    for (const resource of resources) {
      const ids = idsOf(resource);
      if (!ids.some((id) => isSelectedBy(id, select))) continue;
      if (rejects.some((reject) => ids.some((id) => isSelectedBy(id, reject)))) continue;
      for (const path of fieldPaths) {
        const segments = splitFieldPath(path);
        const fields = matchFields(resource.value, segments);
        if (fields.length === 0) throw new ReplacementError(`unable to find field ${path} in replacement target`);
        for (const field of fields) {
          const parent = field.parent as Record<string | number, unknown>;
          let next: unknown = structuredClone(value);
          if (options.delimiter !== undefined) {
            const parts = scalarText(parent[field.key]).split(options.delimiter);
            const v = scalarText(value);
            if (options.index < 0) parts.unshift(v);
            else if (options.index >= parts.length) parts.push(v);
            else parts[options.index] = v;
            next = parts.join(options.delimiter);
          }
          parent[field.key] = next;
          // A container's image: record where the value came from.
          const containerPath = field.path.slice(0, -1);
          if (field.key === 'image' && CONTAINER_FIELDS.includes(String(containerPath[containerPath.length - 2] ?? ''))) {
            let container: unknown = resource.value;
            for (const segment of containerPath) container = Array.isArray(container) ? container[segment as number] : isObject(container) ? container[String(segment)] : undefined;
            if (isObject(container)) provenance.push(container, location);
          }
        }
      }
    }
  }
}
