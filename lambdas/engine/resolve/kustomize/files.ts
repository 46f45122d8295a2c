/**
 * Per-tree memoisation: parsed YAML files and the set of directories. A FileTree is an immutable
 * snapshot, so results are keyed by the tree object and die with it.
 */
import type { FileTree } from '../../model.js';
import { loadYamlDocuments, type LoadedYaml } from '../../yaml/index.js';
import { createStringPool, type StringPool } from '../../yaml/fast-path.js';

interface TreeCache {
  yaml: Map<string, LoadedYaml>;
  /** Documents parsed so far, against MAX_YAML_DOCUMENTS_PER_RUN. */
  documents: number;
  dirs?: Set<string>;
  files?: Set<string>;
  /** The strings of the cached documents: one copy per text, none pointing into a file's text. */
  strings: StringPool;
}

const caches = new WeakMap<FileTree, TreeCache>();

function cacheOf(tree: FileTree): TreeCache {
  let cache = caches.get(tree);
  if (!cache) {
    cache = { yaml: new Map(), documents: 0, strings: createStringPool() };
    caches.set(tree, cache);
  }
  return cache;
}

/**
 * SECURITY: YAML documents the resolver keeps per tree (one revision of a run). Each parsed document stays cached
 * with its line table, and ~50,000 distinct images peak at about 315 MB, file bytes included (bench/worst-case.ts):
 * 200 MiB of Deployments would be a million of them. Past this many, further files are not parsed; each gets a
 * LIMIT_EXCEEDED finding. The desired-state benchmark's 625 services are 20,000 documents.
 */
export const MAX_YAML_DOCUMENTS_PER_RUN = 50_000;

/** The parsed documents of a file, parsed once per tree. Callers must not mutate the values. */
export function loadCached(tree: FileTree, file: string): LoadedYaml {
  const cache = cacheOf(tree);
  let loaded = cache.yaml.get(file);
  if (!loaded) {
    const content = tree.read(file);
    loaded = content === undefined ? { documents: [], findings: [] } : loadWithinBudget(cache, file, content);
    cache.yaml.set(file, loaded);
  }
  return loaded;
}

function loadWithinBudget(cache: TreeCache, file: string, content: Buffer): LoadedYaml {
  const over = (): LoadedYaml => ({
    documents: [],
    findings: [
      {
        file,
        line: 0,
        code: 'LIMIT_EXCEEDED',
        severity: 'error',
        message: `the YAML files read in this run hold more than the cap of ${MAX_YAML_DOCUMENTS_PER_RUN} documents (MAX_YAML_DOCUMENTS_PER_RUN); ${file} was not read, so what it declares is unknown`,
        hint: 'Audit the repository in parts (paths).',
      },
    ],
  });
  // Exhausted: later files are not even parsed, so the time stays bounded too.
  if (cache.documents >= MAX_YAML_DOCUMENTS_PER_RUN) return over();
  const loaded = loadYamlDocuments(file, content, { strings: cache.strings });
  if (cache.documents + loaded.documents.length > MAX_YAML_DOCUMENTS_PER_RUN) {
    cache.documents = MAX_YAML_DOCUMENTS_PER_RUN;
    return over();
  }
  cache.documents += loaded.documents.length;
  return loaded;
}

/** Whether `path` is a directory of the tree (some file lives under it). The root '' always is. */
export function isDirectory(tree: FileTree, path: string): boolean {
  const cache = cacheOf(tree);
  if (!cache.dirs) {
    const dirs = new Set<string>(['']);
    for (const file of tree.paths()) {
      let slash = file.lastIndexOf('/');
      while (slash > 0) {
        const dir = file.slice(0, slash);
        if (dirs.has(dir)) break;
        dirs.add(dir);
        slash = dir.lastIndexOf('/');
      }
    }
    cache.dirs = dirs;
  }
  return cache.dirs.has(path);
}

export function isFile(tree: FileTree, path: string): boolean {
  const cache = cacheOf(tree);
  cache.files ??= new Set(tree.paths());
  return cache.files.has(path);
}
