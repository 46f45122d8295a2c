/**
 * A registry client for one registry host, composed of the layers beside it: endpoint mapping, auth discovery
 * (one anonymous `/v2/` ping per registry, skipped for ghcr.io and docker.io when not remapped), bearer tokens
 * per repository, Basic for htpasswd registries, retries, and the OCI error type.
 *
 * Tokens for many repositories come in batches: the caller declares the repositories it will probe, and one token
 * request asks for up to SCOPE_BATCH of them at once (repeated `scope=`, as the token spec allows). A batch the
 * registry refuses as a whole is split into smaller batches, and a refused smaller batch goes one repository at a
 * time (#split); a repository answered 401/403 under a batch token (the token did not cover it) is asked again with
 * its own scope. Either way the repository keeps its own token for the rest of the run, so every verdict rests on
 * the same per-repository answers as without batching. A realm whose batch tokens keep
 * failing gets no more batches.
 *
 * Two modes per repository: `anonymous` (what a cluster without a pull secret sees) and `authenticated` (with
 * the configured credential). Credentials are never sent to `/v2/` for bearer registries (GHCR rejects them there
 * without a challenge): the token endpoint gets Basic `user:token`, the registry gets the bearer token.
 */
import { KNOWN_TOKEN_ENDPOINTS, type RegistryEndpoint } from './endpoints.js';
import type { RegistryCredential } from './credentials.js';
import { RegistryError, parseRegistryErrorBody, type RegistryStage } from './errors.js';
import { basicAuthorization } from './auth/basic.js';
import { TokenService, tokenGrantsPull, type TokenRequest } from './auth/bearer.js';
import { parseWwwAuthenticate } from './auth/challenge.js';
import { mayReceiveCredential } from './auth/realm-policy.js';
import { MANIFEST_ACCEPT, isIndexMediaType, parseIndexPlatforms } from './manifests.js';
import { sendWithRetry, type RetryPolicy } from './retry.js';
import { nextPageUrl, parseTagsPage } from './tags.js';
import type { HttpResponse, Transport } from './transport.js';

export type AuthMode = 'anonymous' | 'authenticated';

type Discovery = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

export interface RegistryClientOptions {
  endpoint: RegistryEndpoint;
  credential?: RegistryCredential;
  transport: Transport;
  tokens: TokenService;
  retry?: RetryPolicy;
  allowedRealmHosts?: readonly string[];
  /**
   * Go straight to the token endpoint without waiting for a challenge (default for ghcr.io). With a remapped
   * endpoint the realm is still learned from one anonymous `/v2/` ping, whose scope is ignored.
   */
  directToken?: boolean;
  /** Page size asked of tags/list (`n`); default 10000 for ghcr.io, none elsewhere. */
  tagPageSize?: number;
  /** Upper bound on tag pages followed (default 50). */
  maxTagPages?: number;
  /** Send no GET to this registry (Docker Hub: GETs count against the pull limit); a function is asked each time. */
  headOnly?: boolean | (() => boolean);
  /** One token request for several declared repositories (default true); see declareRepositories. */
  multiScopeTokens?: boolean;
}

/**
 * Repositories per multi-scope token request. GHCR's JWT lists every granted repository, so 25 keep the token
 * (sent on every request) near 3 KB and the token URL near 1.5 KB.
 */
export const SCOPE_BATCH = 25;
/** Refusals under batch tokens after which a mode's batches stop, when they outnumber the answers they served. */
const BATCH_GIVE_UP_AFTER = 8;

interface Authorization {
  header?: string;
  tokenReq?: TokenRequest;
  /** The token is a batch token: a 401/403 may mean it did not cover this repository. */
  batched?: boolean;
}

export interface ManifestFound {
  digest?: string;
  mediaType?: string;
}

export interface Tally {
  requests: number;
}

export class RegistryClient {
  readonly host: string;
  readonly endpoint: RegistryEndpoint;
  readonly credential: RegistryCredential | undefined;
  readonly #o: RegistryClientOptions;
  readonly #base: URL;
  #discovery: Promise<Discovery> | undefined;
  readonly #withheld = new Map<string, string>();
  readonly #rechallenged = new Set<string>();
  /** Per mode: each declared repository's batch (the repositories sharing one token request). */
  readonly #batches = new Map<AuthMode, Map<string, readonly string[]>>();
  /** `mode\0repository` that use their own token from now on. */
  readonly #solo = new Set<string>();
  /** Sub-batches made by #split: refused, they go solo. */
  readonly #leaves = new WeakSet<readonly string[]>();
  readonly #batchHealth = new Map<AuthMode, { served: number; refused: number; granted: number; failed: number }>();

  constructor(options: RegistryClientOptions) {
    this.#o = options;
    this.endpoint = options.endpoint;
    this.host = options.endpoint.host;
    this.credential = options.credential;
    this.#base = new URL(options.endpoint.baseUrl + '/');
  }

  /** Whether GETs are withheld now (Docker Hub: always by default; with GETs allowed, once the quota runs low). */
  get headOnly(): boolean {
    const h = this.#o.headOnly;
    return typeof h === 'function' ? h() : (h ?? false);
  }

  #url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.#base);
  }

  /** How this registry authenticates; one anonymous `/v2/` ping per run at most. */
  discover(tally?: Tally): Promise<Discovery> {
    if (!this.#discovery) {
      const known = KNOWN_TOKEN_ENDPOINTS[this.host];
      if (known && !this.endpoint.mapped) {
        this.#discovery = Promise.resolve({ scheme: 'bearer', realm: known.realm, service: known.service });
      } else {
        this.#discovery = this.#ping(tally);
        // A transient failure must not stick for the whole run.
        this.#discovery.catch(() => {
          this.#discovery = undefined;
        });
      }
    }
    return this.#discovery;
  }

  async #ping(tally?: Tally): Promise<Discovery> {
    const res = await sendWithRetry(
      this.#o.transport,
      { method: 'GET', url: this.#url('v2/'), stage: 'ping', registryHost: this.host, endpoint: this.#base, ...(tally ? { tally } : {}) },
      this.#o.retry,
    );
    if (res.status >= 200 && res.status < 300) return { scheme: 'none' };
    const challenge = parseWwwAuthenticate(res.headers['www-authenticate']);
    if (res.status === 401 && challenge?.scheme === 'bearer' && challenge.params.realm) {
      // The scope of a /v2/ challenge is ignored: GHCR fills it with a placeholder.
      const d: Discovery = { scheme: 'bearer', realm: challenge.params.realm };
      if (challenge.params.service) d.service = challenge.params.service;
      return d;
    }
    if (res.status === 401 && challenge?.scheme === 'basic') return { scheme: 'basic' };
    const info = parseRegistryErrorBody(res.body);
    throw new RegistryError({
      kind: 'http',
      stage: 'ping',
      status: res.status,
      message: info.message ?? `GET /v2/ answered HTTP ${res.status}`,
      ...(info.code ? { code: info.code } : {}),
    });
  }

  /** Why the credential was kept from this repository's token realm, if it was (realm policy). */
  withheldFor(repository: string): string | undefined {
    return this.#withheld.get(repository);
  }

  #tokenRequest(repository: string, mode: AuthMode, realm: string, service: string | undefined, tally?: Tally): TokenRequest {
    if (mode === 'authenticated' && this.credential) {
      let decision: { allowed: boolean; reason: string };
      try {
        decision = mayReceiveCredential(new URL(realm), { registryHost: this.host, endpoint: this.#base, ...(this.#o.allowedRealmHosts ? { allowedRealmHosts: this.#o.allowedRealmHosts } : {}) });
      } catch {
        decision = { allowed: false, reason: 'invalid realm URL' };
      }
      if (!decision.allowed) this.#withheld.set(repository, decision.reason);
    }
    const req: TokenRequest = {
      registryHost: this.host,
      endpoint: this.#base,
      realm,
      scope: `repository:${repository}:pull`,
    };
    if (service) req.service = service;
    if (mode === 'authenticated' && this.credential) req.credential = this.credential;
    if (this.#o.allowedRealmHosts) req.allowedRealmHosts = this.#o.allowedRealmHosts;
    if (tally) req.tally = tally;
    return req;
  }

  /**
   * The repositories about to be probed in a mode, in the order they will be: consecutive ones share a token
   * request (SCOPE_BATCH at a time). Bookkeeping only; nothing is sent until a repository needs its token.
   */
  declareRepositories(repositories: readonly string[], mode: AuthMode): void {
    if (this.#o.multiScopeTokens === false) return;
    // An identity token is exchanged by POST (OAuth2 refresh grant): one scope per exchange, as before.
    if (mode === 'authenticated' && this.credential?.kind === 'identity-token') return;
    const unique = [...new Set(repositories)];
    let byRepository = this.#batches.get(mode);
    if (!byRepository) {
      byRepository = new Map();
      this.#batches.set(mode, byRepository);
    }
    for (let i = 0; i < unique.length; i += SCOPE_BATCH) {
      const batch = unique.slice(i, i + SCOPE_BATCH);
      if (batch.length > 1) for (const repository of batch) byRepository.set(repository, batch);
    }
  }

  #health(mode: AuthMode) {
    let h = this.#batchHealth.get(mode);
    if (!h) {
      h = { served: 0, refused: 0, granted: 0, failed: 0 };
      this.#batchHealth.set(mode, h);
    }
    return h;
  }

  /** The batch this repository's token comes from, unless it uses its own (or batches stopped for the mode). */
  #batchOf(repository: string, mode: AuthMode): readonly string[] | undefined {
    if (this.#solo.has(`${mode}\0${repository}`)) return undefined;
    const h = this.#health(mode);
    if ((h.refused >= BATCH_GIVE_UP_AFTER && h.refused > h.served) || (h.failed >= 3 && h.granted === 0)) return undefined;
    return this.#batches.get(mode)?.get(repository);
  }

  /** From now on this repository asks for its own token in this mode. */
  #goSolo(repositories: readonly string[], mode: AuthMode): void {
    for (const repository of repositories) this.#solo.add(`${mode}\0${repository}`);
  }

  /**
   * A batch refused as a whole: one of its repositories is hidden, but which one the token server does not say.
   * Two-stage group testing: sub-batches of about the square root of its size, and a refused sub-batch goes one
   * repository at a time. k hidden repositories in 25 cost 1 + 5 + 5k token requests instead of 1 + 25.
   */
  #split(batch: readonly string[], mode: AuthMode): void {
    const size = Math.ceil(Math.sqrt(batch.length));
    const byRepository = this.#batches.get(mode);
    if (batch.length <= 4 || !byRepository) {
      this.#goSolo(batch, mode);
      return;
    }
    for (let i = 0; i < batch.length; i += size) {
      const part = batch.slice(i, i + size);
      if (part.length > 1) {
        for (const repository of part) byRepository.set(repository, part);
        this.#leaves.add(part);
      } else this.#goSolo(part, mode);
    }
  }

  /** The Authorization header for a repository in a mode (fetching a token when needed). */
  async authorization(repository: string, mode: AuthMode, tally?: Tally): Promise<Authorization> {
    const d = await this.discover(tally);
    if (d.scheme === 'none') return {};
    if (d.scheme === 'basic') {
      return mode === 'authenticated' && this.credential?.kind === 'basic' ? { header: basicAuthorization(this.credential) } : {};
    }
    const tokenReq = this.#tokenRequest(repository, mode, d.realm, d.service, tally);
    // Each refusal leaves the repository in a smaller batch, or alone: the loop ends.
    for (let batch = this.#batchOf(repository, mode); batch; batch = this.#batchOf(repository, mode)) {
      const batchReq: TokenRequest = { ...tokenReq, scopes: batch.map((r) => `repository:${r}:pull`) };
      try {
        const t = await this.#o.tokens.get(batchReq);
        this.#health(mode).granted++;
        return { header: `Bearer ${t.token}`, tokenReq: batchReq, batched: true };
      } catch {
        // Refused as a whole (GHCR denies the request when one repository is hidden) or failed: smaller batches
        // (#split), then every member on its own, so each one's refusal is its own evidence. The first caller to
        // see the refusal splits; the others find their repository already moved.
        if (this.#batchOf(repository, mode) === batch) {
          this.#health(mode).failed++;
          if (this.#leaves.has(batch)) this.#goSolo(batch, mode);
          else this.#split(batch, mode);
        }
      }
    }
    const t = await this.#o.tokens.get(tokenReq);
    return { header: `Bearer ${t.token}`, tokenReq };
  }

  /**
   * Whether the configured credential would be accepted for pulling this repository, as far as the token step
   * tells, without a request to the repository itself: the credential's pull token (its batch's, one request per
   * 25 repositories, and then reused by any credentialed probe) was issued and, when it is a JWT, grants pull on
   * this repository. False when that cannot be told this way (no credential, Basic auth or none, a credential
   * withheld from the realm) or the token does not grant it. Throws the token step's RegistryError when it was refused.
   */
  async credentialGranted(repository: string, tally?: Tally): Promise<boolean> {
    if (!this.credential) return false;
    const d = await this.discover(tally);
    if (d.scheme !== 'bearer') return false;
    const auth = await this.authorization(repository, 'authenticated', tally);
    if (this.#withheld.has(repository) || !auth.header) return false;
    return tokenGrantsPull(auth.header.slice('Bearer '.length), repository) ?? true;
  }

  /** One authorised request against the registry, re-authenticating once on a 401 challenge. */
  async request(
    repository: string,
    mode: AuthMode,
    init: { method: 'GET' | 'HEAD'; url: URL; stage: RegistryStage & ('manifest' | 'tags'); accept?: string },
    tally?: Tally,
  ): Promise<HttpResponse> {
    let auth = await this.authorization(repository, mode, tally);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (init.accept) headers.accept = init.accept;
      if (auth.header) headers.authorization = auth.header;
      const res = await sendWithRetry(
        this.#o.transport,
        { method: init.method, url: init.url, headers, stage: init.stage, registryHost: this.host, endpoint: this.#base, ...(tally ? { tally } : {}) },
        this.#o.retry,
      );
      const batched = auth.batched === true;
      if (batched) {
        const refused = res.status === 401 || res.status === 403;
        this.#health(mode)[refused ? 'refused' : 'served']++;
        if (refused) this.#goSolo([repository], mode);
        // A 403 under a batch token: ask again once with the repository's own token (its answer is the evidence).
        if (res.status === 403 && attempt === 0) {
          auth = await this.authorization(repository, mode, tally);
          continue;
        }
      }
      if (res.status !== 401 || attempt > 0) return res;
      const challenge = parseWwwAuthenticate(res.headers['www-authenticate']);
      if (challenge?.scheme === 'bearer' && challenge.params.realm) {
        // Expired token, a batch token that did not cover this repository, or a registry whose /v2/ did not ask
        // for auth: fetch a token for our own scope, once per repository, mode and realm (a registry that keeps
        // refusing fresh tokens is answered by the 401 itself).
        const key = `${repository}\0${mode}\0${challenge.params.realm}`;
        if (this.#rechallenged.has(key)) return res;
        this.#rechallenged.add(key);
        // A batch token stays: the other repositories of its batch still use it.
        if (auth.tokenReq && !batched) this.#o.tokens.invalidate(auth.tokenReq);
        const tokenReq = this.#tokenRequest(repository, mode, challenge.params.realm, challenge.params.service, tally);
        const t = await this.#o.tokens.get(tokenReq);
        auth = { header: `Bearer ${t.token}`, tokenReq };
        continue;
      }
      if (challenge?.scheme === 'basic' && mode === 'authenticated' && this.credential?.kind === 'basic' && !auth.header) {
        auth = { header: basicAuthorization(this.credential) };
        continue;
      }
      return res;
    }
  }

  #manifestUrl(repository: string, reference: string): URL {
    return this.#url(`v2/${repository}/manifests/${reference}`);
  }

  #errorFrom(res: HttpResponse, stage: RegistryStage, fallback: string): RegistryError {
    const info = parseRegistryErrorBody(res.body);
    return new RegistryError({
      kind: 'http',
      stage,
      status: res.status,
      message: info.message ?? fallback,
      ...(info.code ? { code: info.code } : {}),
    });
  }

  /**
   * HEAD the manifest with all four media types accepted. On 404/401/403, GET the same URL to read the registry's
   * error code and message (a HEAD error has no body), unless this registry is HEAD-only. Throws RegistryError.
   */
  async headManifest(repository: string, reference: string, mode: AuthMode, tally?: Tally): Promise<ManifestFound> {
    const url = this.#manifestUrl(repository, reference);
    const res = await this.request(repository, mode, { method: 'HEAD', url, stage: 'manifest', accept: MANIFEST_ACCEPT }, tally);
    if (res.status >= 200 && res.status < 300) {
      const found: ManifestFound = {};
      const digest = res.headers['docker-content-digest'];
      const type = res.headers['content-type']?.split(';')[0]?.trim();
      if (digest) found.digest = digest;
      if (type) found.mediaType = type;
      return found;
    }
    if ((res.status === 404 || res.status === 401 || res.status === 403) && !this.headOnly) {
      const get = await this.request(repository, mode, { method: 'GET', url, stage: 'manifest', accept: MANIFEST_ACCEPT }, tally);
      if (get.status >= 200 && get.status < 300) {
        // HEAD and GET disagree (eventual consistency): believe the success.
        const found: ManifestFound = {};
        const digest = get.headers['docker-content-digest'];
        const type = get.headers['content-type']?.split(';')[0]?.trim();
        if (digest) found.digest = digest;
        if (type) found.mediaType = type;
        return found;
      }
      throw this.#errorFrom(get, 'manifest', `manifest request answered HTTP ${get.status}`);
    }
    throw this.#errorFrom(res, 'manifest', `manifest request answered HTTP ${res.status}`);
  }

  /** GET an index and return its platforms (attestations excluded). Throws RegistryError. */
  async indexPlatforms(repository: string, reference: string, mode: AuthMode, tally?: Tally): Promise<{ platforms: string[]; mediaType?: string }> {
    const url = this.#manifestUrl(repository, reference);
    const res = await this.request(repository, mode, { method: 'GET', url, stage: 'manifest', accept: MANIFEST_ACCEPT }, tally);
    if (res.status < 200 || res.status >= 300) throw this.#errorFrom(res, 'manifest', `manifest GET answered HTTP ${res.status}`);
    const type = res.headers['content-type']?.split(';')[0]?.trim();
    if (!isIndexMediaType(type)) return { platforms: [], ...(type ? { mediaType: type } : {}) };
    const platforms = parseIndexPlatforms(res.body);
    if (!platforms) throw new RegistryError({ kind: 'http', stage: 'manifest', status: res.status, message: 'index body is not a valid image index' });
    return { platforms, ...(type ? { mediaType: type } : {}) };
  }

  /**
   * The labels of an image's config (`config.Labels`). For an index, of the entry for the first wanted platform
   * (else its first image entry, attestations excluded). Three GETs at most: manifest, platform manifest, config
   * blob (read at the `manifest` stage: it is part of the image description). Throws RegistryError.
   */
  async configLabels(repository: string, reference: string, mode: AuthMode, platforms: readonly string[], tally?: Tally): Promise<Record<string, string>> {
    const getJson = async (url: URL, accept: string): Promise<{ type: string | undefined; json: unknown }> => {
      const res = await this.request(repository, mode, { method: 'GET', url, stage: 'manifest', accept }, tally);
      if (res.status < 200 || res.status >= 300) throw this.#errorFrom(res, 'manifest', `GET ${url.pathname} answered HTTP ${res.status}`);
      try {
        return { type: res.headers['content-type']?.split(';')[0]?.trim(), json: JSON.parse(res.body) as unknown };
      } catch {
        throw new RegistryError({ kind: 'http', stage: 'manifest', status: res.status, message: `${url.pathname} is not JSON` });
      }
    };
    let manifest = await getJson(this.#manifestUrl(repository, reference), MANIFEST_ACCEPT);
    if (isIndexMediaType(manifest.type) || isIndexMediaType(mediaTypeOf(manifest.json))) {
      const digest = imageEntryOf(manifest.json, platforms);
      if (!digest) throw new RegistryError({ kind: 'http', stage: 'manifest', message: 'the index has no image entry' });
      manifest = await getJson(this.#manifestUrl(repository, digest), MANIFEST_ACCEPT);
    }
    const configDigest = configDigestOf(manifest.json);
    if (!configDigest) throw new RegistryError({ kind: 'http', stage: 'manifest', message: 'the manifest names no config blob' });
    const config = await getJson(this.#url(`v2/${repository}/blobs/${configDigest}`), 'application/json, */*');
    return labelsOf(config.json);
  }

  /** All tags, following Link pagination. Throws RegistryError (404 `NAME_UNKNOWN` for a missing repository). */
  async listTags(repository: string, mode: AuthMode, tally?: Tally): Promise<string[]> {
    const pageSize = this.#o.tagPageSize ?? (this.host === 'ghcr.io' ? 10_000 : undefined);
    let url: URL | undefined = this.#url(`v2/${repository}/tags/list`);
    if (pageSize) url.searchParams.set('n', String(pageSize));
    const tags: string[] = [];
    const maxPages = this.#o.maxTagPages ?? 50;
    for (let page = 0; url && page < maxPages; page++) {
      const res = await this.request(repository, mode, { method: 'GET', url, stage: 'tags', accept: 'application/json' }, tally);
      if (res.status !== 200) throw this.#errorFrom(res, 'tags', `tags/list answered HTTP ${res.status}`);
      const pageTags = parseTagsPage(res.body);
      if (!pageTags) throw new RegistryError({ kind: 'http', stage: 'tags', status: res.status, message: 'tags/list body is not a tag list' });
      tags.push(...pageTags);
      url = nextPageUrl(res.headers.link, url);
    }
    return tags;
  }
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function mediaTypeOf(json: unknown): string | undefined {
  return typeof json === 'object' && json !== null && typeof (json as { mediaType?: unknown }).mediaType === 'string' ? (json as { mediaType: string }).mediaType : undefined;
}

/** The digest of the index entry for the first wanted platform, else of its first image entry (attestations excluded). */
function imageEntryOf(index: unknown, platforms: readonly string[]): string | undefined {
  const manifests = (index as { manifests?: unknown })?.manifests;
  if (!Array.isArray(manifests)) return undefined;
  const entries = manifests
    .filter((m): m is { digest: string; platform?: { os?: string; architecture?: string; variant?: string }; annotations?: Record<string, string> } => typeof m?.digest === 'string' && DIGEST.test(m.digest))
    .filter((m) => m.platform?.os !== 'unknown' && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const platformOf = (m: (typeof entries)[number]) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/');
  for (const wanted of platforms) {
    const hit = entries.find((m) => platformOf(m) === wanted);
    if (hit) return hit.digest;
  }
  return entries[0]?.digest;
}

function configDigestOf(manifest: unknown): string | undefined {
  const digest = (manifest as { config?: { digest?: unknown } })?.config?.digest;
  return typeof digest === 'string' && DIGEST.test(digest) ? digest : undefined;
}

/** `config.Labels` of an image config (string values only). */
function labelsOf(config: unknown): Record<string, string> {
  const labels = (config as { config?: { Labels?: unknown } })?.config?.Labels;
  const out: Record<string, string> = {};
  if (typeof labels !== 'object' || labels === null) return out;
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}
