/**
 * The Secrets Manager secret the deployed auditor reads its credentials from, and how a
 * registry's `credential` (config) turns into a username/password, deployed or on the CLI.
 *
 * Secret JSON (every key optional; the stack creates the secret as `{}`):
 *
 *     {
 *       "githubToken": "ghp_…",                       // classic PAT, scope read:packages (+ repo for private GitOps repos)
 *       "registries": {
 *         "ghcr.io":   { "username": "x", "password": "ghp_…" },
 *         "docker.io": { "username": "me", "password": "dckr_pat_…" }
 *       }
 *     }
 *
 * - `githubToken` reads the GitOps repositories (GitHub contents API), asks the Packages API
 *   about ghcr.io packages, and authenticates to ghcr.io when `registries` has no ghcr.io entry.
 * - `registries.<key>`: `<key>` is the registry's `credential.secretKey`, by default its host.
 *
 * Error messages never contain credential values: only key names.
 */
import * as z from '../zod.js';
import { registerSecret } from '../hygiene.js';
import type { CredentialConfig } from './schema.js';
import { CredentialError } from './errors.js';

const RegistrySecretSchema = z.strictObject({
  username: z.optional(z.string().check(z.minLength(1, { error: 'must not be empty' }))),
  password: z.string({ error: 'required: the password or token' }).check(z.minLength(1, { error: 'must not be empty' })),
});

export const AuditorSecretSchema = z.strictObject({
  githubToken: z.optional(z.string({ error: 'must be a string (a classic PAT, "ghp_…")' }).check(z.minLength(1, { error: 'must not be empty' }))),
  registries: z.optional(z.record(z.string().check(z.minLength(1)), RegistrySecretSchema)),
});

export type AuditorSecret = z.output<typeof AuditorSecretSchema>;
export type RegistrySecret = z.output<typeof RegistrySecretSchema>;

/** Username sent with a GitHub token: GHCR accepts any username with a PAT as password. */
export const GITHUB_TOKEN_USERNAME = 'image-drift';

/** The CLI's default variable for `github-token` credentials. */
export const DEFAULT_GITHUB_TOKEN_ENV = 'GITHUB_TOKEN';

export interface BasicCredential {
  username: string;
  password: string;
}

// Defined in errors.ts so that the CLI can catch it without loading zod at start-up.
export { CredentialError } from './errors.js';

/** Parses the secret string. An empty string or `{}` is a valid, empty secret. */
export function parseAuditorSecret(text: string | undefined, source = 'the auditor secret'): AuditorSecret {
  if (text === undefined || text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CredentialError(`${source} is not valid JSON; expected {"githubToken": "...", "registries": {...}}`);
  }
  const result = AuditorSecretSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.') || '(top level)';
      const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      return `${path}: ${message}`;
    });
    throw new CredentialError(`${source} does not have the expected shape: ${problems.join('; ')}`);
  }
  // Every value in the secret is redacted from whatever the auditor prints, stores or mails (hygiene.ts).
  registerSecret(result.data.githubToken);
  for (const entry of Object.values(result.data.registries ?? {})) registerSecret(entry.password, entry.username);
  return result.data;
}

/**
 * Deployed: the username/password for `host`, from the secret. Undefined when the secret holds
 * nothing for it (the registry is then probed anonymously only, and the run notes it).
 */
export function credentialFromSecret(host: string, credential: CredentialConfig, secret: AuditorSecret): BasicCredential | undefined {
  const key = credential.secretKey ?? host;
  const entry = secret.registries?.[key];
  if (entry) {
    if (entry.username === undefined && credential.type !== 'github-token') {
      throw new CredentialError(`secret registries.${key} needs a "username" for a ${credential.type} credential`);
    }
    return { username: entry.username ?? GITHUB_TOKEN_USERNAME, password: entry.password };
  }
  if (credential.type === 'github-token' && secret.githubToken) {
    return { username: GITHUB_TOKEN_USERNAME, password: secret.githubToken };
  }
  return undefined;
}

/**
 * CLI: the username/password for `host`, from the environment. `github-token` reads the token from
 * `credential.env` (default GITHUB_TOKEN); `basic` and `dockerhub` read "username:password".
 */
export function credentialFromEnv(
  host: string,
  credential: CredentialConfig,
  env: Readonly<Record<string, string | undefined>>,
): BasicCredential | undefined {
  if (credential.type === 'github-token') {
    const token = env[credential.env ?? DEFAULT_GITHUB_TOKEN_ENV];
    return token ? { username: GITHUB_TOKEN_USERNAME, password: token } : undefined;
  }
  if (credential.env === undefined) return undefined;
  const value = env[credential.env];
  if (!value) return undefined;
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new CredentialError(`${credential.env} (credential for ${host}) must hold "username:password"`);
  }
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * Deployed: what the secret lacks for the configuration (an empty secret; a configured credential with no
 * value). Names keys only. An empty list means the setup is complete.
 */
export function secretSetupProblems(
  registries: Readonly<Record<string, { credential?: CredentialConfig | undefined }>>,
  secret: AuditorSecret,
): string[] {
  const problems: string[] = [];
  if (!secret.githubToken && Object.keys(secret.registries ?? {}).length === 0) {
    problems.push('the auditor secret is empty: no githubToken and no registries credentials; private images can only be probed anonymously');
  }
  for (const [host, registry] of Object.entries(registries)) {
    const credential = registry.credential;
    if (!credential) continue;
    let found: BasicCredential | undefined;
    try {
      found = credentialFromSecret(host, credential, secret);
    } catch {
      found = undefined;
    }
    if (!found) {
      const key = credential.secretKey ?? host;
      problems.push(
        `registries."${host}".credential (${credential.type}) has no value in the secret: set registries."${key}"${credential.type === 'github-token' ? ' or githubToken' : ''}`,
      );
    }
  }
  return problems;
}

/** CLI: the same check against the environment (a configured credential whose variable is unset). */
export function envSetupProblems(
  registries: Readonly<Record<string, { credential?: CredentialConfig | undefined }>>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  for (const [host, registry] of Object.entries(registries)) {
    const credential = registry.credential;
    if (!credential) continue;
    const variable = credential.env ?? (credential.type === 'github-token' ? DEFAULT_GITHUB_TOKEN_ENV : undefined);
    if (variable === undefined || !env[variable]) {
      problems.push(`registries."${host}".credential (${credential.type}): ${variable === undefined ? 'no env variable is named' : `${variable} is not set`}`);
    }
  }
  return problems;
}
