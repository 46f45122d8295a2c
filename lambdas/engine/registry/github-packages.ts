/**
 * GitHub Packages REST API evidence for ghcr.io images (@octokit/rest, configurable baseUrl).
 *
 * What it can settle that the registry cannot: whether a package exists and its visibility (public, private,
 * internal), which tags its versions carry, and whether a deleted version carried the wanted tag ("disappeared").
 * How to read errors (registry-facts §2): 401 = bad token; 403 = missing `read:packages` or SSO authorisation;
 * 404 = absent OR invisible to this token. A 404 counts as absence only when `packagesTokenSeesAllPackages` says
 * the token can see every package of the owner (an org owner's classic PAT). Fine-grained PATs and App tokens are
 * not reliable here.
 */
import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import type { PackagesApiEvidence } from '../model.js';
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
}

const packageSchema = z.object({
  name: z.string(),
  visibility: z.enum(['public', 'private', 'internal']).optional(),
});
const versionSchema = z.object({
  id: z.number(),
  name: z.string(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  deleted_at: z.string().nullable().optional(),
  metadata: z
    .object({ container: z.object({ tags: z.array(z.string()) }).optional() })
    .optional(),
});
const versionsSchema = z.array(versionSchema);
const packagesSchema = z.array(z.object({ name: z.string() }));
type Version = z.infer<typeof versionSchema>;

export interface PackageLookup {
  http: number;
  message?: string;
  visibility?: 'public' | 'private' | 'internal';
  ownerKind?: 'org' | 'user';
  /** true: the package exists; false: an authoritative absence; undefined: cannot tell. */
  exists: boolean | undefined;
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
  const e = err as { status?: unknown; message?: unknown };
  const http = typeof e.status === 'number' ? e.status : 0;
  let message = typeof e.message === 'string' ? e.message : String(err);
  message = message.split(' - ')[0] ?? message;
  return { http, message: message.slice(0, 300) };
}

export class GitHubPackagesClient {
  readonly #octokit: Octokit;
  readonly #o: GitHubPackagesOptions;
  readonly #packages = new Map<string, Promise<PackageLookup>>();
  readonly #versions = new Map<string, Promise<{ active: Version[]; deleted?: Version[]; http: number; message?: string }>>();
  readonly #owners = new Map<string, Promise<string[] | undefined>>();
  /** API requests sent. */
  requests = 0;

  constructor(options: GitHubPackagesOptions) {
    this.#o = options;
    const silent = () => undefined;
    this.#octokit = new Octokit({
      auth: options.token.reveal(),
      baseUrl: options.baseUrl ?? 'https://api.github.com',
      userAgent: 'image-drift-auditor/0.1',
      log: { debug: silent, info: silent, warn: silent, error: silent },
      request: { retries: 0 },
    });
    this.#octokit.hook.wrap('request', async (request, opts) => {
      this.requests++;
      const method = String(opts.method ?? 'GET');
      const signal = AbortSignal.timeout(options.requestTimeoutMs ?? 15_000);
      try {
        const res = await request({ ...opts, request: { ...(opts.request ?? {}), signal } });
        this.#report({ method, url: res.url, status: res.status, stage: 'packages-api' });
        return res;
      } catch (err) {
        const e = err as { status?: unknown; request?: { url?: unknown } };
        const url = typeof e.request?.url === 'string' ? e.request.url : String(opts.url);
        const event: { method: string; url: string; stage: string; status?: number; note?: string } = { method, url, stage: 'packages-api' };
        if (typeof e.status === 'number' && e.status > 0) event.status = e.status;
        else event.note = 'network error';
        this.#report(event);
        throw err;
      }
    });
  }

  #report(e: Parameters<ExchangeListener>[0]): void {
    try {
      this.#o.onExchange?.(e);
    } catch {
      // tracing never breaks a check
    }
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
      return out;
    };
    try {
      const res = await this.#octokit.rest.packages.getPackageForOrganization({ org: owner, package_type: 'container', package_name: name });
      return read(res.data, res.status, 'org');
    } catch (err) {
      const info = errorInfo(err);
      if (info.http !== 404) return { ...info, exists: undefined };
    }
    try {
      const res = await this.#octokit.rest.packages.getPackageForUser({ username: owner, package_type: 'container', package_name: name });
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
          ? await this.#octokit.rest.packages.getAllPackageVersionsForPackageOwnedByOrg({ ...common, org: owner })
          : await this.#octokit.rest.packages.getAllPackageVersionsForPackageOwnedByUser({ ...common, username: owner });
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
  ownerPackages(owner: string): Promise<string[] | undefined> {
    let p = this.#owners.get(owner);
    if (!p) {
      p = this.#ownerPackages(owner);
      this.#owners.set(owner, p);
    }
    return p;
  }

  async #ownerPackages(owner: string): Promise<string[] | undefined> {
    const collect = async (kind: 'org' | 'user'): Promise<string[]> => {
      const names: string[] = [];
      for (let page = 1; page <= 10; page++) {
        const res =
          kind === 'org'
            ? await this.#octokit.rest.packages.listPackagesForOrganization({ org: owner, package_type: 'container', per_page: 100, page })
            : await this.#octokit.rest.packages.listPackagesForUser({ username: owner, package_type: 'container', per_page: 100, page });
        const parsed = packagesSchema.safeParse(res.data);
        if (!parsed.success) break;
        names.push(...parsed.data.map((x) => x.name));
        if (parsed.data.length < 100) break;
      }
      return names;
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
