/**
 * Registry credentials, keyed by the registry host written in image references (never by a mapped endpoint).
 *
 * Sources, in order: the Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`,
 * `auths` entries with `auth` base64 or `username`/`password`/`identitytoken`), then `GITHUB_TOKEN` / `GH_TOKEN`
 * for ghcr.io when no Docker config entry covers it, then `DOCKERHUB_USERNAME` + `DOCKERHUB_TOKEN` for docker.io.
 * Never from argv. Secrets are wrapped in {@link Secret}, which redacts itself in JSON, inspect and string form.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as z from '../zod.js';
import { runCredentialHelper, type RunHelperOptions } from './credential-helper.js';
import type { CredentialProblem } from './credential-problem.js';
import { parseEcrHost, sdkEcrTokenFetcher, type EcrTokenFetcher, type EcrTokenResult } from './ecr.js';
import { normaliseHost } from './endpoints.js';
import { registerSecret } from '../hygiene.js';

const REDACTED = '[redacted]';

/** A secret string that never shows itself by accident. Call reveal() at the single place it is sent. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    // Every credential we hold is redacted from whatever we print or store (hygiene.ts).
    registerSecret(value);
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

export type CredentialSource =
  | 'docker-config'
  | 'docker-credential-helper'
  | 'docker-credential-store'
  | 'aws-ecr'
  | 'env:GITHUB_TOKEN'
  | 'env:GH_TOKEN'
  | 'env:DOCKERHUB_TOKEN'
  | 'config';

export interface RegistryCredential {
  /** The registry host this credential belongs to (`ghcr.io`, `docker.io`...). */
  readonly host: string;
  readonly username: string;
  /** Password or token for Basic auth, or an OAuth refresh token when kind is `identity-token`. */
  readonly secret: Secret;
  readonly kind: 'basic' | 'identity-token';
  readonly source: CredentialSource;
  /** A short non-reversible fingerprint used as a cache key; safe to show. */
  readonly identity: string;
  toJSON(): Record<string, string>;
}

export function makeCredential(init: {
  host: string;
  username: string;
  secret: string;
  kind?: 'basic' | 'identity-token';
  source?: CredentialSource;
}): RegistryCredential {
  const host = normaliseHost(init.host);
  const kind = init.kind ?? 'basic';
  const source = init.source ?? 'config';
  const identity = createHash('sha256').update(`${kind}\0${init.username}\0${init.secret}`).digest('hex').slice(0, 12);
  const secret = new Secret(init.secret);
  registerSecret(init.secret, init.username);
  const safe = { host, username: init.username, kind, source, identity, secret: REDACTED };
  return {
    host,
    username: init.username,
    secret,
    kind,
    source,
    identity,
    toJSON: () => ({ ...safe }),
    [inspect.custom]: () => `RegistryCredential ${inspect(safe)}`,
  } as RegistryCredential;
}

export interface EcrCredentialOptions {
  auto?: boolean;
  explicitHosts?: readonly string[];
  disabledHosts?: readonly string[];
  fetchToken?: EcrTokenFetcher;
}

/** What resolve() gives for a host: a credential, nothing (anonymous), or why the configured one failed. */
export interface ResolvedCredential {
  credential?: RegistryCredential;
  problem?: CredentialProblem;
}

export interface RegistryCredentialsInit {
  /** Explicit credentials (the config file's `credential` entries, the Lambda secret): they win. */
  credentials?: RegistryCredential[];
  /** Static Docker config `auths` entries (only for hosts no helper or store covers, as Docker reads them). */
  dockerAuths?: RegistryCredential[];
  /** Docker config `credHelpers`: host → helper suffix (`ecr-login` runs `docker-credential-ecr-login`). */
  credHelpers?: Readonly<Record<string, string>>;
  /** Docker config `credsStore`: the helper for every host without a `credHelpers` entry. */
  credsStore?: string;
  /** Environment fallbacks (GITHUB_TOKEN for ghcr.io, DOCKERHUB_* for docker.io). */
  envCredentials?: RegistryCredential[];
  /**
   * Amazon ECR: every `*.dkr.ecr.*.amazonaws.com` host gets a token from GetAuthorizationToken unless the Docker
   * config or the environment covers it (`auto`, default true); `explicitHosts` get ECR tokens before the Docker
   * config is read (config `registries.<host>.ecr: {}`); `disabledHosts` never (`ecr: false`). `false`: never.
   */
  ecr?: EcrCredentialOptions | false;
  githubApiToken?: string | Secret;
  /** How long a helper may take (default 10 s) and its environment. */
  helper?: RunHelperOptions;
}

/**
 * Every credential the auditor may use, by registry host, in Docker's order of precedence: an explicit
 * credential from the config (or the Lambda secret); then the Docker config as Docker reads it
 * (`credHelpers[host]`, else `credsStore`, else `auths[host]`; a store that has nothing means anonymous, as
 * in Docker); then GITHUB_TOKEN/DOCKERHUB_*; then, for Amazon ECR hosts, a token from GetAuthorizationToken.
 * Helpers and ECR are asked lazily (only for hosts an audit checks), once per host, cached until expiry.
 */
export class RegistryCredentials {
  readonly #explicit: Map<string, RegistryCredential>;
  readonly #dockerAuths: Map<string, RegistryCredential>;
  readonly #env: Map<string, RegistryCredential>;
  readonly #credHelpers: Map<string, string>;
  readonly #credsStore: string | undefined;
  readonly #ecr: { auto: boolean; explicit: ReadonlySet<string>; disabled: ReadonlySet<string> } | undefined;
  readonly #fetchEcrToken: EcrTokenFetcher | undefined;
  readonly #helperOptions: RunHelperOptions;
  readonly #githubApiToken: Secret | undefined;
  readonly #resolved = new Map<string, { promise: Promise<ResolvedCredential>; expiresAt: number }>();
  readonly #ecrTokens = new Map<string, Promise<EcrTokenResult>>();

  constructor(init: RegistryCredentialsInit = {}) {
    const byHost = (list: RegistryCredential[] | undefined) => new Map((list ?? []).map((c) => [c.host, c]));
    this.#explicit = byHost(init.credentials);
    this.#dockerAuths = byHost(init.dockerAuths);
    this.#env = byHost(init.envCredentials);
    this.#credHelpers = new Map(Object.entries(init.credHelpers ?? {}).map(([k, v]) => [dockerConfigKeyToHost(k), v]));
    this.#credsStore = init.credsStore || undefined;
    if (init.ecr !== false) {
      this.#ecr = {
        auto: init.ecr?.auto ?? true,
        explicit: new Set((init.ecr?.explicitHosts ?? []).map(normaliseHost)),
        disabled: new Set((init.ecr?.disabledHosts ?? []).map(normaliseHost)),
      };
      this.#fetchEcrToken = init.ecr?.fetchToken ?? sdkEcrTokenFetcher();
    }
    this.#helperOptions = init.helper ?? {};
    const t = init.githubApiToken;
    this.#githubApiToken = t === undefined || t === '' ? undefined : t instanceof Secret ? t : new Secret(t);
  }

  /** The credential known without running anything (explicit, Docker `auths`, environment). */
  forHost(host: string): RegistryCredential | undefined {
    const h = normaliseHost(host);
    return this.#explicit.get(h) ?? (this.#helperFor(h) ? undefined : this.#dockerAuths.get(h)) ?? this.#env.get(h);
  }

  #helperFor(host: string): string | undefined {
    return this.#credHelpers.get(host) ?? this.#credsStore;
  }

  #isEcr(host: string): boolean {
    if (!this.#ecr || this.#ecr.disabled.has(host)) return false;
    return this.#ecr.explicit.has(host) || (this.#ecr.auto && parseEcrHost(host) !== undefined);
  }

  /** Where the credential for a host would come from (for messages; runs nothing). */
  sourceFor(host: string): string | undefined {
    const h = normaliseHost(host);
    if (this.#explicit.has(h)) return 'config';
    const helper = this.#helperFor(h);
    if (helper) return `docker-credential-${helper}`;
    if (this.#dockerAuths.has(h)) return 'docker-config';
    if (this.#env.has(h)) return this.#env.get(h)?.source;
    if (this.#isEcr(h)) return 'aws ecr:GetAuthorizationToken';
    return undefined;
  }

  /** The credential for a host, running a helper or asking ECR when that is where it lives. Never throws. */
  resolve(host: string): Promise<ResolvedCredential> {
    const h = normaliseHost(host);
    const hit = this.#resolved.get(h);
    if (hit && hit.expiresAt > Date.now()) return hit.promise;
    const entry = { promise: Promise.resolve<ResolvedCredential>({}), expiresAt: Number.POSITIVE_INFINITY };
    entry.promise = this.#resolveUncached(h, entry).catch((err: unknown) => ({
      problem: { kind: 'unavailable' as const, source: this.sourceFor(h) ?? 'credentials', message: err instanceof Error ? err.message : String(err) },
    }));
    this.#resolved.set(h, entry);
    return entry.promise;
  }

  async #resolveUncached(host: string, entry: { expiresAt: number }): Promise<ResolvedCredential> {
    const explicit = this.#explicit.get(host);
    if (explicit) return { credential: explicit };
    // An explicit ECR host (config `registries.<host>.ecr`) outranks the Docker config.
    if (this.#ecr?.explicit.has(host) && this.#isEcr(host)) return this.#fromEcr(host, entry);
    const helper = this.#helperFor(host);
    if (helper) {
      const r = await runCredentialHelper(helper, host, this.#helperOptions);
      if (r.found) {
        const source: CredentialSource = this.#credHelpers.has(host) ? 'docker-credential-helper' : 'docker-credential-store';
        return { credential: makeCredential({ host, username: r.credential.username, secret: r.credential.secret, kind: r.credential.kind, source }) };
      }
      if ('problem' in r) {
        if (r.problem.kind === 'transient') entry.expiresAt = 0;
        return { problem: r.problem };
      }
      // The store has nothing for this host: Docker then pulls anonymously (its `auths` entry is not read).
      return this.#env.has(host) ? { credential: this.#env.get(host)! } : this.#isEcr(host) ? this.#fromEcr(host, entry) : {};
    }
    const fromFile = this.#dockerAuths.get(host) ?? this.#env.get(host);
    if (fromFile) return { credential: fromFile };
    if (this.#isEcr(host)) return this.#fromEcr(host, entry);
    return {};
  }

  async #fromEcr(host: string, entry: { expiresAt: number }): Promise<ResolvedCredential> {
    const region = parseEcrHost(host)?.region ?? 'us-east-1';
    let p = this.#ecrTokens.get(region);
    if (!p) {
      p = this.#fetchEcrToken!(region);
      this.#ecrTokens.set(region, p);
    }
    const r = await p;
    if (!r.ok) {
      this.#ecrTokens.delete(region);
      if (r.problem.kind === 'transient') entry.expiresAt = 0;
      return { problem: r.problem };
    }
    // Renew five minutes before ECR's own expiry.
    entry.expiresAt = r.token.expiresAt - 300_000;
    if (entry.expiresAt <= Date.now()) this.#ecrTokens.delete(region);
    return { credential: makeCredential({ host, username: r.token.username, secret: r.token.password, source: 'aws-ecr' }) };
  }

  /** Hosts with a credential known without running anything. */
  hosts(): string[] {
    return [...new Set([...this.#explicit.keys(), ...this.#dockerAuths.keys(), ...this.#env.keys()])].filter((h) => this.forHost(h));
  }

  /** A copy with explicit credentials added (they win over everything else for their hosts). */
  withExplicit(credentials: readonly RegistryCredential[], githubApiToken?: string): RegistryCredentials {
    const merged = new Map(this.#explicit);
    for (const c of credentials) merged.set(c.host, c);
    const token = githubApiToken ?? this.#githubApiToken;
    return new RegistryCredentials({
      credentials: [...merged.values()],
      dockerAuths: [...this.#dockerAuths.values()],
      credHelpers: Object.fromEntries(this.#credHelpers),
      ...(this.#credsStore ? { credsStore: this.#credsStore } : {}),
      envCredentials: [...this.#env.values()],
      ecr: this.#ecr && this.#fetchEcrToken ? { auto: this.#ecr.auto, explicitHosts: [...this.#ecr.explicit], disabledHosts: [...this.#ecr.disabled], fetchToken: this.#fetchEcrToken } : false,
      ...(token ? { githubApiToken: token } : {}),
      helper: this.#helperOptions,
    });
  }

  /** Token for the GitHub REST API (Packages): GITHUB_TOKEN/GH_TOKEN, else the ghcr.io password/token. */
  githubApiToken(): Secret | undefined {
    if (this.#githubApiToken) return this.#githubApiToken;
    const ghcr = this.forHost('ghcr.io');
    return ghcr && ghcr.kind === 'basic' ? ghcr.secret : undefined;
  }

  toJSON(): unknown {
    return { hosts: this.hosts(), githubApiToken: this.#githubApiToken ? REDACTED : undefined };
  }

  [inspect.custom](): string {
    return `RegistryCredentials { hosts: ${inspect(this.hosts())} }`;
  }
}

const dockerConfigSchema = z.object({
  auths: z.optional(
    z.record(
      z.string(),
      z.object({
        auth: z.optional(z.string()),
        username: z.optional(z.string()),
        password: z.optional(z.string()),
        identitytoken: z.optional(z.string()),
      }),
    ),
  ),
  credHelpers: z.optional(z.record(z.string(), z.string())),
  credsStore: z.optional(z.string()),
});

/** `https://index.docker.io/v1/` → `docker.io`; `https://ghcr.io` → `ghcr.io`; `localhost:5000` stays. */
export function dockerConfigKeyToHost(key: string): string {
  let k = key.trim();
  k = k.replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0] ?? k;
  return normaliseHost(k);
}

export interface LoadCredentialsOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Explicit path to a Docker config.json; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** For tests: where `~` is. */
  homeDir?: string;
  /** ECR: `false` never asks AWS; otherwise the hosts and the token fetcher (default: every ECR host, the SDK). */
  ecr?: RegistryCredentialsInit['ecr'];
  /** Credential helper timeout and environment. */
  helper?: RunHelperOptions;
}

export async function loadRegistryCredentials(options: LoadCredentialsOptions): Promise<RegistryCredentials> {
  const { env } = options;
  const path =
    options.dockerConfigPath ??
    (env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(options.homeDir ?? homedir(), '.docker', 'config.json'));
  const dockerAuths = new Map<string, RegistryCredential>();
  let credHelpers: Record<string, string> = {};
  let credsStore: string | undefined;

  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // A missing file is normal; an explicit path that cannot be read is an error.
    if (options.dockerConfigPath !== undefined || (code !== 'ENOENT' && code !== 'ENOTDIR')) {
      throw new Error(`cannot read Docker config ${path}: ${String(code ?? err)}`);
    }
  }
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`Docker config ${path} is not valid JSON`);
    }
    const parsed = dockerConfigSchema.safeParse(json);
    if (!parsed.success) throw new Error(`Docker config ${path} has an unexpected shape`);
    for (const [key, entry] of Object.entries(parsed.data.auths ?? {})) {
      const host = dockerConfigKeyToHost(key);
      let username = entry.username;
      let password = entry.password;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          username = decoded.slice(0, colon);
          password = decoded.slice(colon + 1);
        }
      }
      if (entry.identitytoken) {
        dockerAuths.set(host, makeCredential({ host, username: username ?? '<token>', secret: entry.identitytoken, kind: 'identity-token', source: 'docker-config' }));
      } else if (username && password) {
        dockerAuths.set(host, makeCredential({ host, username, secret: password, source: 'docker-config' }));
      }
    }
    credHelpers = parsed.data.credHelpers ?? {};
    credsStore = parsed.data.credsStore || undefined;
  }

  const envCredentials: RegistryCredential[] = [];
  const ghToken = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (ghToken) {
    envCredentials.push(
      makeCredential({ host: 'ghcr.io', username: env.GITHUB_ACTOR || 'image-drift-auditor', secret: ghToken, source: env.GITHUB_TOKEN ? 'env:GITHUB_TOKEN' : 'env:GH_TOKEN' }),
    );
  }
  if (env.DOCKERHUB_USERNAME && env.DOCKERHUB_TOKEN) {
    envCredentials.push(makeCredential({ host: 'docker.io', username: env.DOCKERHUB_USERNAME, secret: env.DOCKERHUB_TOKEN, source: 'env:DOCKERHUB_TOKEN' }));
  }
  return new RegistryCredentials({
    dockerAuths: [...dockerAuths.values()],
    credHelpers,
    ...(credsStore ? { credsStore } : {}),
    envCredentials,
    ...(options.ecr !== undefined ? { ecr: options.ecr } : {}),
    ...(options.helper ? { helper: options.helper } : {}),
    ...(ghToken ? { githubApiToken: ghToken } : {}),
  });
}
