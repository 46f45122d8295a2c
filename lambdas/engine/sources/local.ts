/**
 * A local directory as a RepoSource. `load()` reads the files on disk (work tree, uncommitted
 * changes included); `load(revision)` reads a committed revision from git when the directory is
 * inside a checkout, without touching the work tree.
 */
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Dirent } from 'node:fs';
import {
  RevisionUnavailableError,
  type FileTree,
  type Finding,
  type RepoSource,
  type SourceDescription,
  type TreeIdentity,
} from '../model.js';
import { SourceUnavailableError } from './errors.js';
import { detectGitCheckout, identifyGitCheckout, listGitTags, readGitRevision, resolveGitRevision, type GitCheckout } from './git.js';
import { MemoryFileTree, compareCodeUnits } from './memory-tree.js';
import { LoadBudget, type RelevanceOptions } from './relevance.js';

export interface LocalSourceOptions extends RelevanceOptions {
  /** Parallel file-system operations. Default 32. */
  concurrency?: number;
  /** Look for an enclosing git checkout (description kind `git`, `load(revision)`). Default true. */
  detectGit?: boolean;
}

export function createLocalSource(dir: string, options: LocalSourceOptions = {}): RepoSource {
  return new LocalSource(dir, options);
}

class LocalSource implements RepoSource {
  readonly description: SourceDescription;
  private readonly root: string;
  private readonly checkout: GitCheckout | undefined;
  private workTree: Promise<FileTree> | undefined;
  private readonly revisions = new Map<string, Promise<FileTree>>();
  private identity: Promise<TreeIdentity> | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: LocalSourceOptions,
  ) {
    this.root = resolve(dir);
    this.checkout = options.detectGit === false ? undefined : detectGitCheckout(this.root);
    this.description = this.checkout
      ? {
          kind: 'git',
          location: dir,
          ...(this.checkout.branch !== undefined && { ref: this.checkout.branch }),
          ...(this.checkout.head !== undefined && { commit: this.checkout.head }),
        }
      : { kind: 'local', location: dir };
  }

  /** A plain directory knows nothing about itself; a checkout knows HEAD and the refs at it. */
  identify(): Promise<TreeIdentity> {
    const checkout = this.checkout;
    this.identity ??= checkout ? identifyGitCheckout(checkout) : Promise.resolve({ refs: [], seesAllRefs: false, urls: [] });
    return this.identity;
  }

  async resolveRevision(revision: string): Promise<string | undefined> {
    return this.checkout ? resolveGitRevision(this.checkout, revision) : undefined;
  }

  async listTags(): Promise<string[]> {
    return this.checkout ? listGitTags(this.checkout) : [];
  }

  load(revision?: string): Promise<FileTree> {
    if (revision === undefined) {
      this.workTree ??= this.loadWorkTree().catch((error: unknown) => {
        this.workTree = undefined;
        throw error;
      });
      return this.workTree;
    }
    let pending = this.revisions.get(revision);
    if (pending === undefined) {
      pending = this.loadRevision(revision);
      this.revisions.set(revision, pending);
    }
    return pending;
  }

  private async loadWorkTree(): Promise<FileTree> {
    let realRoot: string;
    try {
      realRoot = await realpath(this.root);
      if (!(await stat(realRoot)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new SourceUnavailableError(this.dir, 'not-found', `${this.dir} is not a readable directory`);
    }
    const budget = new LoadBudget(this.options);
    const walker = new DirectoryWalker(realRoot, budget, this.options.concurrency ?? 32);
    const candidates = await walker.collect();
    candidates.sort((a, b) => compareCodeUnits(a.path, b.path));
    const admitted = candidates.filter((candidate) => budget.admit(candidate.path, candidate.size));
    const files = new Map<string, Buffer>();
    await Promise.all(
      admitted.map((candidate) =>
        walker.limit(async () => {
          try {
            const content = await readFile(candidate.absolute);
            // The file may have grown since it was measured.
            if (content.length > budget.maxFileBytes) budget.recordTooLarge(candidate.path, content.length);
            else files.set(candidate.path, content);
          } catch (error) {
            budget.record({
              file: candidate.path,
              line: 0,
              code: 'SOURCE_ERROR',
              message: `${candidate.path} could not be read: ${errorCode(error)}`,
              severity: 'warning',
            });
          }
        }),
      ),
    );
    // Walking and reading run in parallel: sort findings (stable) so that every run reports them in the same order.
    const findings = [...walker.findings, ...budget.findings].sort((a, b) => compareCodeUnits(a.file, b.file));
    return new MemoryFileTree(this.description, files, findings, budget.notes);
  }

  private async loadRevision(revision: string): Promise<FileTree> {
    if (this.checkout === undefined) throw new RevisionUnavailableError(revision, 'not a git checkout');
    const commit = await resolveGitRevision(this.checkout, revision);
    if (commit === undefined) {
      const { seesAllRefs } = await this.identify();
      throw new RevisionUnavailableError(
        revision,
        seesAllRefs
          ? `no branch, tag or commit ${revision} in ${this.dir} (a full clone: it does not exist on the remote)`
          : `git cannot resolve it in ${this.dir} (also tried origin/${revision}); fetch it first`,
        seesAllRefs,
      );
    }
    const budget = new LoadBudget(this.options);
    const files = await readGitRevision(this.checkout, commit, budget);
    return new MemoryFileTree({ kind: 'git', location: this.dir, ref: revision, commit }, files, budget.findings, budget.notes);
  }
}

interface Candidate {
  /** Repository-relative POSIX path (through symlinks as written, not as resolved). */
  path: string;
  absolute: string;
  size: number;
}

/** Walks a directory tree in parallel, following symlinks only while they stay inside the root. */
class DirectoryWalker {
  readonly findings: Finding[] = [];
  private readonly candidates: Candidate[] = [];
  private readonly visitedDirectories = new Set<string>();
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly realRoot: string,
    private readonly budget: LoadBudget,
    private readonly concurrency: number,
  ) {}

  async collect(): Promise<Candidate[]> {
    this.visitedDirectories.add(this.realRoot);
    await this.walk(this.realRoot, '');
    return this.candidates;
  }

  /** Runs `task` when fewer than `concurrency` tasks run. Never hold a slot while waiting on another. */
  async limit<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((wake) => this.queue.push(wake));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.queue.shift()?.();
    }
  }

  private async walk(absoluteDir: string, relativeDir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await this.limit(() => readdir(absoluteDir, { withFileTypes: true }));
    } catch (error) {
      this.findings.push({
        file: relativeDir,
        line: 0,
        code: 'SOURCE_ERROR',
        message: `directory ${relativeDir || '.'} could not be read: ${errorCode(error)}`,
        severity: 'warning',
      });
      return;
    }
    const pending: Promise<void>[] = [];
    for (const entry of entries) {
      const path = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      const absolute = join(absoluteDir, entry.name);
      if (entry.isDirectory()) {
        if (this.budget.wantsDirectory(path)) pending.push(this.walk(absolute, path));
      } else if (entry.isFile()) {
        if (this.budget.wantsFile(path)) pending.push(this.measure(absolute, path));
      } else if (entry.isSymbolicLink()) {
        pending.push(this.followLink(absolute, path));
      }
    }
    await Promise.all(pending);
  }

  private async measure(absolute: string, path: string): Promise<void> {
    try {
      const info = await this.limit(() => stat(absolute));
      if (info.isFile()) this.candidates.push({ path, absolute, size: info.size });
    } catch {
      // Vanished between readdir and stat: nothing to load.
    }
  }

  private async followLink(absolute: string, path: string): Promise<void> {
    let target: string;
    try {
      target = await this.limit(() => realpath(absolute));
    } catch {
      return; // dangling link
    }
    if (!this.isInsideRoot(target)) {
      // Only worth a finding when the link would otherwise have been loaded or walked.
      const info = await this.limit(() => lstat(target)).catch(() => undefined);
      const relevant = info?.isDirectory() ? this.budget.wantsDirectory(path) : this.budget.wantsFile(path);
      if (relevant) {
        this.findings.push({
          file: path,
          line: 0,
          code: 'SOURCE_ERROR',
          message: `${path} is a symbolic link to a location outside the repository; not followed`,
          severity: 'warning',
        });
      }
      return;
    }
    const info = await this.limit(() => stat(target)).catch(() => undefined);
    if (info?.isFile()) {
      if (this.budget.wantsFile(path)) this.candidates.push({ path, absolute: target, size: info.size });
    } else if (info?.isDirectory() && this.budget.wantsDirectory(path)) {
      // Walked paths are real paths, so a link to an ancestor of its own directory is a cycle.
      const parent = dirname(absolute);
      if (parent === target || parent.startsWith(`${target}${sep}`)) return;
      if (this.visitedDirectories.has(target)) return; // already reached through another link
      this.visitedDirectories.add(target);
      await this.walk(target, path);
    }
  }

  private isInsideRoot(target: string): boolean {
    const rel = relative(this.realRoot, target);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  }
}

function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
