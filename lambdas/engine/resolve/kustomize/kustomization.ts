/**
 * Reading a kustomization file into the fields that matter for images, each with the line it is
 * written on. Type errors kustomize would refuse (a number where a string is expected...) become
 * findings; the entry is left out, the rest is kept.
 */
import type { Finding, FileTree, SourceLocation } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import type { ImageTransform } from './images.js';
import { isObject, type JsonObject } from './resource.js';
import { loadCached } from './files.js';

/** File names kustomize recognises, in its order. */
export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export interface Entry {
  value: string;
  line: number;
  /** Where the entry is written when that is not the kustomization file (an app's edits). */
  file?: string;
}

export interface TargetSelector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

export interface PatchEntry {
  /** `patches`, `patchesStrategicMerge` or `patchesJson6902`. */
  field: 'patches' | 'patchesStrategicMerge' | 'patchesJson6902';
  path?: string;
  /** Inline patch text, and the line its first line is written on (in `file`, the kustomization by default). */
  patch?: { text: string; firstLine: number; file?: string };
  target?: TargetSelector;
  line: number;
  /** Where the entry is written when that is not the kustomization file (an app's edits). */
  file?: string;
}

/** A `transformers:` or `generators:` entry: a path (file or directory) or inline YAML. */
export interface PluginEntry {
  path?: string;
  inline?: { text: string; firstLine: number };
  line: number;
}

export interface Kustomization {
  file: string;
  dir: string;
  kind: string;
  /** `resources` then legacy `bases`, as kustomize concatenates them. */
  resources: Entry[];
  components: Entry[];
  namespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patchesStrategicMerge: PatchEntry[];
  patches: PatchEntry[];
  patchesJson6902: PatchEntry[];
  images: ImageTransform[];
  /** `commonLabels` and every `labels[].pairs`, set on metadata.labels (patch label selectors see them). */
  labels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** `replacements` entries: inline, or `path:` to a file of replacements. */
  replacements: { value?: Record<string, unknown>; path?: string; line: number }[];
  transformers: PluginEntry[];
  generators: PluginEntry[];
  /** Fields that need something we do not have offline (helm charts), with their lines. */
  remote: { what: string; line: number }[];
}

export function joinPath(dir: string, relative: string): string {
  return normalizePath(dir === '' || dir === '.' ? relative : `${dir}/${relative}`);
}

/** POSIX normalisation of a repository-relative path; `undefined` when it climbs above the root. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0 || out[out.length - 1] === '..') out.push('..');
      else out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'map';
  return typeof value;
}

class Reader {
  constructor(
    readonly doc: YamlDocument,
    readonly findings: Finding[],
  ) {}

  invalid(path: (string | number)[], message: string, hint?: string): void {
    const finding: Finding = { file: this.doc.file, line: this.doc.lineOf(path), code: 'INVALID_RESOURCE', message, severity: 'error' };
    if (hint) finding.hint = hint;
    this.findings.push(finding);
  }

  string(root: JsonObject, field: string): string | undefined {
    const value = root[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    this.invalid([field], `kustomization field ${field} must be a string, not a ${typeName(value)}; kustomize build fails`, 'Quote the value.');
    return undefined;
  }

  strings(root: JsonObject, field: string): Entry[] {
    const value = root[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.invalid([field], `kustomization field ${field} must be a list, not a ${typeName(value)}; kustomize build fails`);
      return [];
    }
    const entries: Entry[] = [];
    value.forEach((item, i) => {
      if (typeof item === 'string') entries.push({ value: item, line: this.doc.lineOf([field, i]) });
      else this.invalid([field, i], `${field} entry must be a string, not a ${typeName(item)}; kustomize build fails`);
    });
    return entries;
  }

  list(root: JsonObject, field: string): { item: JsonObject; index: number }[] {
    const value = root[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.invalid([field], `kustomization field ${field} must be a list, not a ${typeName(value)}; kustomize build fails`);
      return [];
    }
    const items: { item: JsonObject; index: number }[] = [];
    value.forEach((item, index) => {
      if (isObject(item)) items.push({ item, index });
      else this.invalid([field, index], `${field} entry must be a map, not a ${typeName(item)}; kustomize build fails`);
    });
    return items;
  }

  /** Optional string fields of a list entry; undefined (and a finding) when one has another type. */
  entryStrings<K extends string>(path: (string | number)[], item: JsonObject, keys: readonly K[]): Partial<Record<K, string>> | undefined {
    const result: Partial<Record<K, string>> = {};
    const label = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
    for (const key of keys) {
      const value = item[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') {
        this.invalid(
          [...path, key],
          `${label}.${key} must be a string, not a ${typeName(value)} (${JSON.stringify(value)}); kustomize build fails with "cannot unmarshal ${typeName(value)} into Go struct field"`,
          `Quote it: YAML reads the unquoted value as a ${typeName(value)} (${JSON.stringify(value)}), which may not be what was written.`,
        );
        return undefined;
      }
      result[key] = value;
    }
    return result;
  }

  /** The line an inline patch's first line is on: the next line for block scalars (`|`, `>`). */
  inlineFirstLine(path: (string | number)[], lines: string[]): number {
    const line = this.doc.lineOf(path);
    const text = lines[line - 1] ?? '';
    return /[|>][-+0-9]*\s*(#.*)?$/.test(text) ? line + 1 : line;
  }
}

const SELECTOR_KEYS = ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'] as const;

export function readKustomization(tree: FileTree, file: string, findings: Finding[]): Kustomization | undefined {
  const loaded = loadCached(tree, file);
  findings.push(...loaded.findings);
  const doc = loaded.documents[0];
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  if (!doc) {
    if (loaded.findings.length === 0) {
      findings.push({ file, line: 0, code: 'INVALID_RESOURCE', message: 'kustomization file is empty; kustomize build fails', severity: 'error' });
    }
    return undefined;
  }
  const reader = new Reader(doc, findings);
  const root = doc.value;
  if (!isObject(root)) {
    reader.invalid([], `kustomization must be a map, not a ${typeName(root)}; kustomize build fails`);
    return undefined;
  }
  const text = tree.read(file)?.toString('utf8') ?? '';
  const lines = text.split('\n');

  const k: Kustomization = {
    file,
    dir,
    kind: reader.string(root, 'kind') ?? 'Kustomization',
    resources: [...reader.strings(root, 'resources'), ...reader.strings(root, 'bases')],
    components: reader.strings(root, 'components'),
    patchesStrategicMerge: [],
    patches: [],
    patchesJson6902: [],
    images: [],
    labels: {},
    commonAnnotations: {},
    replacements: [],
    transformers: [],
    generators: [],
    remote: [],
  };
  const stringMap = (value: unknown): Record<string, string> =>
    isObject(value) ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([key, v]) => [key, String(v)])) : {};
  Object.assign(k.labels, stringMap(root['commonLabels']));
  if (Array.isArray(root['labels'])) for (const label of root['labels']) if (isObject(label)) Object.assign(k.labels, stringMap(label['pairs']));
  Object.assign(k.commonAnnotations, stringMap(root['commonAnnotations']));
  const namespace = reader.string(root, 'namespace');
  if (namespace) k.namespace = namespace;
  const namePrefix = reader.string(root, 'namePrefix');
  if (namePrefix) k.namePrefix = namePrefix;
  const nameSuffix = reader.string(root, 'nameSuffix');
  if (nameSuffix) k.nameSuffix = nameSuffix;

  for (const field of ['images', 'imageTags'] as const) {
    for (const { item, index } of reader.list(root, field)) {
      const strings = reader.entryStrings([field, index], item, ['name', 'newName', 'newTag', 'digest', 'tagSuffix'] as const);
      if (!strings) continue;
      if (!strings.name) {
        reader.invalid([field, index], `${field}[${index}] has no name; it matches nothing`);
        continue;
      }
      const key = strings.newTag !== undefined ? 'newTag' : strings.digest !== undefined ? 'digest' : strings.newName !== undefined ? 'newName' : strings.tagSuffix !== undefined ? 'tagSuffix' : 'name';
      const location: SourceLocation = { file, line: doc.lineOf([field, index, key]) };
      const transform: ImageTransform = { name: strings.name, location };
      if (strings.newName) transform.newName = strings.newName;
      if (strings.newTag) transform.newTag = strings.newTag;
      if (strings.digest) transform.digest = strings.digest;
      if (strings.tagSuffix) transform.tagSuffix = strings.tagSuffix;
      k.images.push(transform);
    }
  }

  const readTarget = (field: string, index: number, value: unknown): TargetSelector | undefined | false => {
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      reader.invalid([field, index, 'target'], `${field}[${index}].target must be a map`);
      return false;
    }
    const strings = reader.entryStrings([field, index, 'target'], value, SELECTOR_KEYS);
    return strings ?? false;
  };

  for (const { item, index } of reader.list(root, 'patches')) {
    const strings = reader.entryStrings(['patches', index], item, ['path', 'patch'] as const);
    const target = readTarget('patches', index, item['target']);
    if (!strings || target === false) continue;
    const entry: PatchEntry = { field: 'patches', line: doc.lineOf(['patches', index]) };
    if (strings.path) entry.path = strings.path;
    if (strings.patch) entry.patch = { text: strings.patch, firstLine: reader.inlineFirstLine(['patches', index, 'patch'], lines) };
    if (target) entry.target = target;
    if (!entry.path === !entry.patch) {
      reader.invalid(['patches', index], `patches[${index}] must set exactly one of path and patch; kustomize build fails`);
      continue;
    }
    k.patches.push(entry);
  }

  const psm = root['patchesStrategicMerge'];
  if (Array.isArray(psm)) {
    psm.forEach((item, index) => {
      if (typeof item !== 'string') {
        reader.invalid(['patchesStrategicMerge', index], `patchesStrategicMerge entry must be a string, not a ${typeName(item)}`);
        return;
      }
      const entry: PatchEntry = { field: 'patchesStrategicMerge', line: doc.lineOf(['patchesStrategicMerge', index]) };
      // kustomize first tries the entry as inline YAML, then as a file path.
      if (item.trim().includes('\n') || item.trim().startsWith('{')) {
        entry.patch = { text: item, firstLine: reader.inlineFirstLine(['patchesStrategicMerge', index], lines) };
      } else {
        entry.path = item;
      }
      k.patchesStrategicMerge.push(entry);
    });
  } else if (psm !== undefined && psm !== null) {
    reader.invalid(['patchesStrategicMerge'], 'patchesStrategicMerge must be a list');
  }

  for (const { item, index } of reader.list(root, 'patchesJson6902')) {
    const strings = reader.entryStrings(['patchesJson6902', index], item, ['path', 'patch'] as const);
    const target = readTarget('patchesJson6902', index, item['target']);
    if (!strings || target === false) continue;
    if (!target?.name) {
      reader.invalid(['patchesJson6902', index], `patchesJson6902[${index}] must name its target; kustomize build fails`);
      continue;
    }
    const entry: PatchEntry = { field: 'patchesJson6902', line: doc.lineOf(['patchesJson6902', index]), target };
    if (strings.path) entry.path = strings.path;
    if (strings.patch) entry.patch = { text: strings.patch, firstLine: reader.inlineFirstLine(['patchesJson6902', index, 'patch'], lines) };
    if (!entry.path === !entry.patch) {
      reader.invalid(['patchesJson6902', index], `patchesJson6902[${index}] must set exactly one of path and patch; kustomize build fails`);
      continue;
    }
    k.patchesJson6902.push(entry);
  }

  for (const { item, index } of reader.list(root, 'replacements')) {
    const line = doc.lineOf(['replacements', index]);
    if (typeof item['path'] === 'string') k.replacements.push({ path: item['path'], line });
    else k.replacements.push({ value: item, line });
  }

  for (const field of ['transformers', 'generators'] as const) {
    const value = root[field];
    if (!Array.isArray(value)) continue;
    value.forEach((item, index) => {
      if (typeof item !== 'string') {
        reader.invalid([field, index], `${field} entry must be a string, not a ${typeName(item)}; kustomize build fails`);
        return;
      }
      const line = doc.lineOf([field, index]);
      if (item.trim().includes('\n')) k[field].push({ inline: { text: item, firstLine: reader.inlineFirstLine([field, index], lines) }, line });
      else k[field].push({ path: item, line });
    });
  }

  for (const field of ['helmCharts', 'helmChartInflationGenerator'] as const) {
    const value = root[field];
    if (Array.isArray(value)) {
      value.forEach((chart, index) => {
        const name = isObject(chart) && typeof chart['name'] === 'string' ? chart['name'] : `#${index + 1}`;
        const repo = isObject(chart) && typeof chart['repo'] === 'string' ? ` from ${chart['repo']}` : '';
        k.remote.push({ what: `helm chart ${name}${repo}`, line: doc.lineOf([field, index]) });
      });
    }
  }
  return k;
}
