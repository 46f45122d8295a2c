/**
 * The configuration file `image-drift.config.yaml` (or `.json`), shared by the CLI and the CDK app.
 *
 * One schema, three readers:
 * - the CLI (`image-drift audit --config …`) reads it with `loadConfigFile`;
 * - the CDK app validates it at synth (`bin/app.ts`), so a bad file fails before any deploy;
 * - the Lambda receives the validated JSON in `IMAGE_DRIFT_CONFIG` (see runtime-env.ts).
 *
 * No secrets live here: credentials are named (`secretKey` inside the Secrets Manager secret,
 * `env` for the CLI), never written. Unknown keys are errors, so typos do not pass silently.
 * No AWS imports: the CLI loads this module too.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from '../zod.js';
import { VERDICTS, type DriftStatus, type Verdict } from '../model.js';
import { DEFAULT_SCHEDULE, scheduleProblem } from './schedule.js';
import { ConfigError } from './errors.js';

export { STARTER_CONFIG_YAML } from './starter.js';
export { DEFAULT_SCHEDULE, rateSeconds, scheduleProblem } from './schedule.js';

// ─── Value lists ───────────────────────────────────────────────────────────

/** Every DriftStatus, at runtime (model.ts only has the type). */
export const DRIFT_STATUSES = [
  'PRESENT',
  'NEVER_PUSHED',
  'DISAPPEARED',
  'PRIVATE',
  'PLATFORM_MISSING',
  'INVALID_REFERENCE',
  'AUTH_FAILED',
  'NOT_VISIBLE_ANONYMOUSLY',
  'PULL_SECRET_MISSING',
  'UNVERIFIED',
] as const satisfies readonly DriftStatus[];
// Fails to compile when model.ts gains a DriftStatus this list lacks.
const driftStatusesComplete: Exclude<DriftStatus, (typeof DRIFT_STATUSES)[number]> extends never ? true : never = true;
void driftStatusesComplete;

/** Values accepted by `failOn`: registry verdicts and drift states (INVALID_REFERENCE, PRIVATE… are both). */
export const FAIL_ON_VALUES = [...new Set<string>([...VERDICTS, ...DRIFT_STATUSES])] as [
  Verdict | DriftStatus,
  ...(Verdict | DriftStatus)[],
];
export type FailOnValue = Verdict | DriftStatus;

export const DEFAULT_FAIL_ON: readonly FailOnValue[] = [
  'NEVER_PUSHED',
  'DISAPPEARED',
  'TAG_MISSING',
  'REPO_MISSING',
  'INVALID_REFERENCE',
];

/**
 * Statuses that alert by default: what stops a pull for certain, and UNVERIFIED (the auditor itself cannot see).
 * PRIVATE is absent: every workload pulling it has a pull secret. NOT_VISIBLE_ANONYMOUSLY alerts through
 * `notVisibleAlertAfterRuns` instead.
 */
export const DEFAULT_ALERT_ON: readonly FailOnValue[] = [
  'NEVER_PUSHED',
  'DISAPPEARED',
  'TAG_MISSING',
  'REPO_MISSING',
  'INVALID_REFERENCE',
  'PLATFORM_MISSING',
  'AUTH_FAILED',
  'PULL_SECRET_MISSING',
  'UNVERIFIED',
];

export const CREDENTIAL_TYPES = ['github-token', 'basic', 'dockerhub'] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

export const DEFAULTS = {
  schedule: DEFAULT_SCHEDULE,
  platforms: ['linux/amd64'],
  reminderIntervalHours: 168,
  unverifiedAfterRuns: 3,
  notVisibleAlertAfterRuns: 3,
  historyRetentionDays: 90,
  memoryMb: 512,
  timeoutSeconds: 300,
  githubBaseUrl: 'https://api.github.com',
} as const;

// ─── Field schemas ─────────────────────────────────────────────────────────

/** GitHub owner (1–39 chars, alphanumerics and single hyphens) / repository name. */
const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/[A-Za-z0-9._-]{1,100}$/;
/** A registry host as the auditor normalises it: lower case, optional port. */
const REGISTRY_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/;
/** `os/arch[/variant]` as OCI image indexes write it. */
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
/** A POSIX environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Docker Hub aliases the auditor rewrites to `docker.io` before looking up registry settings. */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const RepositorySchema = z
  .strictObject({
    repo: z
      .string({
        error: (iss) => (iss.input === undefined ? 'required: the GitHub repository as "owner/name"' : 'must be a string "owner/name"'),
      })
      .check(
        z.regex(REPO, { error: (iss) => `must be a GitHub repository as "owner/name" (got ${JSON.stringify(iss.input)})` }),
        z.describe('GitHub repository holding the GitOps manifests, as "owner/name".'),
      ),
    ref: z
      .optional(z.string().check(z.minLength(1, { error: 'must not be empty; leave it out to read the default branch' })))
      .check(z.describe('Branch, tag or commit to read. Default: the repository\'s default branch.')),
    paths: z
      .optional(
        z
          .array(
            z.string().check(
              z.minLength(1, { error: 'must not be empty' }),
              z.refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\'), {
                error: 'must be a repository-relative POSIX path without ".." or a leading "/"',
              }),
            ),
          )
          .check(z.minLength(1, { error: 'list at least one path, or leave "paths" out to read the whole repository' })),
      )
      .check(z.describe('Repository-relative directories or files to audit. Default: the whole repository.')),
  })
  .check(z.describe('One GitOps repository to audit.'));

const CredentialSchema = z
  .strictObject({
    type: z
      .enum(CREDENTIAL_TYPES, { error: `must be one of ${CREDENTIAL_TYPES.join(', ')}` })
      .check(
        z.describe(
          'github-token: a classic PAT with read:packages (ghcr.io; also used for the Packages API). ' +
            'basic: username + password. dockerhub: Docker Hub username + access token.',
        ),
      ),
    secretKey: z
      .optional(z.string().check(z.minLength(1, { error: 'must not be empty' })))
      .check(
        z.describe(
          'Deployed (Lambda): key under "registries" in the Secrets Manager secret JSON. Default: the registry host. ' +
            'For github-token, the top-level "githubToken" is used when that key is absent.',
        ),
      ),
    env: z
      .optional(z.string().check(z.regex(ENV_NAME, { error: (iss) => `must be an environment variable name (got ${JSON.stringify(iss.input)})` })))
      .check(
        z.describe(
          'CLI: environment variable holding the credential. github-token: the token (default GITHUB_TOKEN). ' +
            'basic/dockerhub: "username:password".',
        ),
      ),
  })
  .check(z.describe('How to authenticate to this registry. The credential itself never lives in this file.'));

const RegistrySchema = z
  .strictObject({
    endpoint: z
      .optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "https://registry-1.docker.io"' }))
      .check(z.describe('API base URL when it differs from https://<host> (e.g. a mirror). Default: https://<host>.')),
    credential: z.optional(CredentialSchema).check(z.describe('Default: anonymous only.')),
    allowedRealmHosts: z
      .optional(z.array(z.string().check(z.regex(REGISTRY_HOST, { error: (iss) => `must be a lower-case host name (got ${JSON.stringify(iss.input)})` }))))
      .check(
        z.describe(
          'Hosts the registry may send us to for tokens (the WWW-Authenticate realm); credentials go to no other host. ' +
            'Default: the registry host itself, plus the well-known realm of ghcr.io and docker.io.',
        ),
      ),
    ecr: z
      .optional(z.union([z.strictObject({}), z.literal(false)]))
      .check(
        z.describe(
          'Amazon ECR: {} takes this host\'s credential from ecr:GetAuthorizationToken (AWS default credential chain; the ' +
            'Lambda\'s role when deployed) before the Docker config; false never asks AWS. Default: ECR hosts ' +
            '(<account>.dkr.ecr.<region>.amazonaws.com) use GetAuthorizationToken unless the Docker config or a ' +
            '"credential" covers them. Deployed, the stack grants ecr:GetAuthorizationToken and ecr:BatchGetImage on them.',
        ),
      ),
  })
  .check(z.describe('Settings for one registry host.'));

const RegistryHostSchema = z.string().check(
  z.regex(REGISTRY_HOST, {
    error: (iss) => `registry keys are lower-case hosts with an optional port, e.g. "ghcr.io" or "localhost:5000" (got ${JSON.stringify(iss.input)})`,
  }),
  z.refine((host) => !DOCKER_HUB_ALIASES.has(host), {
    error: (iss) => `write "docker.io" instead of ${JSON.stringify(iss.input)}; set "endpoint" to change the API host`,
  }),
);

/** A host glob of `registries.allow`: `ghcr.io`, `*.corp.example`, `10.1.2.3`, `registry.local:5000`, `127.0.0.1:*`. */
const HOST_GLOB = /^[a-z0-9*?.\-[\]:]+$/;

const RegistriesSchema = z
  .catchall(
    z.object({
      allow: z
        .optional(
          z.array(
            z.string().check(
              z.regex(HOST_GLOB, { error: (iss) => `must be a lower-case host glob such as "*.corp.example" or "127.0.0.1:5000" (got ${JSON.stringify(iss.input)})` }),
            ),
          ),
        )
        .check(
          z.describe(
            'Outbound policy: host globs (host or host:port) the auditor may contact. A listed host may resolve to loopback or private ' +
              'addresses (never link-local/metadata in the Lambda). Default (absent): any host whose addresses are all public, plus hosts ' +
              'configured here or with --registry-endpoint. When set, registry hosts must be configured or listed; token realms and redirects ' +
              'may still go to public hosts. See docs/security.md.',
          ),
        ),
    }),
    RegistrySchema,
  )
  .check(
    z.superRefine((registries, ctx) => {
      for (const key of Object.keys(registries)) {
        if (key === 'allow') continue;
        const host = RegistryHostSchema.safeParse(key);
        if (!host.success) for (const issue of host.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [key], input: key });
      }
    }),
  );

/** The registry settings of a config, without the `allow` list: `[host, settings]` pairs. */
export function registryEntries(registries: AuditorConfig['registries']): Array<[string, RegistryConfig]> {
  return Object.entries(registries).filter((entry): entry is [string, RegistryConfig] => entry[0] !== 'allow');
}

const LambdaSchema = z
  .strictObject({
    memoryMb: z
      .optional(
        z.int({ error: 'must be a whole number of MB' }).check(
          z.minimum(128, { error: 'must be at least 128 (MB)' }),
          z.maximum(10_240, { error: 'must be at most 10240 (MB)' }),
        ),
      )
      .check(z.describe(`Lambda memory in MB. Default: ${DEFAULTS.memoryMb}.`)),
    timeoutSeconds: z
      .optional(
        z.int({ error: 'must be a whole number of seconds' }).check(
          z.minimum(10, { error: 'must be at least 10 (seconds)' }),
          z.maximum(900, { error: 'must be at most 900 (seconds): the Lambda limit' }),
        ),
      )
      .check(z.describe(`Lambda timeout in seconds. Default: ${DEFAULTS.timeoutSeconds}.`)),
  })
  .check(z.describe('Lambda sizing (deploy only).'));

const GithubSchema = z
  .strictObject({
    baseUrl: z
      .optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "https://github.example.com/api/v3"' }))
      .check(z.describe(`GitHub REST API base URL (GitHub Enterprise Server). Default: ${DEFAULTS.githubBaseUrl}.`)),
    packagesTokenSeesAllPackages: z
      .optional(z.boolean({ error: 'must be true or false' }))
      .check(
        z.describe(
          'Set true only when the GitHub token belongs to an org owner/admin who can see every package: ' +
            'then a Packages API 404 proves a package is missing (REPO_MISSING) instead of "missing or not visible". Default: false.',
        ),
      ),
  })
  .check(z.describe('GitHub API settings.'));

/** `YYYY-MM-DD`, a real calendar date. */
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const IgnoreSchema = z
  .strictObject({
    image: z
      .string({ error: 'required: a glob over the image reference, e.g. "ghcr.io/acme/legacy-*"' })
      .check(
        z.minLength(1, { error: 'must not be empty' }),
        z.describe('Glob over the normalised image reference ("ghcr.io/acme/legacy-*", "docker.io/library/nginx:*"); "*" does not cross "/", "**" does.'),
      ),
    app: z
      .optional(z.string().check(z.minLength(1, { error: 'must not be empty' })))
      .check(z.describe('Glob over the app name; the entry applies only to images this app deploys. Default: any app.')),
    path: z
      .optional(z.string().check(z.minLength(1, { error: 'must not be empty' })))
      .check(z.describe('Glob over the repository path of a file that writes the image ("clusters/dev/**"). Default: any file.')),
    reason: z
      .string({ error: 'required: say why this image is not alerted on (it appears in the warnings once the entry expires)' })
      .check(z.minLength(1, { error: 'must not be empty: say why' }), z.describe('Why the image is not alerted on. Required.')),
    until: z
      .optional(
        z.string().check(
          z.regex(DATE, { error: (iss) => `must be a date "YYYY-MM-DD" (got ${JSON.stringify(iss.input)})` }),
          z.refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), {
            error: (iss) => `is not a calendar date (got ${JSON.stringify(iss.input)})`,
          }),
        ),
      )
      .check(z.describe('Last day (UTC) the entry applies; after it the image alerts again and every run warns that the entry expired. Default: no end.')),
  })
  .check(z.describe('An image that does not alert (its status is still recorded and reported).'));

// ─── The config file ───────────────────────────────────────────────────────

export const AuditorConfigSchema = z
  .strictObject({
    $schema: z.optional(z.string()).check(z.describe('Optional JSON Schema reference for editors; ignored.')),
    repositories: z
      ._default(z.array(RepositorySchema), [])
      .check(z.describe('GitOps repositories to audit. Deploying needs at least one; the CLI may pass one on the command line. Default: [].')),
    schedule: z
      ._default(
        z.string({ error: 'must be a string such as "rate(1 hour)"' }).check(
          z.superRefine((value, ctx) => {
            const problem = scheduleProblem(value);
            if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
          }),
        ),
        DEFAULT_SCHEDULE,
      )
      .check(
        z.describe(
          `EventBridge schedule of the deployed auditor: "rate(N minutes|hours|days)" or a six-field UTC "cron(min hour day-of-month month day-of-week year)". Default: "${DEFAULT_SCHEDULE}".`,
        ),
      ),
    scheduleTimeZone: z
      ._default(
        z
          .string({ error: 'must be an IANA time zone name such as "Europe/Berlin"' })
          .check(z.refine(isTimeZone, { error: (iss) => `must be an IANA time zone name such as "Europe/Berlin" or "UTC" (got ${JSON.stringify(iss.input)})` })),
        'UTC',
      )
      .check(z.describe('IANA time zone the deployed schedule\'s cron fields are read in (EventBridge Scheduler), e.g. "Europe/Berlin". Default: "UTC".')),
    notificationEmails: z
      ._default(z.array(z.email({ error: (iss) => `must be an e-mail address (got ${JSON.stringify(iss.input)})` })), [])
      .check(z.describe('Addresses subscribed to the alert topic; each must confirm the subscription e-mail. Default: [].')),
    registries: z
      ._default(RegistriesSchema, {})
      .check(
        z.describe(
          'Per-registry settings, keyed by host ("ghcr.io", "docker.io", "localhost:5000"), and "allow", the outbound policy. Default: {} (anonymous everywhere, public hosts only).',
        ),
      ),
    platforms: z
      ._default(
        z
          .array(
            z.string().check(
              z.regex(PLATFORM, {
                error: (iss) => `must be "os/arch" or "os/arch/variant", e.g. "linux/arm64" (got ${JSON.stringify(iss.input)})`,
              }),
            ),
          )
          .check(z.minLength(1, { error: 'list at least one platform, e.g. ["linux/amd64"]' })),
        [...DEFAULTS.platforms],
      )
      .check(z.describe('Platforms the cluster runs; a multi-arch image lacking one is PLATFORM_MISSING. Default: ["linux/amd64"].')),
    reminderIntervalHours: z
      ._default(
        z.number({ error: 'must be a number of hours' }).check(
          z.minimum(0, { error: 'must be 0 (no reminders) or more' }),
          z.maximum(24 * 365, { error: 'must be at most 8760 (one year)' }),
        ),
        DEFAULTS.reminderIntervalHours,
      )
      .check(
        z.describe(
          `Hours between reminders about an alert still open (they go into the run's one digest message); 0 = never remind. Default: ${DEFAULTS.reminderIntervalHours} (weekly).`,
        ),
      ),
    unverifiedAfterRuns: z
      ._default(
        z.int({ error: 'must be a whole number of runs' }).check(
          z.minimum(1, { error: 'must be at least 1' }),
          z.maximum(1000, { error: 'must be at most 1000' }),
        ),
        DEFAULTS.unverifiedAfterRuns,
      )
      .check(
        z.describe(
          `Consecutive runs without a verdict (rate limited, unreachable) before an image becomes UNVERIFIED. Default: ${DEFAULTS.unverifiedAfterRuns}.`,
        ),
      ),
    failOn: z
      ._default(
        z.array(z.enum(FAIL_ON_VALUES, { error: (iss) => `must be a verdict or drift state, one of ${FAIL_ON_VALUES.join(', ')} (got ${JSON.stringify(iss.input)})` })),
        [...DEFAULT_FAIL_ON],
      )
      .check(
        z.describe(
          `Verdicts and drift states that fail the CLI (exit 1) and count in the ImagesFailing metric. Alerts are chosen by alertOn, not by this list. Default: ${DEFAULT_FAIL_ON.join(', ')}.`,
        ),
      ),
    alertOn: z
      ._default(
        z.array(z.enum(FAIL_ON_VALUES, { error: (iss) => `must be a verdict or drift state, one of ${FAIL_ON_VALUES.join(', ')} (got ${JSON.stringify(iss.input)})` })),
        [...DEFAULT_ALERT_ON],
      )
      .check(
        z.describe(
          `Verdicts and drift states that are alerted on (e-mail, SNS) and in the CLI's --alerts-preview. An image leaving them for a status not listed is announced as resolved. Default: ${DEFAULT_ALERT_ON.join(', ')}.`,
        ),
      ),
    notVisibleAlertAfterRuns: z
      ._default(
        z.int({ error: 'must be a whole number of runs' }).check(
          z.minimum(0, { error: 'must be 0 (never) or more' }),
          z.maximum(1000, { error: 'must be at most 1000' }),
        ),
        DEFAULTS.notVisibleAlertAfterRuns,
      )
      .check(
        z.describe(
          `NOT_VISIBLE_ANONYMOUSLY (no credential could see the image) alerts once it stayed so for this many consecutive runs, naming the credential that settles it; 0 = never (unless alertOn lists it). Default: ${DEFAULTS.notVisibleAlertAfterRuns}.`,
        ),
      ),
    ignore: z
      ._default(z.array(IgnoreSchema), [])
      .check(z.describe('Images that are not alerted on, with the reason and an optional end date. Default: [].')),
    github: z._default(GithubSchema, {}).check(z.describe('GitHub API settings. Default: {}.')),
    sources: z
      ._default(
        z.array(
          z.strictObject({
            repo: z
              .string()
              .check(
                z.regex(/^[\w.-]+\/[\w.-]+(?:@\S+)?$/, { error: (iss) => `must be "owner/name" or "owner/name@ref" (got ${JSON.stringify(iss.input)})` }),
                z.describe('The GitHub repository whose .github/workflows build these images: "owner/name", optionally "@ref".'),
              ),
            images: z
              .array(z.string().check(z.minLength(1)))
              .check(
                z.minLength(1, { error: 'list at least one image repository, e.g. ["ghcr.io/acme/api"]' }),
                z.describe('Image repositories (without tag) that repository builds; globs allowed: "ghcr.io/acme/api", "ghcr.io/acme/*".'),
              ),
          }),
        ),
        [],
      )
      .check(
        z.describe(
          'Where the CI of images built outside the audited repository lives: its workflows are read (same token, ETag cache) to tell which tags CI can ever push (CI_NEVER_PUSHES_TAG). Default: [].',
        ),
      ),
    exclude: z
      ._default(
        z.array(
          z.string({ error: 'must be a path glob such as "test/**" or "**/docker-compose.test.yml"' }).check(
            z.minLength(1, { error: 'must not be empty' }),
            z.refine((glob) => !glob.includes('\\') && !glob.split('/').includes('..'), {
              error: (iss) => `must be a repository-relative glob with "/" separators and no ".." (got ${JSON.stringify(iss.input)})`,
            }),
          ),
        ),
        [],
      )
      .check(
        z.describe(
          'Repository-relative path globs (like Renovate\'s ignorePaths) of files no audit should read: a file is left out when a glob matches its path ' +
            'or one of its directories ("test", "**/e2e", "dev/docker-compose.yml", "**/*.test.yaml"; dot files match). Applied while loading every source ' +
            '(directory, git revision, GitHub tarball): excluded files are never read, and a note says how many there were. The CLI adds --exclude. Default: [].',
        ),
      ),
    concurrency: z
      .optional(
        z.int({ error: 'must be a whole number' }).check(z.minimum(1, { error: 'must be at least 1' }), z.maximum(64, { error: 'must be at most 64' })),
      )
      .check(z.describe('Most registry requests in flight per registry. Default: adaptive, from 32 up to 64, halved on 429/503.')),
    lambda: z.optional(LambdaSchema).check(z.describe(`Lambda sizing. Default: ${DEFAULTS.memoryMb} MB, ${DEFAULTS.timeoutSeconds} s.`)),
    historyRetentionDays: z
      ._default(
        z.int({ error: 'must be a whole number of days' }).check(
          z.minimum(1, { error: 'must be at least 1' }),
          z.maximum(3650, { error: 'must be at most 3650' }),
        ),
        DEFAULTS.historyRetentionDays,
      )
      .check(
        z.describe(
          `Days run summaries and drift events are kept in DynamoDB (TTL attribute expiresAt); current image states are kept. Default: ${DEFAULTS.historyRetentionDays}.`,
        ),
      ),
  })
  .check(
    z.meta({
      title: 'image-drift-auditor configuration',
      description: 'image-drift.config.yaml / .json: read by the image-drift CLI and by the CDK app at synth.',
    }),
  );

/** An IANA zone name that Intl knows, written as IANA writes it (EventBridge Scheduler is case-sensitive). */
function isTimeZone(value: string): boolean {
  if (!/^(?:UTC|[A-Z][A-Za-z_]+(?:\/[A-Z][A-Za-z0-9_+-]*)+)$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** The config after validation, defaults applied. */
export type AuditorConfig = z.output<typeof AuditorConfigSchema>;
/** The config as written in the file (defaults optional). */
export type AuditorConfigInput = z.input<typeof AuditorConfigSchema>;
export type RepositoryConfig = AuditorConfig['repositories'][number];
export type RegistryConfig = z.output<typeof RegistrySchema>;
export type CredentialConfig = NonNullable<RegistryConfig['credential']>;

// ─── Errors ────────────────────────────────────────────────────────────────

// Defined in errors.ts so that the CLI can catch it without loading zod and yaml at start-up.
export { ConfigError } from './errors.js';

/** `repositories[0].repo`, `registries["ghcr.io"].endpoint`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** One line per problem: `path: message`. Record-key problems are unwrapped to their real reason. */
export function configProblems(error: z.core.$ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const where = formatConfigPath(issue.path);
    if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) lines.push(`${where}: ${inner.message}`);
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${where}: unknown key ${JSON.stringify(key)}`);
    } else {
      lines.push(`${where}: ${issue.message}`);
    }
  }
  return lines;
}

/** A readable, path-prefixed report of a failed validation; `source` (a file name) heads it when given. */
export function formatConfigError(error: z.core.$ZodError, source?: string): string {
  const problems = configProblems(error);
  const head = source ? `Invalid configuration in ${source}:` : 'Invalid configuration:';
  return [head, ...problems.map((p) => `  - ${p}`)].join('\n');
}

/** Validates a parsed config object; throws ConfigError with every problem. */
export function parseConfig(input: unknown, source?: string): AuditorConfig {
  const result = AuditorConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(formatConfigError(result.error, source), configProblems(result.error));
  return result.data;
}

/**
 * What deploying needs beyond a valid file: at least one repository. (The CLI can audit a
 * repository given on the command line, so the file schema itself allows none.)
 */
export function deployProblems(config: AuditorConfig): string[] {
  const problems: string[] = [];
  if (config.repositories.length === 0) {
    problems.push('repositories: list at least one repository to deploy the auditor, e.g. [{ repo: "my-org/gitops" }]');
  }
  return problems;
}

// ─── Files ─────────────────────────────────────────────────────────────────

/** Parses config text: JSON for `.json` names, YAML (a superset of JSON) otherwise. */
export function parseConfigText(text: string, source = 'config'): AuditorConfig {
  let data: unknown;
  try {
    data = extname(source).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Cannot parse ${source}: ${reason}`);
  }
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
    throw new ConfigError(`Invalid configuration in ${source}: the file must hold a mapping (key: value pairs) at the top level`);
  }
  return parseConfig(data, source);
}

/** Reads and validates `image-drift.config.yaml` / `.json`; every error names the file. */
export async function loadConfigFile(path: string): Promise<AuditorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Cannot read config file ${path}: ${reason}`);
  }
  return parseConfigText(text, path);
}

/** The file names the CLI and the CDK app look for, in order. */
export const CONFIG_FILE_NAMES = ['image-drift.config.yaml', 'image-drift.config.yml', 'image-drift.config.json'] as const;

// ─── JSON Schema ───────────────────────────────────────────────────────────

/** JSON Schema of the file as written (defaults optional), for editors; committed as docs/config.schema.json. */
export function buildConfigJsonSchema(): string {
  const schema = z.toJSONSchema(AuditorConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
