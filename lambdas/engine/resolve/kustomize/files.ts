/**
 * Per-tree memoisation: parsed YAML files and the set of directories. A FileTree is an immutable
 * snapshot, so results are keyed by the tree object and die with it.
 */
import type { FileTree } from '../../model.js';
import { loadYamlDocuments, type LoadedYaml } from '../../yaml/index.js';

interface TreeCache {
  yaml: Map<string, LoadedYaml>;
  dirs?: Set<string>;
  files?: Set<string>;
}

const caches = new WeakMap<FileTree, TreeCache>();

function cacheOf(tree: FileTree): TreeCache {
  let cache = caches.get(tree);
  if (!cache) {
    cache = { yaml: new Map() };
    caches.set(tree, cache);
  }
  return cache;
}

/** The parsed documents of a file, parsed once per tree. Callers must not mutate the values. */
export function loadCached(tree: FileTree, file: string): LoadedYaml {
  const cache = cacheOf(tree);
  let loaded = cache.yaml.get(file);
  if (!loaded) {
    const content = tree.read(file);
    loaded = content === undefined ? { documents: [], findings: [] } : loadYamlDocuments(file, content);
    cache.yaml.set(file, loaded);
  }
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
