/** FileTree and RepoSource helpers for the resolver's tests and bench: in memory or from a directory. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { RevisionUnavailableError, type FileTree, type RepoSource, type SourceDescription } from '../../lambdas/engine/model.js';

export function filesTree(files: Record<string, string>, description: SourceDescription = { kind: 'local', location: 'memory' }): FileTree {
  const contents = new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)]));
  const sorted = [...contents.keys()].sort();
  return { description, paths: () => sorted, read: (path) => contents.get(path), findings: [] };
}

export function directoryFileTree(root: string): FileTree {
  const paths: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) paths.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  paths.sort();
  const known = new Set(paths);
  return {
    description: { kind: 'local', location: root },
    paths: () => paths,
    read: (path) => (known.has(path) ? readFileSync(join(root, path)) : undefined),
    findings: [],
  };
}

/** A source whose default tree is `tree`; other revisions come from `revisions` or reject as unavailable. */
export function treeSource(tree: FileTree, revisions: Record<string, FileTree> = {}): RepoSource & { loads: string[] } {
  const loads: string[] = [];
  return {
    description: tree.description,
    loads,
    load(revision?: string) {
      loads.push(revision ?? '');
      if (revision === undefined) return Promise.resolve(tree);
      const other = revisions[revision];
      return other ? Promise.resolve(other) : Promise.reject(new RevisionUnavailableError(revision, 'not in this test source'));
    },
  };
}
