/**
 * A GitHub repository as a RepoSource, read through the REST API (github.com or GitHub Enterprise).
 *
 * One load costs: `GET /repos/{o}/{r}` (only when no ref was given, for the default branch),
 * `GET /repos/{o}/{r}/commits/{ref}` (media type `sha`: the commit as 40 hex characters), and one
 * archive download (`GET /repos/{o}/{r}/tarball/{sha}`, redirected to codeload) streamed through
 * gunzip and tar-stream. The archive's pax global header names its commit (`comment=<sha>`): when the
 * commit lookup answers without a SHA, the archive of the ref itself is downloaded and its commit taken
 * from there. Both API lookups are conditional (`If-None-Match`), and snapshots are cached by commit, in memory (warm Lambda containers) and in `cacheDir`: an unchanged repository
 * costs only 304s, which do not count against GitHub's rate limit, and no download.
 *
 * The token is sent to the API host only. The archive redirect is followed by hand, and the token
 * goes along only when the redirect stays on the API's origin (GitHub Enterprise serves archives
 * itself; github.com redirects to codeload.github.com with a signed URL that needs no token).
 * Nothing here logs; error messages never contain the token or signed URLs.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { Octokit } from '@octokit/core';
import { RevisionUnavailableError, type FileTree, type Finding, type RepoSource, type SourceDescription, type TreeIdentity } from '../model.js';
import { SourceUnavailableError, type SourceUnavailableReason } from './errors.js';
import { MemoryFileTree } from './memory-tree.js';
import { LoadBudget, type RelevanceOptions } from './relevance.js';
import { extractArchive, readTar, writeTar } from './tarball.js';
import { guardedFetch } from '../http/guarded-fetch.js';
import { operatorOutboundPolicy, type OutboundSettings } from '../registry/outbound.js';

export const GITHUB_API_URL = 'https://api.github.com';
const API_VERSION = '2022-11-28';
const USER_AGENT = 'image-drift-auditor';
const MAX_REDIRECTS = 5;

export interface GitHubSourceOptions extends RelevanceOptions {
  owner: string;
  repo: string;
  /** Branch, tag or commit to audit. Default: the repository's default branch. */
  ref?: string;
  /** Token for private repositories and a higher rate limit. Never logged. */
  token?: string;
  /** API root; GitHub Enterprise Server: `https://HOST/api/v3`. Default https://api.github.com. */
  baseUrl?: string;
  /** Directory for ETags and extracted snapshots (the CLI: `.image-drift/cache`, the Lambda: `/tmp`). */
  cacheDir?: string;
  /** Snapshots kept per repository in `cacheDir`. Default 2. */
  keepSnapshots?: number;
  /** Keep ETags and snapshots in process memory too (warm Lambda containers). Default true. */
  memoryCache?: boolean;
  /**
   * fetch implementation for the API and the archive. Default globalThis.fetch. It gets the outbound policy's
   * connect-time check as `init.dispatcher`; one that ignores it (or brings its own) gets only the pre-request one.
   */
  fetch?: typeof globalThis.fetch;
  /** Decompressed bytes the archive may inflate to (MAX_ARCHIVE_BYTES). Default 1 GiB. */
  maxArchiveBytes?: number;
  /** Entries the archive may hold (MAX_ARCHIVE_ENTRIES). Default 200,000. */
  maxArchiveEntries?: number;
  /**
   * The outbound policy's settings (registry/outbound.ts): every API request and archive redirect is decided before
   * it is sent. The API host is configured (allowed whatever it resolves to, except link-local and metadata with
   * `refuseLinkLocal`, the Lambda); redirects elsewhere must resolve to public addresses or be listed in `allow`.
   */
  outbound?: OutboundSettings;
}

interface Snapshot {
  files: ReadonlyMap<string, Buffer>;
  findings: readonly Finding[];
  /** The load rules' notes (files `exclude:` kept out). */
  notes: readonly string[];
  bytes: number;
  /** The commit the archive's pax global header names (`comment=<sha>`), when it has one. */
  archiveCommit?: string;
}

const FULL_SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The commit lookup answered, but without a commit SHA (a proxy or server that drops the `sha` media type's body). */
class CommitNotGivenError extends SourceUnavailableError {}

interface ConditionalValue {
  etag: string;
  value: string;
}

// ─── Process-wide caches (survive between invocations of a warm Lambda container) ──────────

const MEMORY_SNAPSHOT_BYTES = 256 * 1024 * 1024;
const memoryEtags = new Map<string, ConditionalValue>();
const memorySnapshots = new Map<string, Snapshot>();

function rememberSnapshot(key: string, snapshot: Snapshot): void {
  memorySnapshots.delete(key);
  memorySnapshots.set(key, snapshot);
  let total = 0;
  for (const entry of memorySnapshots.values()) total += entry.bytes;
  for (const [oldKey, entry] of memorySnapshots) {
    if (total <= MEMORY_SNAPSHOT_BYTES || oldKey === key) break;
    memorySnapshots.delete(oldKey);
    total -= entry.bytes;
  }
}

/** Forgets everything cached in memory (tests; a Lambda never needs it). */
export function clearGitHubMemoryCache(): void {
  memoryEtags.clear();
  memorySnapshots.clear();
}

export function createGitHubSource(options: GitHubSourceOptions): RepoSource {
  return new GitHubSource(options);
}

const NAME = /^[A-Za-z0-9_.-]+$/;

class GitHubSource implements RepoSource {
  private readonly octokit: Octokit;
  private readonly apiBase: string;
  private readonly location: string;
  private readonly tokenKey: string;
  private readonly rulesKey: string;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly useMemory: boolean;
  private readonly loads = new Map<string, Promise<FileTree>>();
  /** Snapshots of this source by commit: one download per commit even without the shared caches. */
  private readonly snapshots = new Map<string, Promise<Snapshot>>();
  private repository: Promise<string> | undefined;
  private stateWrites: Promise<void> = Promise.resolve();
  private defaultCommit: string | undefined;

  constructor(private readonly options: GitHubSourceOptions) {
    if (!NAME.test(options.owner) || !NAME.test(options.repo)) {
      throw new SourceUnavailableError(`${options.owner}/${options.repo}`, 'invalid', `"${options.owner}/${options.repo}" is not a GitHub repository name`);
    }
    this.location = `${options.owner}/${options.repo}`;
    this.apiBase = (options.baseUrl ?? GITHUB_API_URL).replace(/\/+$/, '');
    this.fetchImpl = guardedFetch({
      policy: operatorOutboundPolicy({ endpointUrls: [this.apiBase], settings: options.outbound }),
      endpoint: new URL(this.apiBase),
      fetch: options.fetch ?? globalThis.fetch,
    });
    this.useMemory = options.memoryCache !== false;
    this.tokenKey = options.token ? createHash('sha256').update(options.token).digest('hex').slice(0, 16) : 'anonymous';
    this.rulesKey = createHash('sha256')
      .update(LoadBudget.cacheKey(options))
      .update(options.maxArchiveBytes === undefined && options.maxArchiveEntries === undefined ? '' : JSON.stringify([options.maxArchiveBytes, options.maxArchiveEntries]))
      .digest('hex')
      .slice(0, 12);
    this.octokit = new Octokit({
      ...(options.token !== undefined && { auth: options.token }),
      baseUrl: this.apiBase,
      userAgent: USER_AGENT,
      request: { fetch: this.fetchImpl },
      // Octokit logs failed requests to the console by default; failures are reported as errors instead.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  }

  get description(): SourceDescription {
    return {
      kind: 'github',
      location: this.location,
      ...(this.options.ref !== undefined && { ref: this.options.ref }),
      ...(this.defaultCommit !== undefined && { commit: this.defaultCommit }),
    };
  }

  /**
   * The audited commit (loading the default tree if that has not happened yet), the ref it was asked
   * as, and the default branch. The API sees every branch and tag, so an unknown revision is missing.
   */
  async identify(): Promise<TreeIdentity> {
    const tree = await this.load();
    const defaultBranch = await this.defaultBranch().catch(() => undefined);
    const ref = tree.description.ref;
    const host = new URL(this.apiBase).host.replace(/^api\./, '');
    return {
      ...(tree.description.commit !== undefined && { commit: tree.description.commit }),
      refs: ref !== undefined ? [ref] : [],
      ...(defaultBranch !== undefined && { defaultBranch }),
      seesAllRefs: true,
      urls: [`https://${host}/${this.location}`],
    };
  }

  async resolveRevision(revision: string): Promise<string | undefined> {
    try {
      return await this.resolveCommit(revision, true);
    } catch (error) {
      if (error instanceof RevisionUnavailableError) return undefined;
      throw error;
    }
  }

  load(revision?: string): Promise<FileTree> {
    const key = revision === undefined ? '\0default' : revision;
    let pending = this.loads.get(key);
    if (pending === undefined) {
      pending = this.loadTree(revision);
      this.loads.set(key, pending);
      pending.catch(() => this.loads.delete(key));
    }
    return pending;
  }

  private async loadTree(revision: string | undefined): Promise<FileTree> {
    const ref = revision ?? this.options.ref ?? (await this.defaultBranch());
    let commit: string;
    let snapshot: Snapshot;
    try {
      commit = await this.resolveCommit(ref, revision !== undefined);
      snapshot = await this.snapshot(commit);
    } catch (error) {
      if (!(error instanceof CommitNotGivenError)) throw error;
      // The archive of the ref itself names its commit in its pax global header, as `git archive` writes it.
      snapshot = await this.download(ref, false);
      if (snapshot.archiveCommit === undefined) throw error;
      commit = snapshot.archiveCommit;
      this.snapshots.set(commit, Promise.resolve(snapshot));
      await this.writeDiskSnapshot(commit, snapshot);
    }
    if (revision === undefined) this.defaultCommit = commit;
    return new MemoryFileTree({ kind: 'github', location: this.location, ref, commit }, snapshot.files, snapshot.findings, snapshot.notes);
  }

  // ─── Ref → commit ─────────────────────────────────────────────────────────────────────────

  private defaultBranch(): Promise<string> {
    this.repository ??= this.conditional('repo', '', async (headers) => {
      const response = await this.octokit.request('GET /repos/{owner}/{repo}', { owner: this.options.owner, repo: this.options.repo, headers });
      return { etag: response.headers.etag, value: response.data.default_branch };
    }).catch((error: unknown) => {
      this.repository = undefined;
      throw this.failure(error, 'repository');
    });
    return this.repository;
  }

  private async resolveCommit(ref: string, explicit: boolean): Promise<string> {
    try {
      return await this.conditional('commit', ref, async (headers) => {
        const response = await this.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', {
          owner: this.options.owner,
          repo: this.options.repo,
          ref,
          headers: { ...headers, accept: 'application/vnd.github.sha' },
        });
        const data: unknown = response.data;
        // The SHA as text; the JSON commit object from a server that ignores the media type.
        const sha = typeof data === 'string' ? data.trim() : typeof data === 'object' && data !== null && 'sha' in data && typeof data.sha === 'string' ? data.sha : '';
        if (!FULL_SHA.test(sha)) {
          throw new CommitNotGivenError(this.location, 'server-error', `GitHub answered the commit lookup for ${ref} with something that is not a commit SHA`);
        }
        return { etag: response.headers.etag, value: sha };
      });
    } catch (error) {
      const status = httpStatus(error);
      // 422 "No commit found for SHA", or 404 for a ref in a repository we can see.
      const unknownRef = status === 422 || (status === 404 && (await this.repositoryVisible()));
      if (unknownRef) {
        if (explicit) throw new RevisionUnavailableError(ref, `${this.location} has no branch, tag or commit named ${ref}`, true);
        throw new SourceUnavailableError(this.location, 'not-found', `${this.location} has no branch, tag or commit named ${ref}`, {
          status: status ?? 404,
          hint: 'Check the @REF part of --repo.',
        });
      }
      throw this.failure(error, 'repository');
    }
  }

  private async repositoryVisible(): Promise<boolean> {
    try {
      await this.defaultBranch();
      return true;
    } catch {
      return false;
    }
  }

  /** A GET with If-None-Match: the cached value on 304, the fresh value (and ETag, remembered) otherwise. */
  private async conditional(
    kind: 'repo' | 'commit',
    ref: string,
    call: (headers: Record<string, string>) => Promise<{ etag: string | undefined; value: string }>,
  ): Promise<string> {
    const key = `${this.tokenKey}|${kind}|${ref}`;
    const cached = await this.readEtag(key);
    try {
      const fresh = await call(cached ? { 'if-none-match': cached.etag } : {});
      if (fresh.etag) await this.writeEtag(key, { etag: fresh.etag, value: fresh.value });
      return fresh.value;
    } catch (error) {
      if (cached && httpStatus(error) === 304) return cached.value;
      throw error;
    }
  }

  // ─── Snapshots ────────────────────────────────────────────────────────────────────────────

  private snapshot(commit: string): Promise<Snapshot> {
    let pending = this.snapshots.get(commit);
    if (pending === undefined) {
      pending = this.cachedOrDownloaded(commit);
      this.snapshots.set(commit, pending);
      pending.catch(() => this.snapshots.delete(commit));
    }
    return pending;
  }

  private async cachedOrDownloaded(commit: string): Promise<Snapshot> {
    const memoryKey = `${this.apiBase}|${this.location}|${commit}|${this.rulesKey}`;
    const inMemory = this.useMemory ? memorySnapshots.get(memoryKey) : undefined;
    if (inMemory) return inMemory;
    const snapshot = (await this.readDiskSnapshot(commit)) ?? (await this.download(commit, true));
    if (this.useMemory) rememberSnapshot(memoryKey, snapshot);
    return snapshot;
  }

  /** Downloads the archive of `commit` (a SHA, or a ref when the commit lookup gave none); `store`: write it to the disk cache under `commit`. */
  private async download(commit: string, store: boolean): Promise<Snapshot> {
    const budget = new LoadBudget(this.options);
    const apiOrigin = new URL(this.apiBase).origin;
    const abort = new AbortController();
    let url = `${this.apiBase}/repos/${encodeURIComponent(this.options.owner)}/${encodeURIComponent(this.options.repo)}/tarball/${encodeURIComponent(commit)}`;
    for (let hop = 0; ; hop += 1) {
      const target = new URL(url);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') {
        throw new SourceUnavailableError(this.location, 'server-error', `the archive of ${this.location} redirected to an unsupported ${target.protocol} URL`);
      }
      const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'user-agent': USER_AGENT, 'x-github-api-version': API_VERSION };
      // The token goes to the API's own origin only: never to a redirect host that differs.
      if (this.options.token && target.origin === apiOrigin) headers.authorization = authorizationHeader(this.options.token);
      let response: Response;
      try {
        response = await this.fetchImpl(target, { headers, redirect: 'manual', signal: abort.signal });
      } catch (error) {
        throw new SourceUnavailableError(this.location, 'unreachable', `downloading the archive of ${this.location} failed: ${networkMessage(error)}`);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new SourceUnavailableError(this.location, 'server-error', `the archive of ${this.location} redirected too many times`);
        url = new URL(location, target).href;
        continue;
      }
      if (!response.ok || response.body === null) {
        const body = await response.text().catch(() => '');
        throw this.httpFailure(response.status, headerRecord(response.headers), githubMessage(body), 'archive');
      }
      try {
        const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
        let archiveCommit: string | undefined;
        const files = await extractArchive(body, budget, {
          stripComponents: 1,
          gzip: true,
          onStop: () => abort.abort(),
          ...(this.options.maxArchiveBytes !== undefined && { maxArchiveBytes: this.options.maxArchiveBytes }),
          ...(this.options.maxArchiveEntries !== undefined && { maxArchiveEntries: this.options.maxArchiveEntries }),
          onPaxGlobal: (records) => {
            const comment = records.comment?.trim();
            if (comment !== undefined && FULL_SHA.test(comment)) archiveCommit = comment;
          },
        });
        const snapshot: Snapshot = { files, findings: budget.findings, notes: budget.notes, bytes: budget.keptBytes, ...(archiveCommit !== undefined && { archiveCommit }) };
        if (store) await this.writeDiskSnapshot(commit, snapshot);
        return snapshot;
      } catch (error) {
        if (error instanceof SourceUnavailableError) throw error;
        throw new SourceUnavailableError(this.location, 'server-error', `the archive of ${this.location} at ${commit} could not be read: ${networkMessage(error)}`);
      }
    }
  }

  // ─── Disk cache (best effort: any failure is a miss) ──────────────────────────────────────

  private repoCacheDir(): string | undefined {
    if (this.options.cacheDir === undefined) return undefined;
    const api = new URL(this.apiBase);
    const host = `${api.host}${api.pathname}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '');
    return join(this.options.cacheDir, 'github', host, this.options.owner, this.options.repo);
  }

  private async readEtag(key: string): Promise<ConditionalValue | undefined> {
    const memoryKey = `${this.apiBase}|${this.location}|${key}`;
    const inMemory = this.useMemory ? memoryEtags.get(memoryKey) : undefined;
    if (inMemory) return inMemory;
    const state = await this.readState();
    const stored = state[key];
    if (stored && this.useMemory) memoryEtags.set(memoryKey, stored);
    return stored;
  }

  private writeEtag(key: string, value: ConditionalValue): Promise<void> {
    if (this.useMemory) memoryEtags.set(`${this.apiBase}|${this.location}|${key}`, value);
    const dir = this.repoCacheDir();
    if (dir === undefined) return Promise.resolve();
    // Read-modify-write of one file: serialise this source's writes so parallel loads lose nothing.
    this.stateWrites = this.stateWrites.then(async () => {
      const state = await this.readState();
      state[key] = value;
      await writeAtomically(join(dir, 'etags.json'), JSON.stringify(state));
    }).catch(() => undefined);
    return this.stateWrites;
  }

  private async readState(): Promise<Record<string, ConditionalValue>> {
    const dir = this.repoCacheDir();
    if (dir === undefined) return {};
    try {
      const parsed: unknown = JSON.parse(await readFile(join(dir, 'etags.json'), 'utf8'));
      const state: Record<string, ConditionalValue> = {};
      if (typeof parsed === 'object' && parsed !== null) {
        for (const [key, entry] of Object.entries(parsed)) {
          if (isConditionalValue(entry)) state[key] = entry;
        }
      }
      return state;
    } catch {
      return {};
    }
  }

  private snapshotPaths(commit: string): { tar: string; meta: string; dir: string } | undefined {
    const dir = this.repoCacheDir();
    if (dir === undefined) return undefined;
    const base = join(dir, 'snapshots', `${commit}-${this.rulesKey}`);
    return { tar: `${base}.tar`, meta: `${base}.json`, dir: join(dir, 'snapshots') };
  }

  private async readDiskSnapshot(commit: string): Promise<Snapshot | undefined> {
    const paths = this.snapshotPaths(commit);
    if (paths === undefined) return undefined;
    try {
      const meta: unknown = JSON.parse(await readFile(paths.meta, 'utf8'));
      if (!isSnapshotMeta(meta) || meta.commit !== commit) return undefined;
      const files = await readTar(paths.tar);
      if (files.size !== meta.files) return undefined;
      let bytes = 0;
      for (const content of files.values()) bytes += content.length;
      return { files, findings: meta.findings, notes: meta.notes ?? [], bytes };
    } catch {
      return undefined;
    }
  }

  private async writeDiskSnapshot(commit: string, snapshot: Snapshot): Promise<void> {
    const paths = this.snapshotPaths(commit);
    if (paths === undefined) return;
    try {
      await mkdir(paths.dir, { recursive: true });
      const temporary = `${paths.tar}.${process.pid}.tmp`;
      await writeTar(temporary, snapshot.files);
      await rename(temporary, paths.tar);
      // The metadata is written last: its presence says the tar is complete.
      await writeAtomically(paths.meta, JSON.stringify({ version: 1, commit, files: snapshot.files.size, findings: snapshot.findings, notes: snapshot.notes }));
      await pruneSnapshots(paths.dir, this.options.keepSnapshots ?? 2);
    } catch {
      // A cache that cannot be written only costs a download next time.
    }
  }

  // ─── Errors ───────────────────────────────────────────────────────────────────────────────

  private failure(error: unknown, what: 'repository' | 'archive'): Error {
    if (error instanceof SourceUnavailableError || error instanceof RevisionUnavailableError) return error;
    const status = httpStatus(error);
    if (status === undefined || (status === 500 && !hasResponse(error))) {
      return new SourceUnavailableError(this.location, 'unreachable', `GitHub (${new URL(this.apiBase).host}) could not be reached: ${networkMessage(error)}`);
    }
    const response = responseOf(error);
    return this.httpFailure(status, response.headers, response.message, what);
  }

  private httpFailure(status: number, headers: Record<string, string>, message: string | undefined, what: 'repository' | 'archive'): SourceUnavailableError {
    const said = message ? ` (GitHub: ${message})` : '';
    const subject = what === 'archive' ? `the archive of ${this.location}` : this.location;
    const remaining = headers['x-ratelimit-remaining'];
    if ((status === 403 || status === 429) && (remaining === '0' || headers['retry-after'] !== undefined)) {
      const reset = Number(headers['x-ratelimit-reset']);
      const resetAt = Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000).toISOString() : undefined;
      const retryAfter = headers['retry-after'];
      const when = resetAt ? `; it resets at ${resetAt}` : retryAfter ? `; retry after ${retryAfter} s` : '';
      return new SourceUnavailableError(this.location, 'rate-limited', `GitHub's API rate limit is exhausted${when}`, {
        status,
        ...(resetAt !== undefined && { resetAt }),
        hint: this.options.token ? 'Wait for the reset, or use a token with a higher limit.' : 'Pass a token (GITHUB_TOKEN): anonymous requests get 60 an hour.',
      });
    }
    const reasons: Record<number, [SourceUnavailableReason, string, string | undefined]> = {
      401: ['unauthorized', `GitHub rejected the token for ${subject}${said}`, 'Check that the token is valid and not expired.'],
      403: ['forbidden', `GitHub refused access to ${subject}${said}`, 'The token may lack the contents:read permission, or the organisation requires SSO authorisation.'],
      404: [
        'not-found',
        `${subject} was not found, or ${this.options.token ? 'the token cannot see it' : 'it is private and no token was given'}${said}`,
        this.options.token ? 'Check the name and that the token has access to the repository.' : 'Private repositories need a token (GITHUB_TOKEN).',
      ],
      409: ['not-found', `${subject} is empty${said}`, undefined],
    };
    const known = reasons[status];
    if (known) {
      const [reason, text, hint] = known;
      return new SourceUnavailableError(this.location, reason, text, { status, ...(hint !== undefined && { hint }) });
    }
    return new SourceUnavailableError(this.location, 'server-error', `GitHub answered ${status} for ${subject}${said}`, { status });
  }
}

// ─── Helpers ────────────────────────────────────────────────────────────────────────────────

function authorizationHeader(token: string): string {
  // Same choice as @octokit/auth-token: JWTs (GitHub App) as Bearer, everything else as `token`.
  return token.split('.').length === 3 ? `bearer ${token}` : `token ${token}`;
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number') return error.status;
  return undefined;
}

function hasResponse(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'response' in error && error.response !== undefined;
}

function responseOf(error: unknown): { headers: Record<string, string>; message: string | undefined } {
  const headers: Record<string, string> = {};
  let message: string | undefined;
  if (typeof error === 'object' && error !== null && 'response' in error && typeof error.response === 'object' && error.response !== null) {
    const response = error.response;
    if ('headers' in response && typeof response.headers === 'object' && response.headers !== null) {
      for (const [name, value] of Object.entries(response.headers)) {
        if (typeof value === 'string' || typeof value === 'number') headers[name.toLowerCase()] = String(value);
      }
    }
    if ('data' in response) message = githubMessage(response.data);
  }
  return { headers, message };
}

/** The `message` of a GitHub error body (JSON text or parsed), without its documentation URL. */
function githubMessage(body: unknown): string | undefined {
  let data = body;
  if (typeof body === 'string') {
    try {
      data = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof data === 'object' && data !== null && 'message' in data && typeof data.message === 'string') return data.message.slice(0, 300);
  return undefined;
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name.toLowerCase()] = value;
  });
  return record;
}

/** A network error's message without any URL (signed archive URLs carry a token in their query). */
function networkMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.cause instanceof Error) message = `${message} (${error.cause.message})`;
  return message.replace(/\bhttps?:\/\/\S+/g, '<url>');
}

function isConditionalValue(value: unknown): value is ConditionalValue {
  return typeof value === 'object' && value !== null && 'etag' in value && typeof value.etag === 'string' && 'value' in value && typeof value.value === 'string';
}

interface SnapshotMeta {
  version: 1;
  commit: string;
  files: number;
  findings: Finding[];
  notes?: string[];
}

function isSnapshotMeta(value: unknown): value is SnapshotMeta {
  return (
    typeof value === 'object' &&
    value !== null &&
    'version' in value &&
    value.version === 1 &&
    'commit' in value &&
    typeof value.commit === 'string' &&
    'files' in value &&
    typeof value.files === 'number' &&
    'findings' in value &&
    Array.isArray(value.findings) &&
    (!('notes' in value) || (Array.isArray(value.notes) && value.notes.every((note) => typeof note === 'string')))
  );
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

/** Keeps the `keep` most recently written snapshots of a repository. */
async function pruneSnapshots(dir: string, keep: number): Promise<void> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  if (names.length <= keep) return;
  const dated = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(dir, name))).mtimeMs })));
  dated.sort((a, b) => b.mtime - a.mtime);
  for (const { name } of dated.slice(keep)) {
    const base = name.slice(0, -'.json'.length);
    await rm(join(dir, `${base}.json`), { force: true });
    await rm(join(dir, `${base}.tar`), { force: true });
  }
}
