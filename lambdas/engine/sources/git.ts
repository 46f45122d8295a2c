/**
 * Reading a revision of a local git checkout without touching its work tree: `git rev-parse` to
 * resolve the revision, `git ls-tree -r -z --long` to list blobs with their sizes, then one
 * `git cat-file --batch` process for every blob the load rules keep.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { TreeIdentity } from '../model.js';
import type { LoadBudget } from './relevance.js';
import { compareCodeUnits } from './memory-tree.js';

export interface GitCheckout {
  /** Absolute path of the work tree's top level. */
  topLevel: string;
  /** The audited directory relative to the top level, POSIX, without trailing slash; '' for the top level. */
  prefix: string;
  /** HEAD commit, absent in a repository without commits. */
  head?: string;
  /** Current branch (short name), absent when HEAD is detached. */
  branch?: string;
}

/** Environment for git children: never prompt, never let an inherited GIT_DIR point elsewhere. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX']) {
    delete env[name];
  }
  return env;
}

function gitSync(cwd: string, args: readonly string[]): string | undefined {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8', env: gitEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/**
 * Whether `dir` lies inside a git work tree, and where. Synchronous (a few milliseconds) because a
 * source's description must be known when it is created. Undefined when git is missing too.
 */
export function detectGitCheckout(dir: string): GitCheckout | undefined {
  const located = gitSync(dir, ['rev-parse', '--show-toplevel', '--show-prefix']);
  if (located === undefined) return undefined;
  const [topLevel, prefix = ''] = located.split('\n');
  if (topLevel === undefined || topLevel === '') return undefined;
  const checkout: GitCheckout = { topLevel, prefix: prefix.replace(/\/+$/, '') };
  const head = gitSync(dir, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (head) checkout.head = head;
  const branch = gitSync(dir, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (branch) checkout.branch = branch;
  return checkout;
}

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function runGit(cwd: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err.trim() }));
  });
}

/** A revision we are willing to hand to git: no option look-alikes, no control characters. */
export function isPlausibleRevision(revision: string): boolean {
  return revision.length > 0 && revision.length <= 1024 && !revision.startsWith('-') && !/[\0-\x1f\x7f]/.test(revision);
}

/**
 * The commit a revision names (branch, tag, full or abbreviated sha). The remote-tracking branch
 * `origin/<rev>` comes first: a GitOps controller reads the remote, not a local branch that may lag behind.
 */
export async function resolveGitRevision(checkout: GitCheckout, revision: string): Promise<string | undefined> {
  if (!isPlausibleRevision(revision)) return undefined;
  const name = revision.replace(/^refs\/heads\//, '');
  const candidates = name.startsWith('refs/') ? [name] : [`refs/remotes/origin/${name}`, name];
  for (const candidate of candidates) {
    const result = await runGit(checkout.topLevel, ['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]);
    const sha = result.stdout.toString('utf8').trim();
    if (result.code === 0 && /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(sha)) return sha;
  }
  return undefined;
}

/** Short name of a ref for comparison with targetRevisions: `main` for refs/heads/main and refs/remotes/origin/main. */
function shortRefName(ref: string): string | undefined {
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  if (ref.startsWith('refs/tags/')) return ref.slice('refs/tags/'.length);
  const remote = /^refs\/remotes\/[^/]+\/(.+)$/.exec(ref);
  if (remote?.[1] !== undefined && remote[1] !== 'HEAD') return remote[1];
  return undefined;
}

/**
 * What the checkout's HEAD is: its commit, every local branch, remote-tracking branch and tag that
 * points at it, the remote's default branch (`origin/HEAD`), whether the clone sees every ref of its
 * remotes (not shallow, wildcard fetch refspecs; a repository without remotes is its own origin), and
 * the remotes' URLs.
 */
export async function identifyGitCheckout(checkout: GitCheckout): Promise<TreeIdentity> {
  const git = async (args: readonly string[]) => {
    const result = await runGit(checkout.topLevel, args);
    return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
  };
  const refs = new Set<string>();
  if (checkout.branch !== undefined) refs.add(checkout.branch);
  if (checkout.head !== undefined) {
    const pointing = await git(['for-each-ref', '--points-at', checkout.head, '--format=%(refname)']);
    for (const ref of (pointing ?? '').split('\n')) {
      const name = shortRefName(ref.trim());
      if (name !== undefined) refs.add(name);
    }
  }
  const originHead = await git(['symbolic-ref', '--quiet', 'refs/remotes/origin/HEAD']);
  const defaultBranch = originHead?.replace(/^refs\/remotes\/origin\//, '');
  const remoteConfig = (await git(['config', '--get-regexp', '^remote\\..*\\.(url|fetch)$'])) ?? '';
  const urls: string[] = [];
  const fetchSpecs = new Map<string, string[]>();
  for (const line of remoteConfig.split('\n')) {
    const match = /^remote\.(.+)\.(url|fetch) (.*)$/.exec(line.trim());
    if (!match?.[1] || match[3] === undefined) continue;
    if (match[2] === 'url') urls.push(match[3]);
    else fetchSpecs.set(match[1], [...(fetchSpecs.get(match[1]) ?? []), match[3]]);
  }
  const shallow = (await git(['rev-parse', '--is-shallow-repository'])) === 'true';
  const wildcard = [...fetchSpecs.values()].every((specs) => specs.some((spec) => /refs\/heads\/\*:/.test(spec)));
  const seesAllRefs = urls.length === 0 ? !shallow : !shallow && fetchSpecs.size > 0 && wildcard;
  return {
    ...(checkout.head !== undefined && { commit: checkout.head }),
    refs: [...refs],
    ...(defaultBranch !== undefined && defaultBranch !== '' && { defaultBranch }),
    seesAllRefs,
    urls,
  };
}

/** Tag names of the checkout. */
export async function listGitTags(checkout: GitCheckout): Promise<string[]> {
  const result = await runGit(checkout.topLevel, ['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags']);
  if (result.code !== 0) return [];
  return result.stdout.toString('utf8').split('\n').map((line) => line.trim()).filter(Boolean);
}

interface BlobEntry {
  path: string;
  object: string;
  size: number;
}

/** Blobs under the checkout's prefix at `commit`, paths relative to the prefix, sorted. */
async function listBlobs(checkout: GitCheckout, commit: string): Promise<BlobEntry[]> {
  const args = ['--literal-pathspecs', 'ls-tree', '-r', '-z', '--long', '--full-tree', commit];
  if (checkout.prefix !== '') args.push('--', checkout.prefix);
  const result = await runGit(checkout.topLevel, args);
  if (result.code !== 0) throw new Error(`git ls-tree failed: ${result.stderr}`);
  const strip = checkout.prefix === '' ? '' : `${checkout.prefix}/`;
  const entries: BlobEntry[] = [];
  for (const record of result.stdout.toString('utf8').split('\0')) {
    // <mode> SP <type> SP <object> SP+ <size> TAB <path>
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, object, size] = record.slice(0, tab).split(/ +/);
    const fullPath = record.slice(tab + 1);
    // Regular files only: symlinks (120000) and submodules (commit) are not followed.
    if (type !== 'blob' || (mode !== '100644' && mode !== '100755') || object === undefined || size === undefined) continue;
    if (!fullPath.startsWith(strip)) continue;
    entries.push({ path: fullPath.slice(strip.length), object, size: Number(size) });
  }
  return entries.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/** Reads the kept files of `commit` (below the checkout's prefix) through the budget. */
export async function readGitRevision(checkout: GitCheckout, commit: string, budget: LoadBudget): Promise<Map<string, Buffer>> {
  const wanted = (await listBlobs(checkout, commit)).filter((entry) => budget.admit(entry.path, entry.size));
  const files = new Map<string, Buffer>();
  if (wanted.length === 0) return files;
  const contents = await catFileBatch(checkout.topLevel, wanted.map((entry) => entry.object));
  wanted.forEach((entry, index) => {
    const content = contents[index];
    if (content !== undefined) files.set(entry.path, content);
  });
  return files;
}

/** Contents of `objects`, in order (undefined for a missing object), from one `git cat-file --batch`. */
function catFileBatch(cwd: string, objects: readonly string[]): Promise<(Buffer | undefined)[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const parser = new BatchOutputParser();
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => parser.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.stdin.on('error', () => {
      /* reported through 'close' */
    });
    child.on('close', (code) => {
      if (code !== 0 || parser.results.length !== objects.length) {
        reject(new Error(`git cat-file --batch failed (exit ${code ?? 'signal'}): ${stderr.trim()}`));
      } else {
        resolve(parser.results);
      }
    });
    child.stdin.end(`${objects.join('\n')}\n`);
  });
}

/**
 * Parses `git cat-file --batch` output incrementally: `<sha> <type> <size>\n<content>\n` per
 * object, or `<name> missing\n`. Content is copied once into a buffer of the announced size.
 */
export class BatchOutputParser {
  readonly results: (Buffer | undefined)[] = [];
  private header: Buffer[] = [];
  private body: { buffer: Buffer; filled: number } | undefined;
  private expectNewline = false;

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.expectNewline) {
        offset += 1; // the LF that follows each object's content
        this.expectNewline = false;
        continue;
      }
      if (this.body !== undefined) {
        const take = Math.min(this.body.buffer.length - this.body.filled, chunk.length - offset);
        chunk.copy(this.body.buffer, this.body.filled, offset, offset + take);
        this.body.filled += take;
        offset += take;
        if (this.body.filled === this.body.buffer.length) this.finishBody();
        continue;
      }
      const newline = chunk.indexOf(0x0a, offset);
      if (newline < 0) {
        this.header.push(chunk.subarray(offset));
        return;
      }
      this.header.push(chunk.subarray(offset, newline));
      offset = newline + 1;
      const line = Buffer.concat(this.header).toString('utf8');
      this.header = [];
      const fields = line.split(' ');
      if (fields[1] === 'missing' || fields.length < 3) {
        this.results.push(undefined);
        continue;
      }
      this.body = { buffer: Buffer.allocUnsafe(Number(fields[2])), filled: 0 };
      if (this.body.buffer.length === 0) this.finishBody();
    }
  }

  private finishBody(): void {
    if (this.body === undefined) return;
    this.results.push(this.body.buffer);
    this.body = undefined;
    this.expectNewline = true;
  }
}
