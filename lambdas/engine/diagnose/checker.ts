/**
 * createImageChecker: probes every unique image as the cluster would and turns the probes into one verdict each.
 * The probe plan (per registry, then per repository; see README.md) keeps the cost near one registry request per
 * image plus one token request per 25 repositories.
 */
import type { CheckRequest, ImageCheckResult, ImageChecker, ImageReference, SourceLink } from '../model.js';
import { githubRepositoryOf } from '../ci/index.js';
import { RegistryClient, type AuthMode } from '../registry/client.js';
import type { CredentialProblem } from '../registry/credential-problem.js';
import type { RegistryCredentials, ResolvedCredential, Secret } from '../registry/credentials.js';
import { isDockerHub, parseEndpointMap, resolveEndpoint, type EndpointMapInput } from '../registry/endpoints.js';
import { toRegistryError } from '../registry/errors.js';
import { GitHubPackagesClient, type PackageLookup, type VersionsLookup } from '../registry/github-packages.js';
import { isIndexMediaType } from '../registry/manifests.js';
import type { RetryPolicy } from '../registry/retry.js';
import { TokenService } from '../registry/auth/bearer.js';
import { Semaphore, Transport, type ExchangeEvent, type RateLimitState } from '../registry/transport.js';
import { guardedFetch } from '../http/guarded-fetch.js';
import { operatorOutboundPolicy, type Resolver } from '../registry/outbound.js';
import { nearestTags, repositoryCandidates } from './hints.js';
import { diagnose, type ImageFacts, type ProbeOutcome } from './verdict.js';

export interface RegistryHostOptions {
  /** Serve this host from another base URL (mirror, air-gapped site, test registry). */
  endpoint?: string;
  /** Token realm hosts allowed to receive this registry's credential besides its own site. */
  allowedRealmHosts?: string[];
  /** Go straight to the token endpoint with Basic user:token (default true for ghcr.io). */
  directToken?: boolean;
  /** `n` for tags/list (default 10000 on ghcr.io, unset elsewhere). */
  tagPageSize?: number;
  /** One token request for up to 25 repositories (repeated `scope=`), per-repository where not honoured (default true). */
  multiScopeTokens?: boolean;
}

export interface RegistryCheckOptions {
  /** From loadRegistryCredentials(); anonymous everywhere when absent. */
  credentials?: RegistryCredentials;
  /** Per-host settings, keyed by the host written in image references. */
  registries?: Readonly<Record<string, RegistryHostOptions>>;
  /** Shorthand endpoint mapping: `"ghcr.io=http://127.0.0.1:5000"` or a record (registries[].endpoint wins). */
  endpoints?: EndpointMapInput;
  /** Realm hosts allowed for every registry (by name). */
  allowedRealmHosts?: readonly string[];
  /** Platforms the cluster runs (default ['linux/amd64']); [] skips the platform check. */
  platforms?: readonly string[];
  /** Most HTTP exchanges in flight per registry host (default: adaptive, from 32 up to 64; see registry/adaptive-limit.ts). */
  concurrencyPerRegistry?: number;
  /** Per-request timeout (default 15 s). */
  requestTimeoutMs?: number;
  /** Overall deadline of one check() call (default 5 min). Work not done by then is UNREACHABLE. */
  deadlineMs?: number;
  retry?: RetryPolicy;
  /** GitHub Packages API for ghcr.io images. Used when a token is available (options.github.token, else the credentials' GitHub token). */
  github?: {
    enabled?: boolean;
    token?: Secret;
    baseUrl?: string;
    /** A Packages API 404 proves absence (the token sees every package). Default false. */
    packagesTokenSeesAllPackages?: boolean;
    /**
     * The fetch the API client uses (default the global fetch); tests stub DNS through it. It gets the outbound
     * policy's connect-time check as `init.dispatcher`; one that ignores it gets only the pre-request decision.
     */
    fetch?: typeof fetch;
  };
  /** Source labels (`org.opencontainers.image.source`) read per check() for CheckRequest.sourceLinks (default 20; 3 GETs each). */
  maxSourceLabelReads?: number;
  /** Hosts where "exists but anonymous pull denied" is PRIVATE (default ['ghcr.io']). Elsewhere a credentialed 200 is OK. */
  visibilityCheckHosts?: readonly string[];
  /** 'auto' (default): anonymous probes only when they can change the verdict; 'always': every image both ways. */
  anonymousProbe?: 'auto' | 'always';
  /**
   * Docker Hub: HEAD only (GETs count as pulls) unless allowGet, and then only while more than `quotaReserve`
   * (default 10) pulls remain; slow down below the low watermark.
   */
  dockerHub?: { allowGet?: boolean; quotaReserve?: number; rateLimitLowWatermark?: number; slowdownMs?: number };
  /** Called for every HTTP exchange (token, HEAD, GET, tags, Packages API); URLs carry no secrets. */
  onExchange?: (e: ExchangeEvent) => void;
  /**
   * The outbound policy (registry/outbound.ts), always on. Hosts in `registries` and `endpoints` count as
   * configured. `allow`: `registries.allow` globs; `refuseLinkLocal`: the Lambda; `resolve`: a DNS stub for tests.
   */
  outbound?: { allow?: readonly string[]; refuseLinkLocal?: boolean; resolve?: Resolver };
}

export interface CheckStats {
  images: number;
  repositories: number;
  /** Exchanges with registries (ping, manifests, tags), retries included. */
  registryRequests: number;
  tokenRequests: number;
  packagesApiRequests: number;
  durationMs: number;
  perRegistry: Record<string, { registryRequests: number; tokenRequests: number; images: number; repositories: number }>;
  /** Said once per run: e.g. the Packages API host given up (unreachable, rate limit nearly used up). */
  notes: string[];
}

export interface DiagnosingImageChecker extends ImageChecker {
  /** Counts of the last completed check() call. */
  lastStats(): CheckStats | undefined;
}

const DEFAULT_QUOTA_RESERVE = 10;
const DEFAULT_SOURCE_LABEL_READS = 20;
const SOURCE_LABEL = 'org.opencontainers.image.source';

/** What a low Docker Hub quota means for the cluster, which pulls from its own address with its own credential. */
function dockerHubQuotaHint(quota: RateLimitState, authenticated: boolean): string {
  const window = quota.windowSeconds ? ` per ${Math.round(quota.windowSeconds / 3600)} h` : '';
  const of = quota.limit !== undefined ? ` of ${quota.limit}${window}` : '';
  const who = authenticated ? 'for the configured Docker Hub account' : 'for this address (anonymous)';
  const raise = authenticated
    ? 'A paid Docker Hub plan or a pull-through cache (mirror) raises it.'
    : 'Nodes pulling anonymously through the same address will get 429 toomanyrequests; a Docker Hub account (imagePullSecret, or DOCKERHUB_USERNAME/DOCKERHUB_TOKEN for the auditor) raises the limit.';
  return `Docker Hub pull quota: ${quota.remaining}${of} left ${who}. ${raise}`;
}

interface RepoGroup {
  host: string;
  repository: string;
  refs: ImageReference[];
}

function referenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function createImageChecker(options: RegistryCheckOptions = {}): DiagnosingImageChecker {
  let stats: CheckStats | undefined;
  const platforms = options.platforms ?? ['linux/amd64'];
  const visibilityHosts = new Set(options.visibilityCheckHosts ?? ['ghcr.io']);
  const endpointMap = parseEndpointMap(options.endpoints);
  for (const [host, o] of Object.entries(options.registries ?? {})) {
    if (o.endpoint) for (const [h, u] of parseEndpointMap({ [host]: o.endpoint })) endpointMap.set(h, u);
  }

  // Configured by the operator: registry keys, mapped hosts and the hosts (with port) of their endpoints, the GitHub
  // API of the Packages client. Realm hosts the operator named for credentials are named for contact too.
  const policy = operatorOutboundPolicy({
    hosts: [...Object.keys(options.registries ?? {}), ...endpointMap.keys()],
    endpointUrls: [...endpointMap.values(), ...(options.github?.baseUrl ? [options.github.baseUrl] : [])],
    realmHosts: [...(options.allowedRealmHosts ?? []), ...Object.values(options.registries ?? {}).flatMap((o) => o.allowedRealmHosts ?? [])],
    settings: options.outbound,
  });

  async function check(images: readonly ImageReference[], onProgress?: (done: number, total: number) => void, request: CheckRequest = {}): Promise<ImageCheckResult[]> {
    const started = Date.now();
    const labelReads = { left: options.maxSourceLabelReads ?? DEFAULT_SOURCE_LABEL_READS };
    const transport = new Transport({
      ...(options.concurrencyPerRegistry ? { concurrencyPerRegistry: options.concurrencyPerRegistry } : {}),
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      deadline: started + (options.deadlineMs ?? 300_000),
      policy,
      ...(options.onExchange ? { onExchange: options.onExchange } : {}),
      ...(options.dockerHub?.rateLimitLowWatermark !== undefined ? { rateLimitLowWatermark: options.dockerHub.rateLimitLowWatermark } : {}),
      ...(options.dockerHub?.slowdownMs !== undefined ? { slowdownMs: options.dockerHub.slowdownMs } : {}),
    });
    const tokens = new TokenService(transport, options.retry);
    const clients = new Map<string, RegistryClient>();
    const notes: string[] = [];
    const apiToken = options.github?.token ?? options.credentials?.githubApiToken();
    const api =
      options.github?.enabled !== false && apiToken
        ? new GitHubPackagesClient({
            token: apiToken,
            ...(options.github?.baseUrl ? { baseUrl: options.github.baseUrl } : {}),
            packagesTokenSeesAllPackages: options.github?.packagesTokenSeesAllPackages ?? false,
            requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
            ...(options.onExchange ? { onExchange: options.onExchange } : {}),
            // The Packages API goes through the same outbound decision as the registries (its base URL is configured).
            fetch: guardedFetch({
              policy,
              endpoint: new URL(options.github?.baseUrl ?? 'https://api.github.com'),
              ...(options.github?.fetch ? { fetch: options.github.fetch } : {}),
            }),
            onUnavailable: (note) => notes.push(note),
          })
        : undefined;

    const resolvedCredentials = new Map<string, ResolvedCredential>();
    const quotaReserve = options.dockerHub?.quotaReserve ?? DEFAULT_QUOTA_RESERVE;
    const quotaLow = (host: string): boolean => {
      const q = transport.rateLimit(host);
      return q !== undefined && q.remaining <= quotaReserve;
    };
    const clientFor = (host: string): RegistryClient => {
      let c = clients.get(host);
      if (!c) {
        const hostOpts = options.registries?.[host] ?? {};
        const credential = resolvedCredentials.get(host)?.credential;
        const realmHosts = [...(options.allowedRealmHosts ?? []), ...(hostOpts.allowedRealmHosts ?? [])];
        c = new RegistryClient({
          endpoint: resolveEndpoint(host, endpointMap),
          ...(credential ? { credential } : {}),
          transport,
          tokens,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(realmHosts.length ? { allowedRealmHosts: realmHosts } : {}),
          directToken: hostOpts.directToken ?? host === 'ghcr.io',
          ...(hostOpts.tagPageSize ? { tagPageSize: hostOpts.tagPageSize } : {}),
          ...(hostOpts.multiScopeTokens === false ? { multiScopeTokens: false } : {}),
          // Docker Hub counts GETs against the pull quota the cluster shares: HEAD only, or GETs only while the
          // quota stays above the reserve (the auditor must never be what exhausts it).
          headOnly: isDockerHub(host) ? (options.dockerHub?.allowGet ? () => quotaLow(host) : true) : false,
        });
        clients.set(host, c);
      }
      return c;
    };

    // Unique images, grouped by registry and repository.
    const unique = new Map<string, ImageReference>();
    for (const ref of images) if (!unique.has(ref.canonical)) unique.set(ref.canonical, ref);
    const groups = new Map<string, RepoGroup>();
    for (const ref of unique.values()) {
      const key = `${ref.registry}/${ref.repository}`;
      let g = groups.get(key);
      if (!g) {
        g = { host: ref.registry, repository: ref.repository, refs: [] };
        groups.set(key, g);
      }
      g.refs.push(ref);
    }

    // Credentials that live in a helper or in ECR are fetched once per host, and only for hosts being checked.
    if (options.credentials) {
      const credentials = options.credentials;
      const hosts = new Set([...groups.values()].map((g) => g.host));
      await Promise.all([...hosts].map(async (host) => resolvedCredentials.set(host, await credentials.resolve(host))));
    }

    // The primary probes' tokens come in batches of repositories, in the order the groups are probed.
    const reposByHost = new Map<string, string[]>();
    for (const g of groups.values()) {
      if (!policy.registryHostDecision(g.host).allowed) continue;
      const list = reposByHost.get(g.host);
      if (list) list.push(g.repository);
      else reposByHost.set(g.host, [g.repository]);
    }
    for (const [host, repositories] of reposByHost) {
      const client = clientFor(host);
      client.declareRepositories(repositories, client.credential ? 'authenticated' : 'anonymous');
      // With a credential, anonymous probes reach every repository when asked to, or for visibility whenever the
      // Packages API cannot give it (no token, or its host given up during the run: see checkRepository).
      if (client.credential && (options.anonymousProbe === 'always' || visibilityHosts.has(host))) client.declareRepositories(repositories, 'anonymous');
    }

    const results = new Map<string, ImageCheckResult>();
    let done = 0;
    const total = unique.size;
    const repoLimits = new Map<string, Semaphore>();
    const indexCache = new Map<string, Promise<{ platforms: string[] }>>();

    const progress = () => {
      done++;
      try {
        onProgress?.(done, total);
      } catch {
        // a progress callback never breaks a check
      }
    };
    const runGroup = async (g: RepoGroup): Promise<void> => {
      let limit = repoLimits.get(g.host);
      if (!limit) {
        // Repositories in progress: enough to keep the transport's limit busy (it is the one that adapts).
        limit = new Semaphore((options.concurrencyPerRegistry ?? 64) * 2);
        repoLimits.set(g.host, limit);
      }
      const hostDecision = policy.registryHostDecision(g.host);
      if (!hostDecision.allowed) {
        // Rule 3 of the policy (registries.allow is set and does not cover the host): no connection at all.
        for (const ref of g.refs) {
          results.set(ref.canonical, {
            image: ref.canonical,
            status: 'REGISTRY_NOT_ALLOWED',
            evidence: { anonymous: { stage: 'network', error: `not allowed: ${hostDecision.reason}`, requests: 0 } },
            hint: `${g.host} was not contacted: ${hostDecision.reason}; nothing is known about the image. If it is a registry you trust, add it to registries.allow.`,
          });
          progress();
        }
        return;
      }
      const release = await limit.acquire();
      try {
        const problem = resolvedCredentials.get(g.host)?.problem;
        const facts = await checkRepository(g, clientFor(g.host), api, indexCache, {
          ...(problem ? { credentialProblem: problem, credentialSource: problem.source } : {}),
          platforms,
          visibilityMatters: visibilityHosts.has(g.host),
          anonymousProbe: options.anonymousProbe ?? 'auto',
          sourceLinkWanted: request.sourceLinks?.has(`${g.host}/${g.repository}`) ?? false,
          labelReads,
        });
        for (const f of facts) {
          const d = diagnose(f);
          const evidence = f.sourceLink ? { ...d.evidence, sourceLink: f.sourceLink } : d.evidence;
          results.set(f.ref.canonical, { image: f.ref.canonical, status: d.status, evidence, hint: d.hint });
          progress();
        }
      } catch (err) {
        // A bug or an unexpected failure must not sink the run, nor read as "missing": nothing is known.
        const message = err instanceof Error ? err.message : String(err);
        for (const ref of g.refs) {
          results.set(ref.canonical, {
            image: ref.canonical,
            status: 'UNREACHABLE',
            evidence: { anonymous: { stage: 'network', error: message } },
            hint: `${g.host} could not be checked (${message}); nothing is known about the image yet.`,
          });
          progress();
        }
      } finally {
        release();
      }
    };

    try {
      await Promise.all([...groups.values()].map(runGroup));
    } finally {
      await transport.close();
    }
    for (const host of new Set([...groups.values()].map((g) => g.host))) {
      if (!isDockerHub(host)) continue;
      const quota = transport.rateLimit(host);
      if (!quota) continue;
      const authenticated = resolvedCredentials.get(host)?.credential !== undefined;
      for (const g of groups.values()) {
        if (g.host !== host) continue;
        for (const ref of g.refs) {
          const r = results.get(ref.canonical);
          if (!r) continue;
          r.evidence.rateLimit = { ...quota, authenticated };
          if (quota.remaining <= quotaReserve) r.hint += ` ${dockerHubQuotaHint(quota, authenticated)}`;
        }
      }
    }

    const perRegistry: CheckStats['perRegistry'] = {};
    for (const g of groups.values()) {
      const p = (perRegistry[g.host] ??= { registryRequests: 0, tokenRequests: 0, images: 0, repositories: 0 });
      p.images += g.refs.length;
      p.repositories++;
    }
    let registryRequests = 0;
    let tokenRequests = 0;
    for (const [host, c] of transport.allCounts()) {
      registryRequests += c.registry;
      tokenRequests += c.token;
      const p = (perRegistry[host] ??= { registryRequests: 0, tokenRequests: 0, images: 0, repositories: 0 });
      p.registryRequests = c.registry;
      p.tokenRequests = c.token;
    }
    stats = {
      images: total,
      repositories: groups.size,
      registryRequests,
      tokenRequests,
      packagesApiRequests: api?.requests ?? 0,
      durationMs: Date.now() - started,
      perRegistry,
      notes,
    };
    return [...unique.values()].map((ref) => results.get(ref.canonical) ?? { image: ref.canonical, status: 'UNREACHABLE' as const, evidence: {}, hint: 'not checked' });
  }

  return { check, lastStats: () => stats };
}

interface RepoContext {
  /** The configured credential source failed for this host (the probes ran anonymously). */
  credentialProblem?: CredentialProblem;
  credentialSource?: string;
  platforms: readonly string[];
  visibilityMatters: boolean;
  anonymousProbe: 'auto' | 'always';
  /** The caller wants the source repository of this image repository (CheckRequest.sourceLinks). */
  sourceLinkWanted: boolean;
  /** Image-label reads left for this check (shared by all repositories). */
  labelReads: { left: number };
}

async function probe(
  client: RegistryClient,
  repository: string,
  ref: ImageReference,
  mode: AuthMode,
  platforms: readonly string[],
  indexCache: Map<string, Promise<{ platforms: string[] }>>,
): Promise<ProbeOutcome> {
  const tally = { requests: 0 };
  const reference = referenceOf(ref);
  try {
    const found = await client.headManifest(repository, reference, mode, tally);
    const outcome: ProbeOutcome = { ok: true, found, requests: 0 };
    if (platforms.length && isIndexMediaType(found.mediaType) && !client.headOnly) {
      const target = found.digest ?? reference;
      const key = `${client.host}/${repository}@${target}#${mode}`;
      let p = indexCache.get(key);
      if (!p) {
        p = client.indexPlatforms(repository, target, mode, tally);
        indexCache.set(key, p);
        p.catch(() => indexCache.delete(key));
      }
      try {
        outcome.platforms = (await p).platforms;
      } catch (err) {
        outcome.platformError = toRegistryError(err, 'manifest');
      }
    }
    outcome.requests = tally.requests;
    return outcome;
  } catch (err) {
    return { ok: false, error: toRegistryError(err, 'network'), requests: tally.requests };
  }
}

const isHttp = (o: ProbeOutcome | undefined, ...statuses: number[]) =>
  !!o && !o.ok && !o.error.transient && o.error.status !== undefined && statuses.includes(o.error.status);

/**
 * The probe plan for one repository (documented in README.md):
 * 1. Visibility first, where it matters (ghcr.io with a credential): the owner's Packages API listing, one call per
 *    100 packages, shared by the owner's repositories.
 * 2. Probes. Without a credential: every reference anonymously. With one, when visibility matters and is still
 *    unknown (no API token, API host given up, package not listed): anonymously first, since that answer is the
 *    visibility; the credential then goes to the references anonymous callers could not read (PRIVATE or
 *    missing?), and to everything when its pull token for the repository does not vouch for it
 *    (RegistryClient.credentialGranted: refused, so a stale credential still reads as AUTH_FAILED, or cannot
 *    tell). Otherwise: every
 *    reference with the credential, plus anonymously the refused ones (is it public anyway? → AUTH_FAILED), or
 *    all of them with anonymousProbe 'always'. One token for up to 25 repositories per request
 *    (RegistryClient.declareRepositories), one HEAD per reference; a GET only after a 404/401/403 (to read the
 *    error code) and for indexes (platforms; cached by digest).
 * 3. tags/list once, only when some reference answered 404 (missing tag vs missing repository; hints).
 * 4. Packages API when something failed: the package, versions for the references that failed, the owner's
 *    packages when the package is not found.
 */
async function checkRepository(
  g: RepoGroup,
  client: RegistryClient,
  api: GitHubPackagesClient | undefined,
  indexCache: Map<string, Promise<{ platforms: string[] }>>,
  ctx: RepoContext,
): Promise<ImageFacts[]> {
  const hasCredential = client.credential !== undefined;
  const primaryMode: AuthMode = hasCredential ? 'authenticated' : 'anonymous';
  const isGhcr = g.host === 'ghcr.io';
  const [owner, ...rest] = g.repository.split('/');
  const pkgName = rest.join('/');
  const packagesApi = api && isGhcr && owner && pkgName ? { api, owner, pkgName } : undefined;
  const probeEach = (indexes: readonly number[], mode: AuthMode, platforms: readonly string[]) =>
    Promise.all(indexes.map(async (i) => [i, await probe(client, g.repository, g.refs[i] as ImageReference, mode, platforms, indexCache)] as const));
  const everyIndex = g.refs.map((_, i) => i);

  // 1. Visibility from the owner's listing.
  let pkg: PackageLookup | undefined;
  const visibilityWanted = hasCredential && ctx.visibilityMatters;
  if (packagesApi && visibilityWanted) pkg = await packagesApi.api.listedPackage(packagesApi.owner, packagesApi.pkgName);

  // 2. Probes: `primary` holds what the primary mode saw (the credential's answer when one is configured).
  const primary = new Map<number, ProbeOutcome>();
  const anonymous = new Map<number, ProbeOutcome>();
  if (!hasCredential) {
    for (const [i, o] of await probeEach(everyIndex, 'anonymous', ctx.platforms)) {
      primary.set(i, o);
      anonymous.set(i, o);
    }
  } else if (visibilityWanted && pkg?.visibility === undefined) {
    // What anonymous callers can read, or cannot find in a public repository, needs the credential only when the
    // token step does not vouch for it (refused, e.g. expired: AUTH_FAILED; or it cannot tell): nobody can pull
    // what is not there, and a public image pulls with any credential the registry accepts. The credential's token
    // is asked for beside the anonymous probes; the credentialed probes need it anyway.
    const vouching =
      ctx.anonymousProbe === 'always'
        ? Promise.resolve(false)
        : client.credentialGranted(g.repository, { requests: 0 }).catch(() => false); // a refusal is evidence below
    for (const [i, o] of await probeEach(everyIndex, 'anonymous', ctx.platforms)) anonymous.set(i, o);
    const credentialVouched = await vouching;
    const publicAnswer = (i: number) => anonymous.get(i)?.ok === true || isHttp(anonymous.get(i), 404);
    const needsCredential = everyIndex.filter((i) => !(credentialVouched && publicAnswer(i)));
    for (const [i, o] of await probeEach(needsCredential, 'authenticated', ctx.platforms)) primary.set(i, o);
  } else {
    for (const [i, o] of await probeEach(everyIndex, 'authenticated', ctx.platforms)) primary.set(i, o);
    const anonymousToo = ctx.anonymousProbe === 'always' ? everyIndex : everyIndex.filter((i) => isHttp(primary.get(i), 401, 403));
    for (const [i, o] of await probeEach(anonymousToo, 'anonymous', [])) anonymous.set(i, o);
  }
  /** The answer the verdict rests on: the credential's when it was asked, else the anonymous one. */
  const decisive = (i: number) => primary.get(i) ?? anonymous.get(i);

  // 3. tags/list when something answered 404: with the credential when it got the 404, else anonymously (a refused
  //    credential with an anonymous 404, or a public repository checked anonymously).
  let tags: ImageFacts['tags'];
  let tagsMode: AuthMode | undefined;
  if (everyIndex.some((i) => isHttp(primary.get(i), 404))) tagsMode = primaryMode;
  else if (everyIndex.some((i) => isHttp(anonymous.get(i), 404))) tagsMode = 'anonymous';
  if (tagsMode) {
    try {
      const list = await client.listTags(g.repository, tagsMode, { requests: 0 });
      tags = { list };
      // GHCR lists oldest to newest; other registries sort lexically (no recency).
      if (isGhcr) tags.recent = list.slice(-5).reverse();
    } catch (err) {
      tags = { error: toRegistryError(err, 'tags') };
    }
  }

  // 4. Packages API when something failed: the listing (already read when visibility mattered), else the
  //    package's own endpoint; versions of the references that failed; the owner's packages when it is not found.
  let ownerPackages: string[] | undefined;
  const versions = new Map<string, VersionsLookup>();
  const failed = everyIndex.filter((i) => isHttp(decisive(i), 401, 403, 404));
  if (packagesApi && failed.length) {
    const { api: packages, owner: o, pkgName: name } = packagesApi;
    if (!pkg && !visibilityWanted) pkg = await packages.listedPackage(o, name);
    if (!pkg) pkg = await packages.getPackage(o, name);
    if (pkg.exists === true && pkg.ownerKind) {
      for (const i of failed) {
        const ref = g.refs[i] as ImageReference;
        const lookup: { tag?: string; digest?: string } = {};
        if (ref.digest) lookup.digest = ref.digest;
        else lookup.tag = ref.tag ?? 'latest';
        versions.set(ref.canonical, await packages.findVersion(o, pkg.ownerKind, name, lookup));
      }
    } else if (pkg.http === 404 || pkg.exists === false) {
      ownerPackages = await packages.ownerPackages(o);
    }
  }

  // 5. Source link (ghcr.io, evidence only): the repository the package links to. The Packages API answer above
  //    names it for free; else, for a missing tag of a repository the caller asked about, the source label of the
  //    most recent existing tag's config (capped per check).
  let sourceLink: SourceLink | undefined;
  if (pkg?.sourceRepository) sourceLink = { repository: pkg.sourceRepository, from: 'packages-api' };
  else if (isGhcr && ctx.sourceLinkWanted && tagsMode && ctx.labelReads.left > 0) {
    const existing = tags?.recent?.[0] ?? tags?.list?.[tags.list.length - 1];
    if (existing !== undefined) {
      ctx.labelReads.left--;
      try {
        const labels = await client.configLabels(g.repository, existing, tagsMode, ctx.platforms, { requests: 0 });
        const repository = githubRepositoryOf(labels[SOURCE_LABEL] ?? '');
        if (repository) sourceLink = { repository, from: 'image-label', tag: existing };
      } catch {
        // The link is extra evidence: without it the image simply gets no CI verdict.
      }
    }
  }

  const withheld = hasCredential ? client.withheldFor(g.repository) : undefined;
  return g.refs.map((ref, i) => {
    const f: ImageFacts = { ref, visibilityMatters: ctx.visibilityMatters, platformsWanted: ctx.platforms, isGhcr, ...(sourceLink ? { sourceLink } : {}) };
    const p = primary.get(i);
    if (hasCredential) {
      if (p) f.authenticated = p;
      const a = anonymous.get(i);
      if (a) f.anonymous = a;
      f.credential = { source: client.credential?.source ?? 'config', ...(withheld ? { withheld } : {}) };
    } else if (p) {
      f.anonymous = p;
      if (ctx.credentialProblem) f.credential = { source: ctx.credentialSource ?? ctx.credentialProblem.source, problem: ctx.credentialProblem };
    }
    if (tags) f.tags = tags;
    const v = versions.get(ref.canonical);
    if (pkg) {
      f.api = { pkg };
      if (v) f.api.versions = v;
      if (ownerPackages) {
        f.api.ownerPackages = ownerPackages;
        if (owner) f.api.candidates = repositoryCandidates(owner, pkgName, ownerPackages);
      }
    }
    if (!ref.digest) {
      const pool = tags?.list ?? v?.allTags;
      if (pool) f.nearest = nearestTags(ref.tag ?? 'latest', pool);
    }
    return f;
  });
}
