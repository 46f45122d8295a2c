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
import { z } from 'zod';
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

export type CredentialSource = 'docker-config' | 'env:GITHUB_TOKEN' | 'env:GH_TOKEN' | 'env:DOCKERHUB_TOKEN' | 'config';

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

export class RegistryCredentials {
  readonly #byHost: Map<string, RegistryCredential>;
  readonly #githubApiToken: Secret | undefined;
  /** Hosts whose Docker config entry uses a credential helper we cannot run (reported, not used). */
  readonly helperHosts: readonly string[];

  constructor(init: { credentials?: RegistryCredential[]; githubApiToken?: string | Secret; helperHosts?: string[] } = {}) {
    this.#byHost = new Map((init.credentials ?? []).map((c) => [c.host, c]));
    const t = init.githubApiToken;
    this.#githubApiToken = t === undefined || t === '' ? undefined : t instanceof Secret ? t : new Secret(t);
    this.helperHosts = init.helperHosts ?? [];
  }

  /** The credential for a registry host as written in references (`index.docker.io` counts as `docker.io`). */
  forHost(host: string): RegistryCredential | undefined {
    return this.#byHost.get(normaliseHost(host));
  }

  hosts(): string[] {
    return [...this.#byHost.keys()];
  }

  /** Token for the GitHub REST API (Packages): GITHUB_TOKEN/GH_TOKEN, else the ghcr.io password/token. */
  githubApiToken(): Secret | undefined {
    if (this.#githubApiToken) return this.#githubApiToken;
    const ghcr = this.#byHost.get('ghcr.io');
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
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
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
}

export async function loadRegistryCredentials(options: LoadCredentialsOptions): Promise<RegistryCredentials> {
  const { env } = options;
  const path =
    options.dockerConfigPath ??
    (env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(options.homeDir ?? homedir(), '.docker', 'config.json'));
  const creds = new Map<string, RegistryCredential>();
  const helperHosts: string[] = [];

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
        creds.set(host, makeCredential({ host, username: username ?? '<token>', secret: entry.identitytoken, kind: 'identity-token', source: 'docker-config' }));
      } else if (username && password) {
        creds.set(host, makeCredential({ host, username, secret: password, source: 'docker-config' }));
      }
    }
    for (const key of Object.keys(parsed.data.credHelpers ?? {})) {
      const host = dockerConfigKeyToHost(key);
      if (!creds.has(host)) helperHosts.push(host);
    }
  }

  const ghToken = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!creds.has('ghcr.io') && ghToken) {
    creds.set(
      'ghcr.io',
      makeCredential({ host: 'ghcr.io', username: env.GITHUB_ACTOR || 'image-drift-auditor', secret: ghToken, source: env.GITHUB_TOKEN ? 'env:GITHUB_TOKEN' : 'env:GH_TOKEN' }),
    );
  }
  if (!creds.has('docker.io') && env.DOCKERHUB_USERNAME && env.DOCKERHUB_TOKEN) {
    creds.set('docker.io', makeCredential({ host: 'docker.io', username: env.DOCKERHUB_USERNAME, secret: env.DOCKERHUB_TOKEN, source: 'env:DOCKERHUB_TOKEN' }));
  }
  const init: { credentials: RegistryCredential[]; helperHosts: string[]; githubApiToken?: string } = {
    credentials: [...creds.values()],
    helperHosts,
  };
  if (ghToken) init.githubApiToken = ghToken;
  return new RegistryCredentials(init);
}
