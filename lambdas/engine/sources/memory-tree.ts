/**
 * The FileTree every source returns: file contents held in a Map, paths sorted once by code unit
 * (not locale) so that every run lists them in the same order.
 */
import type { FileTree, Finding, SourceDescription } from '../model.js';
import { normalizeRepoPath } from './relevance.js';

export class MemoryFileTree implements FileTree {
  readonly description: SourceDescription;
  readonly findings: readonly Finding[];
  readonly notes: readonly string[];
  private readonly files: ReadonlyMap<string, Buffer>;
  private readonly sorted: readonly string[];

  constructor(description: SourceDescription, files: Iterable<readonly [string, Buffer]>, findings: readonly Finding[] = [], notes: readonly string[] = []) {
    this.description = Object.freeze({ ...description });
    this.files = new Map(files);
    this.sorted = Object.freeze([...this.files.keys()].sort(compareCodeUnits));
    this.findings = Object.freeze([...findings]);
    this.notes = Object.freeze([...notes]);
  }

  paths(): readonly string[] {
    return this.sorted;
  }

  /** Accepts `./a/b.yaml` and `a//b.yaml` as well as the canonical `a/b.yaml`. */
  read(path: string): Buffer | undefined {
    const exact = this.files.get(path);
    if (exact !== undefined) return exact;
    const normalized = normalizeRepoPath(path);
    return normalized === undefined ? undefined : this.files.get(normalized);
  }

  /** Bytes held, for logs and metrics. */
  get totalBytes(): number {
    let total = 0;
    for (const content of this.files.values()) total += content.length;
    return total;
  }
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
