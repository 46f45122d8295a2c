/**
 * Docker token protocol: `repository:<name>:pull` scopes built by us (never the scope of a `/v2/` ping, which GHCR
 * fills with a placeholder), one per repository, or several in one request (`scopes`, sent as repeated `scope=`
 * parameters as the token spec allows; client.ts batches repositories this way and falls back to one scope per
 * request where a registry does not honour it). Tokens are cached by (registry host, realm, service, scopes,
 * credential identity) and honour `expires_in` (60 s when absent, as the spec says). Concurrent callers share one
 * in-flight request. Deterministic refusals (401/403 at the token endpoint) are cached for the run, so a denied
 * repository costs one request however many tags it has; transient failures are not cached.
 */
import * as z from '../../zod.js';
import type { RegistryCredential } from '../credentials.js';
import { RegistryError, parseRegistryErrorBody } from '../errors.js';
import { sendWithRetry, type RetryPolicy } from '../retry.js';
import type { Transport } from '../transport.js';
import { basicAuthorization } from './basic.js';
import { mayReceiveCredential } from './realm-policy.js';

const tokenResponse = z.object({
  token: z.optional(z.string()),
  access_token: z.optional(z.string()),
  expires_in: z.optional(z.number()),
});

const jwtAccessClaim = z.object({
  access: z.array(z.object({ type: z.string(), name: z.string(), actions: z.array(z.string()) })),
});

/**
 * What a token says it grants for pulling `repository`, when it says anything: true/false for a JWT carrying the
 * token spec's `access` claim (distribution and its kin issue those, and may grant less than asked), undefined for
 * an opaque token (GHCR's), where having been issued is all there is to go on. The claim is read, not verified:
 * the registry verifies it; this only predicts the registry's answer to spare a request.
 */
export function tokenGrantsPull(token: string, repository: string): boolean | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = jwtAccessClaim.safeParse(claims);
  if (!parsed.success) return undefined;
  return parsed.data.access.some((a) => a.type === 'repository' && a.name === repository && (a.actions.includes('pull') || a.actions.includes('*')));
}

export interface TokenRequest {
  registryHost: string;
  endpoint: URL;
  realm: string;
  service?: string;
  /** The scope asked for (one repository). */
  scope: string;
  /**
   * A multi-repository request: every scope it asks for (repeated `scope=`; `scope` is one of them). The token
   * answers for all of them only if the registry honours several scopes: the caller checks that on use.
   */
  scopes?: readonly string[];
  /** The registry's credential; omitted for an anonymous token. */
  credential?: RegistryCredential;
  allowedRealmHosts?: readonly string[];
  /** Counts the exchange for the caller's evidence (not part of the cache key). */
  tally?: { requests: number };
}

export interface TokenResult {
  token: string;
  /** Whether the credential was actually sent (false when anonymous, or withheld by the realm policy). */
  credentialSent: boolean;
  /** Why a credential was withheld, when it was. */
  withheld?: string;
}

interface CacheEntry {
  promise: Promise<TokenResult>;
  expiresAt: number;
}

export class TokenService {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #transport: Transport;
  readonly #retry: RetryPolicy;

  constructor(transport: Transport, retry: RetryPolicy = {}) {
    this.#transport = transport;
    this.#retry = retry;
  }

  #key(req: TokenRequest): string {
    return [req.registryHost, req.realm, req.service ?? '', (req.scopes ?? [req.scope]).join(' '), req.credential?.identity ?? 'anonymous'].join('\u0000');
  }

  get(req: TokenRequest): Promise<TokenResult> {
    const key = this.#key(req);
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.promise;
    const entry: CacheEntry = { promise: Promise.resolve({ token: '', credentialSent: false }), expiresAt: Number.POSITIVE_INFINITY };
    entry.promise = this.#fetch(req).then(
      ({ result, expiresInSec }) => {
        // Renew a little early: 90 % of the lifetime.
        entry.expiresAt = Date.now() + expiresInSec * 900;
        return result;
      },
      (err: unknown) => {
        if (!(err instanceof RegistryError) || err.transient) this.#cache.delete(key);
        throw err;
      },
    );
    this.#cache.set(key, entry);
    return entry.promise;
  }

  invalidate(req: TokenRequest): void {
    this.#cache.delete(this.#key(req));
  }

  async #fetch(req: TokenRequest): Promise<{ result: TokenResult; expiresInSec: number }> {
    let realm: URL;
    try {
      realm = new URL(req.realm);
    } catch {
      throw new RegistryError({ kind: 'http', stage: 'token', message: `invalid token realm ${JSON.stringify(req.realm)}` });
    }
    let credential = req.credential;
    let withheld: string | undefined;
    if (credential) {
      const decision = mayReceiveCredential(realm, {
        registryHost: req.registryHost,
        endpoint: req.endpoint,
        ...(req.allowedRealmHosts ? { allowedRealmHosts: req.allowedRealmHosts } : {}),
      });
      if (!decision.allowed) {
        withheld = decision.reason;
        credential = undefined;
      }
    }
    const url = new URL(realm.href);
    const headers: Record<string, string> = { accept: 'application/json' };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (credential?.kind === 'identity-token') {
      // OAuth2 refresh-token grant (Docker config `identitytoken`).
      method = 'POST';
      // OAuth2 scopes are one space-separated parameter.
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'image-drift-auditor', refresh_token: credential.secret.reveal(), scope: (req.scopes ?? [req.scope]).join(' ') });
      if (req.service) form.set('service', req.service);
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (req.service) url.searchParams.set('service', req.service);
      url.searchParams.delete('scope');
      for (const scope of req.scopes ?? [req.scope]) url.searchParams.append('scope', scope);
      if (credential) headers.authorization = basicAuthorization(credential);
    }
    if (withheld) {
      this.#transport.report({ method, url: url.origin + url.pathname + url.search, stage: 'token', note: `credential withheld: ${withheld}` });
    }
    const res = await sendWithRetry(
      this.#transport,
      { method, url, headers, ...(body !== undefined ? { body } : {}), stage: 'token', registryHost: req.registryHost, endpoint: req.endpoint, maxBodyBytes: 256 * 1024, ...(req.tally ? { tally: req.tally } : {}) },
      this.#retry,
    );
    if (res.status !== 200) {
      const info = parseRegistryErrorBody(res.body);
      throw new RegistryError({
        kind: 'http',
        stage: 'token',
        status: res.status,
        message: info.message ?? `token endpoint answered HTTP ${res.status}`,
        ...(info.code ? { code: info.code } : {}),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw new RegistryError({ kind: 'http', stage: 'token', status: res.status, message: 'token response is not JSON' });
    }
    const parsed = tokenResponse.safeParse(json);
    const token = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
    if (!token) throw new RegistryError({ kind: 'http', stage: 'token', status: res.status, message: 'token response carries no token' });
    const expiresIn = parsed.success && parsed.data.expires_in && parsed.data.expires_in > 0 ? parsed.data.expires_in : 60;
    const result: TokenResult = { token, credentialSent: credential !== undefined };
    if (withheld) result.withheld = withheld;
    return { result, expiresInSec: expiresIn };
  }
}
