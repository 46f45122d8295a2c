/**
 * GitHub Packages REST API evidence for ghcr.io images (@octokit/core, configurable baseUrl).
 *
 * What it can settle that the registry cannot: whether a package exists and its visibility (public, private,
 * internal), which tags its versions carry, and whether a deleted version carried the wanted tag ("disappeared").
 * How to read errors (registry-facts §2): 401 = bad token; 403 = missing `read:packages` or SSO authorisation;
 * 404 = absent OR invisible to this token. A 404 counts as absence only when `packagesTokenSeesAllPackages` says
 * the token can see every package of the owner (an org owner's classic PAT). Fine-grained PATs and App tokens are
 * not reliable here.
 *
 * Economy: the visibility of every package of an owner comes from the owner's package listing (100 per page,
 * revalidated with its ETag: a 304 does not count against GitHub's rate limit); the per-package and versions
 * calls are for images that are missing or denied. One HostBreaker per API host stops all calls when the host is
 * unreachable or the rate limit is about to run out.
 */
import { createHash } from 'node:crypto';
import { Octokit } from '@octokit/core';
import * as z from '../zod.js';
import type { PackagesApiEvidence } from '../model.js';
import { BreakerOpenError, HostBreaker } from './api-breaker.js';
import type { Secret } from './credentials.js';
import type { ExchangeListener } from './transport.js';

export interface GitHubPackagesOptions {
  token: Secret;
  /** REST API base URL (default https://api.github.com; GHES: https://host/api/v3). */
  baseUrl?: string;
  /** The token sees every package of the owners audited, so a 404 means "absent" (default false). */
  packagesTokenSeesAllPackages?: boolean;
  /** Version pages (100 each) read per state (default 10). */
  maxVersionPages?: number;
  requestTimeoutMs?: number;
  onExchange?: ExchangeListener;
  /** Listing pages kept with their ETag between runs of one process (default: a cache shared by the process). */
  listingCache?: ListingCache;
  /** Stop calling the API when `x-ratelimit-remaining` falls to this (default 50): the rest is for other tools. */
  rateLimitReserve?: number;
  /** The fetch Octokit uses (default the global fetch); tests pass one with a stubbed DNS lookup. */
  fetch?: typeof fetch;
  /** Called once when the API host is given up for the run, with the reason. */
  onUnavailable?: (note: string) => void;
}

/** Owner listing pages by URL and token, with the ETag they came with. */
export type ListingCache = Map<string, { etag: string; body: unknown; hasNext: boolean }>;

const SHARED_LISTING_CACHE: ListingCache = new Map();
const LISTING_CACHE_LIMIT = 2_000;

/** The repository a package is linked to (`repository.full_name`), as package and listing answers carry it. */
const linkedRepositorySchema = z.catch(z.optional(z.nullable(z.object({ full_name: z.string().check(z.regex(/^[\w.-]+\/[\w.-]+$/)) }))), undefined);
const packageSchema = z.object({
  name: z.string(),
  visibility: z.optional(z.enum(['public', 'private', 'internal'])),
  repository: linkedRepositorySchema,
});
const versionSchema = z.object({
  id: z.number(),
  name: z.string(),
  created_at: z.optional(z.string()),
  updated_at: z.optional(z.string()),
  deleted_at: z.optional(z.nullable(z.string())),
  metadata: z.optional(z.object({ container: z.optional(z.object({ tags: z.array(z.string()) })) })),
});
const versionsSchema = z.array(versionSchema);
const packagesSchema = z.array(packageSchema);
type Version = z.infer<typeof versionSchema>;

export interface PackageLookup {
  http: number;
  message?: string;
  visibility?: 'public' | 'private' | 'internal';
  ownerKind?: 'org' | 'user';
  /** true: the package exists; false: an authoritative absence; undefined: cannot tell. */
  exists: boolean | undefined;
  /** `owner/name` of the repository the package is linked to, when the answer named one. */
  sourceRepository?: string;
}

/** An owner's container packages as its listing shows them to this token. */
export interface OwnerListing {
  ownerKind: 'org' | 'user';
  /** Package name → visibility (undefined when the listing did not say). */
  packages: Map<string, 'public' | 'private' | 'internal' | undefined>;
  /** Package name → `owner/name` of the repository it is linked to, for the packages the listing shows linked. */
  sources: Map<string, string>;
  /** False when the page cap cut the listing short. */
  complete: boolean;
}

export interface VersionsLookup {
  http: number;
  message?: string;
  tagFound: boolean;
  deletedVersionWithTag?: { id: number; deletedAt?: string; updatedAt?: string };
  /** Tags of active versions, most recently updated first. */
  recentTags: string[];
  allTags: string[];
}

function errorInfo(err: unknown): { http: number; message: string } {
  const e = err as { status?: unknown; message?: unknown; response?: unknown };
  if (err instanceof BreakerOpenError) return { http: 0, message: err.message };
  // Octokit gives network failures status 500 without a response: no HTTP answer, so 0.
  const http = typeof e.status === 'number' && e.response !== undefined ? e.status : 0;
  let message = typeof e.message === 'string' ? e.message : String(err);
  message = message.split(' - ')[0] ?? message;
  return { http, message: message.slice(0, 300) };
}

export class GitHubPackagesClient {
  readonly #octokit: Octokit;
  readonly #o: GitHubPackagesOptions;
  readonly #breaker: HostBreaker;
  readonly #packages = new Map<string, Promise<PackageLookup>>();
  readonly #versions = new Map<string, Promise<{ active: Version[]; deleted?: Version[]; http: number; message?: string }>>();
  readonly #listings = new Map<string, Promise<OwnerListing | undefined>>();
  readonly #cache: ListingCache;
  readonly #tokenKey: string;
  /** API requests sent (a request the breaker held back is not one). */
  requests = 0;

  constructor(options: GitHubPackagesOptions) {
    this.#o = options;
    const silent = () => undefined;
    const baseUrl = options.baseUrl ?? 'https://api.github.com';
    this.#cache = options.listingCache ?? SHARED_LISTING_CACHE;
    // Cached pages are per token (what a listing shows depends on it); the key holds a digest, never the token.
    this.#tokenKey = createHash('sha256').update(options.token.reveal()).digest('hex').slice(0, 16);
    let apiHost: string;
    try {
      apiHost = new URL(baseUrl).host;
    } catch {
      apiHost = baseUrl;
    }
    this.#breaker = new HostBreaker({
      host: apiHost,
      onOpen: (reason) => {
        const note = `GitHub Packages API at ${apiHost} given up for this run: ${reason}; verdicts use registry evidence only`;
        this.#report({ method: 'GET', url: baseUrl, stage: 'packages-api', note });
        try {
          options.onUnavailable?.(note);
        } catch {
          // a listener never breaks a check
        }
      },
    });
    this.#octokit = new Octokit({
      auth: options.token.reveal(),
      baseUrl,
      userAgent: 'image-drift-auditor/0.1',
      log: { debug: silent, info: silent, warn: silent, error: silent },
      request: options.fetch ? { fetch: options.fetch } : {},
    });
    this.#octokit.hook.wrap('request', (request, opts) =>
      this.#breaker.run(async () => {
        this.requests++;
        const method = String(opts.method ?? 'GET');
        const signal = AbortSignal.timeout(options.requestTimeoutMs ?? 15_000);
        try {
          const res = await request({ ...opts, request: { ...(opts.request ?? {}), signal } });
          this.#report({ method, url: res.url, status: res.status, stage: 'packages-api' });
          this.#watchRateLimit(res.headers);
          return res;
        } catch (err) {
          const e = err as { status?: unknown; request?: { url?: unknown }; response?: { headers?: Record<string, unknown> } };
          const url = typeof e.request?.url === 'string' ? e.request.url : String(opts.url);
          const event: { method: string; url: string; stage: string; status?: number; note?: string } = { method, url, stage: 'packages-api' };
          if (e.response && typeof e.status === 'number') event.status = e.status;
          else event.note = 'network error';
          this.#report(event);
          if (e.response?.headers) this.#watchRateLimit(e.response.headers);
          throw err;
        }
      }),
    );
  }

  /** Why the API was given up for this run, when it was. */
  get unavailable(): string | undefined {
    return this.#breaker.openReason;
  }

  #watchRateLimit(headers: Record<string, unknown>): void {
    const remaining = Number(headers['x-ratelimit-remaining']);
    if (!Number.isFinite(remaining) || headers['x-ratelimit-remaining'] === undefined) return;
    const reserve = this.#o.rateLimitReserve ?? 50;
    if (remaining > reserve) return;
    const reset = Number(headers['x-ratelimit-reset']);
    const until = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    this.#breaker.open(`its rate limit is nearly used up (${remaining} requests left${until})`);
  }

  #report(e: Parameters<ExchangeListener>[0]): void {
    try {
      this.#o.onExchange?.(e);
    } catch {
      // tracing never breaks a check
    }
  }

  /**
   * The owner's container packages (org listing, else user listing), 100 per page; each page revalidated with
   * its ETag when this process has seen it before. Undefined when the listing cannot be read.
   */
  ownerListing(owner: string): Promise<OwnerListing | undefined> {
    let p = this.#listings.get(owner);
    if (!p) {
      p = this.#ownerListing(owner);
      this.#listings.set(owner, p);
    }
    return p;
  }

  /** One page of an owner's listing, and whether its Link header names a next page. */
  async #listingPage(kind: 'org' | 'user', owner: string, page: number): Promise<{ body: unknown; hasNext: boolean }> {
    const route = kind === 'org' ? 'GET /orgs/{owner}/packages' : 'GET /users/{owner}/packages';
    const key = `${this.#o.baseUrl ?? ''}\0${this.#tokenKey}\0${kind}\0${owner}\0${page}`;
    const cached = this.#cache.get(key);
    try {
      const res = await this.#octokit.request(route, {
        owner,
        package_type: 'container',
        per_page: 100,
        page,
        ...(cached ? { headers: { 'if-none-match': cached.etag } } : {}),
      });
      const hasNext = /rel="?next"?/.test(String(res.headers.link ?? ''));
      const etag = res.headers.etag;
      if (typeof etag === 'string' && etag) {
        if (this.#cache.size >= LISTING_CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value ?? '');
        this.#cache.set(key, { etag, body: res.data, hasNext });
      }
      return { body: res.data, hasNext };
    } catch (err) {
      if (cached && (err as { status?: unknown }).status === 304) return { body: cached.body, hasNext: cached.hasNext };
      throw err;
    }
  }

  async #ownerListing(owner: string): Promise<OwnerListing | undefined> {
    const collect = async (ownerKind: 'org' | 'user'): Promise<OwnerListing> => {
      const listing: OwnerListing = { ownerKind, packages: new Map(), sources: new Map(), complete: false };
      for (let page = 1; page <= 50; page++) {
        const { body, hasNext } = await this.#listingPage(ownerKind, owner, page);
        const parsed = packagesSchema.safeParse(body);
        if (!parsed.success) return listing;
        for (const p of parsed.data) {
          listing.packages.set(p.name, p.visibility);
          if (p.repository) listing.sources.set(p.name, p.repository.full_name);
        }
        if (!hasNext) {
          listing.complete = true;
          return listing;
        }
      }
      return listing;
    };
    try {
      return await collect('org');
    } catch (err) {
      if (errorInfo(err).http !== 404) return undefined;
    }
    try {
      return await collect('user');
    } catch {
      return undefined;
    }
  }

  /**
   * What the listing says about one package: exists with its visibility, when the token's listing shows it.
   * Undefined when the listing is unavailable or does not show it (absent, or invisible to this token).
   */
  async listedPackage(owner: string, name: string): Promise<PackageLookup | undefined> {
    const listing = await this.ownerListing(owner);
    if (!listing?.packages.has(name)) return undefined;
    const out: PackageLookup = { http: 200, ownerKind: listing.ownerKind, exists: true };
    const visibility = listing.packages.get(name);
    if (visibility) out.visibility = visibility;
    const source = listing.sources.get(name);
    if (source) out.sourceRepository = source;
    return out;
  }

  /** `getPackageForOrganization`, falling back to the user endpoint when the org answers 404. */
  getPackage(owner: string, name: string): Promise<PackageLookup> {
    const key = `${owner}/${name}`;
    let p = this.#packages.get(key);
    if (!p) {
      p = this.#getPackage(owner, name);
      this.#packages.set(key, p);
    }
    return p;
  }

  async #getPackage(owner: string, name: string): Promise<PackageLookup> {
    const seesAll = this.#o.packagesTokenSeesAllPackages ?? false;
    const read = (data: unknown, http: number, ownerKind: 'org' | 'user'): PackageLookup => {
      const parsed = packageSchema.safeParse(data);
      const out: PackageLookup = { http, ownerKind, exists: true };
      if (parsed.success && parsed.data.visibility) out.visibility = parsed.data.visibility;
      if (parsed.success && parsed.data.repository) out.sourceRepository = parsed.data.repository.full_name;
      return out;
    };
    try {
      const res = await this.#octokit.request('GET /orgs/{org}/packages/{package_type}/{package_name}', { org: owner, package_type: 'container', package_name: name });
      return read(res.data, res.status, 'org');
    } catch (err) {
      const info = errorInfo(err);
      if (info.http !== 404) return { ...info, exists: undefined };
    }
    try {
      const res = await this.#octokit.request('GET /users/{username}/packages/{package_type}/{package_name}', { username: owner, package_type: 'container', package_name: name });
      return read(res.data, res.status, 'user');
    } catch (err) {
      const info = errorInfo(err);
      return { ...info, exists: info.http === 404 && seesAll ? false : undefined };
    }
  }

  async #listVersions(owner: string, ownerKind: 'org' | 'user', name: string, state: 'active' | 'deleted'): Promise<Version[]> {
    const out: Version[] = [];
    const maxPages = this.#o.maxVersionPages ?? 10;
    for (let page = 1; page <= maxPages; page++) {
      const common = { package_type: 'container' as const, package_name: name, per_page: 100, page, state };
      const res =
        ownerKind === 'org'
          ? await this.#octokit.request('GET /orgs/{org}/packages/{package_type}/{package_name}/versions', { ...common, org: owner })
          : await this.#octokit.request('GET /users/{username}/packages/{package_type}/{package_name}/versions', { ...common, username: owner });
      const parsed = versionsSchema.safeParse(res.data);
      if (!parsed.success) break;
      out.push(...parsed.data);
      if (parsed.data.length < 100) break;
    }
    return out;
  }

  /**
   * Whether an active version carries `tag` (or has digest `digest`); if not, whether a deleted one did.
   * Tags of active versions come back most recent first, for hints.
   */
  async findVersion(owner: string, ownerKind: 'org' | 'user', name: string, ref: { tag?: string; digest?: string }): Promise<VersionsLookup> {
    const key = `${ownerKind}:${owner}/${name}`;
    let p = this.#versions.get(key);
    if (!p) {
      p = this.#listVersions(owner, ownerKind, name, 'active').then(
        (active) => ({ active, http: 200 }),
        (err: unknown) => ({ active: [] as Version[], ...errorInfo(err) }),
      );
      this.#versions.set(key, p);
    }
    const v = await p;
    const carries = (x: Version) => (ref.digest ? x.name === ref.digest : ref.tag !== undefined && (x.metadata?.container?.tags ?? []).includes(ref.tag));
    const when = (x: Version) => Date.parse(x.updated_at ?? x.created_at ?? '') || 0;
    const sorted = [...v.active].sort((a, b) => when(b) - when(a));
    const recentTags = sorted.flatMap((x) => x.metadata?.container?.tags ?? []);
    const out: VersionsLookup = { http: v.http, tagFound: v.active.some(carries), recentTags, allTags: [...new Set(recentTags)] };
    if (v.message) out.message = v.message;
    if (!out.tagFound && v.http === 200) {
      let deleted: Version[] = [];
      try {
        deleted = await this.#listVersions(owner, ownerKind, name, 'deleted');
      } catch {
        // Deleted versions are extra evidence only.
      }
      const hit = deleted.filter(carries).sort((a, b) => when(b) - when(a))[0];
      if (hit) {
        const d: { id: number; deletedAt?: string; updatedAt?: string } = { id: hit.id };
        if (hit.deleted_at) d.deletedAt = hit.deleted_at;
        if (hit.updated_at) d.updatedAt = hit.updated_at;
        out.deletedVersionWithTag = d;
      }
    }
    return out;
  }

  /** Container package names of an owner (org, else user), for "did you mean"; undefined when not listable. */
  async ownerPackages(owner: string): Promise<string[] | undefined> {
    const listing = await this.ownerListing(owner);
    return listing ? [...listing.packages.keys()] : undefined;
  }
}

/** Builds PackagesApiEvidence from the lookups (fields only when known). */
export function packagesEvidence(pkg: PackageLookup | undefined, versions: VersionsLookup | undefined, ownerPackages: string[] | undefined): PackagesApiEvidence | undefined {
  if (!pkg) return undefined;
  const e: PackagesApiEvidence = { http: pkg.http };
  if (pkg.message) e.message = pkg.message;
  if (pkg.visibility) e.visibility = pkg.visibility;
  if (versions && versions.http === 200) e.tagFound = versions.tagFound;
  if (versions?.deletedVersionWithTag) e.deletedVersionWithTag = versions.deletedVersionWithTag;
  if (ownerPackages) e.ownerPackages = ownerPackages;
  return e;
}
