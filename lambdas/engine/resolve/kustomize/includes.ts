/**
 * Which kustomizations are top-level: the include graph read from the kustomization files alone (resources,
 * bases, components, generator and transformer directories), walked with explicit queues so that a chain of
 * any length costs no stack. Kustomizations that only include each other (a → b → a) have no includer from
 * outside: one of each such group is top-level too, so that rendering it reports the cycle instead of the
 * group silently yielding "0 images".
 */
import type { FileTree, Finding } from '../../model.js';
import { isDirectory } from './files.js';
import { joinPath, readKustomization } from './kustomization.js';
import { findKustomizationFile, looksRemote } from './render.js';

/** The directories a kustomization refers to that the renderer would build (local directories only). */
export function referencedDirectories(tree: FileTree, dir: string): string[] {
  const file = findKustomizationFile(tree, dir);
  if (!file) return [];
  // Findings are the renderer's to report; here only the references matter.
  const ignored: Finding[] = [];
  const k = readKustomization(tree, file, ignored);
  if (!k) return [];
  const written = [...k.resources, ...k.components].map((entry) => entry.value);
  for (const plugin of [...k.generators, ...k.transformers]) if (plugin.path !== undefined) written.push(plugin.path);
  const out = new Set<string>();
  for (const value of written) {
    const path = joinPath(k.dir, value);
    if (!path.startsWith('..') && !looksRemote(value) && isDirectory(tree, path)) out.add(path);
  }
  return [...out];
}

/**
 * The candidates no other candidate includes (directly or through other kustomizations), then, in the
 * candidates' order, the first of every group that only its own members reach (a cycle): each is rendered
 * as a unit of its own. Iterative; every kustomization file is read once.
 */
export function topLevelKustomizations(tree: FileTree, candidates: readonly string[]): string[] {
  const edges = new Map<string, string[]>();
  const next = (dir: string): string[] => {
    let out = edges.get(dir);
    if (!out) {
      out = referencedDirectories(tree, dir);
      edges.set(dir, out);
    }
    return out;
  };
  /** Marks everything reachable from `starts` (the starts themselves only when reached again). */
  const reachFrom = (starts: Iterable<string>, into: Set<string>): void => {
    const queue = [...starts].flatMap(next);
    while (queue.length > 0) {
      const dir = queue.pop() as string;
      if (into.has(dir)) continue;
      into.add(dir);
      queue.push(...next(dir));
    }
  };
  const included = new Set<string>();
  reachFrom(candidates, included);
  const roots = candidates.filter((dir) => !included.has(dir));
  const covered = new Set<string>(roots);
  reachFrom(roots, covered);
  for (const dir of candidates) {
    if (covered.has(dir)) continue;
    // Reached only from inside its own group: the group includes itself. Render this one; it reports the cycle.
    roots.push(dir);
    covered.add(dir);
    reachFrom([dir], covered);
  }
  return roots;
}
