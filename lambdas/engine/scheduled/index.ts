/**
 * The deployed auditor's run, as engine steps the Lambda shell calls (lambdas/audit/handler.ts):
 *
 *   auditRepository(...)   one repository: read it through the GitHub API, check its images
 *   recordRun(...)         all repositories' results: merge by image, record drift, announce it
 *
 * The Step Functions fan-out calls auditRepository once per repository (a Map state), stores each
 * result with a RunPartsStore, and one digest step calls recordRun over what the parts hold. A manual
 * invocation without a step runs both in one go. No AWS import here: the parts store, the history
 * store and the notifier are adapters passed in.
 */
import { runAudit } from '../audit.js';
import { setUpChartRendering } from '../helm/setup.js';
import { credentialFromSecret, GITHUB_TOKEN_USERNAME, type AuditorSecret } from '../config/secret.js';
import { registryEntries, type AuditorConfig, type RepositoryConfig } from '../config/schema.js';
import { createImageChecker } from '../diagnose/index.js';
import { trackDrift } from '../history/index.js';
import { AlertPolicy } from '../notify/policy.js';
import { gitHubWebUrl } from '../notify/render.js';
import type { NotificationSource } from '../notify/types.js';
import type { HistoryStore } from '../history/types.js';
import type { AuditResult, UnknownScope, Verdict } from '../model.js';
import { unresolvedNote } from '../completeness.js';
import type { Notifier } from '../notify/types.js';
import { makeCredential, RegistryCredentials } from '../registry/credentials.js';
import { ecrHostsFromConfig } from '../registry/ecr.js';
import { createGitHubSource } from '../sources/github.js';
import { truncatesSource } from '../sources/relevance.js';
import { workflowReader } from '../sources/index.js';
import { CiSourceReader, configSourceModels } from '../ci/index.js';

/** What the state machine carries per repository: small, so 100 of them stay far below 256 KB. */
export interface RepositoryOutcome {
  /** Position in `config.repositories`. */
  index: number;
  repo: string;
  commit?: string;
  images: number;
  /** Images failing `failOn`. */
  failing: number;
  /** Set when the repository could not be audited (in full): its images then do not close as "no longer desired". */
  error?: string;
}

/** A repository's outcome and its images' verdicts (what the digest step reads back). */
export interface RepositoryAudit extends RepositoryOutcome {
  results: AuditResult[];
  /** The part of its desired state that could not be read (a file that cannot be parsed...): history holds it. */
  unknown?: UnknownScope;
  /** Verdict counts, for the log line. */
  counts: Partial<Record<Verdict, number>>;
  findings: number;
}

/** Where per-repository audits wait for the digest step (DynamoDB in AWS: see parts-dynamodb.ts). */
export interface RunPartsStore {
  putPart(runId: string, audit: RepositoryAudit): Promise<void>;
  listParts(runId: string): Promise<RepositoryAudit[]>;
}

export interface RepositoryAuditContext {
  config: AuditorConfig;
  secret: AuditorSecret;
  /** Where the GitHub source keeps ETags and snapshots between warm invocations. */
  cacheDir: string;
  /** Epoch ms by which registry checks and GitHub reads must end (the invocation's budget); none: no limit. */
  checksEndAt?: number;
  /**
   * Reads the workflows of other repositories (config `sources:`, ghcr.io package links); share one between the
   * repositories of a run so that each is read once. Default: one per repository audit.
   */
  ciSources?: CiSourceReader;
}

/** A reader of other repositories' workflows with the run's GitHub token, API root, cache directory and deadline. */
export function ciSourceReader(config: AuditorConfig, secret: AuditorSecret, cacheDir: string, endAt?: number): CiSourceReader {
  return new CiSourceReader(
    workflowReader({
      ...(secret.githubToken ? { token: secret.githubToken } : {}),
      ...(config.github.baseUrl ? { baseUrl: config.github.baseUrl } : {}),
      ...(endAt !== undefined ? { fetch: fetchUntil(endAt) } : {}),
      // The deployed auditor never connects to link-local or metadata addresses (docs/security.md).
      outbound: { refuseLinkLocal: true, ...(config.registries.allow ? { allow: config.registries.allow } : {}) },
      cacheDir,
    }),
  );
}

/** Audits one repository. Never throws: a repository that cannot be read becomes an outcome with `error`. */
export async function auditRepository(repository: RepositoryConfig, index: number, context: RepositoryAuditContext): Promise<RepositoryAudit> {
  const { config, secret, checksEndAt } = context;
  try {
    // One checker per repository: its deadline is relative to the start of each check.
    const deadlineMs = checksEndAt === undefined ? undefined : Math.max(1, checksEndAt - Date.now());
    const registryOptions = checkerOptions(config, secret);
    const checker = createImageChecker({ ...registryOptions, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
    // What CI can push, as the CLI reads it: config `sources:`, then ghcr.io package links for the rest.
    const ciSources = context.ciSources ?? ciSourceReader(config, secret, context.cacheDir, checksEndAt);
    const sources = await configSourceModels(config.sources, ciSources);
    const { report } = await runAudit({
      source: gitHubSource(repository, config, secret, context.cacheDir, checksEndAt),
      checker,
      resolve: { ciModels: sources.models },
      ciSources,
      ...(repository.paths ? { paths: repository.paths } : {}),
      // helm from the function's layer (/opt/helm/helm); remote charts cached under the cache dir (/tmp) across warm invocations.
      charts: setUpChartRendering({ cacheDir: context.cacheDir, credentials: registryOptions.credentials, registries: registryOptions.registries, outbound: registryOptions.outbound }),
    });
    // The resolver reports an unreadable (or partly read) repository as a SOURCE_ERROR finding, or a LIMIT_EXCEEDED
    // naming a total or archive cap, not by throwing. Its desired state is then incomplete: an error, so that the
    // images it did not yield are kept as they are instead of closing as "no longer desired".
    const sourceError = report.findings.find(truncatesSource);
    // An unreadable `sources:` repository only costs its images their CI verdict: a warning, not an incomplete audit.
    report.findings.push(...sources.findings);
    return {
      index,
      repo: repository.repo,
      ...(report.source.commit ? { commit: report.source.commit } : {}),
      images: report.results.length,
      failing: report.results.filter((result) => config.failOn.includes(result.status)).length,
      ...(sourceError ? { error: sourceError.message } : {}),
      results: report.results,
      ...(report.unknown ? { unknown: report.unknown } : {}),
      counts: countByStatus(report.results),
      findings: report.findings.length,
    };
  } catch (error) {
    return { index, repo: repository.repo, images: 0, failing: 0, error: describeError(error), results: [], counts: {}, findings: 0 };
  }
}

export interface RecordRunInput {
  runId: string;
  startedAt: Date;
  config: AuditorConfig;
  /** What each repository yielded; a repository of the config without an entry counts as not audited. */
  audits: readonly RepositoryAudit[];
  /** Problems outside any one repository's audit (e.g. a step that failed before storing its part). */
  errors?: readonly string[];
  /** Credentials the secret lacks (secretSetupProblems): a first run then sends one "setup incomplete" message. */
  setupIncomplete?: readonly string[];
}

export interface RecordRunDeps {
  store: HistoryStore;
  notifier?: Notifier;
  clock: () => Date;
}

export interface RunSummaryOutput {
  runId: string;
  repositories: { repo: string; commit?: string; images: number; failing: number; error?: string; unknownApps?: string[] }[];
  transitions: number;
  notified: boolean;
  errors: string[];
}

export interface RecordedRun {
  summary: RunSummaryOutput;
  /** One result per image over all repositories. */
  results: AuditResult[];
  /** Problems recording or announcing drift (`history: …`, `notification: …`), also in `summary.errors`. */
  driftErrors: string[];
  /** Configuration the operator should fix (expired ignore entries); also at the end of the message. */
  warnings: string[];
}

/** Merges the repositories' results, records drift in the history store and announces it. */
export async function recordRun(input: RecordRunInput, deps: RecordRunDeps): Promise<RecordedRun> {
  const { config } = input;
  const byIndex = new Map(input.audits.map((audit) => [audit.index, audit]));
  const errors = [...(input.errors ?? [])];
  const repositories: RunSummaryOutput['repositories'] = [];
  const sources: NotificationSource[] = [];
  const webUrl = gitHubWebUrl(config.github.baseUrl);
  config.repositories.forEach((repository, index) => {
    const audit = byIndex.get(index);
    if (!audit || audit.repo !== repository.repo) {
      const error = 'no result from its audit step';
      errors.push(`${repository.repo}: ${error}`);
      repositories.push({ repo: repository.repo, images: 0, failing: 0, error });
      return;
    }
    if (audit.error) errors.push(`${audit.repo}: ${audit.error}`);
    sources.push({ repository: audit.repo, ...(audit.commit ? { commit: audit.commit } : {}), webUrl });
    repositories.push({
      repo: audit.repo,
      ...(audit.commit ? { commit: audit.commit } : {}),
      images: audit.images,
      failing: audit.failing,
      ...(audit.error ? { error: audit.error } : {}),
      ...(audit.unknown?.apps.length ? { unknownApps: audit.unknown.apps.map((app) => app.name) } : {}),
    });
  });
  // A repository that could not be read at all holds every image; one read in part holds what it could not read.
  const complete = errors.length === 0;
  for (const audit of input.audits) {
    // An unreadable repository is reported by its error already.
    const note = audit.unknown && !audit.error ? unresolvedNote([], audit.unknown) : undefined;
    if (note) errors.push(`${audit.repo}: ${note}`);
  }

  // Several repositories in one history: each location says which repository holds its file (links, wording).
  const several = config.repositories.length > 1;
  const results = mergeByImage(
    input.audits.flatMap((audit) =>
      several ? audit.results.map((result) => ({ ...result, locations: result.locations.map((location) => ({ ...location, repo: audit.repo })) })) : audit.results,
    ),
  );
  const unknown = mergeUnknown(input.audits, several);
  const only = sources.length === 1 ? sources[0] : undefined;
  const drift = await trackDrift(
    {
      runId: input.runId,
      repository: config.repositories.map((repository) => repository.repo).join(', '),
      ...(only?.commit ? { commit: only.commit } : {}),
      sources,
      ...(input.setupIncomplete?.length ? { setupIncomplete: [...input.setupIncomplete] } : {}),
      startedAt: input.startedAt,
      durationMs: deps.clock().getTime() - input.startedAt.getTime(),
      results,
      errors,
      // An unreadable repository must not turn its images into "no longer desired", nor an unreadable part of one.
      complete,
      ...(unknown ? { unknown } : {}),
    },
    {
      store: deps.store,
      ...(deps.notifier ? { notifier: deps.notifier } : {}),
      policy: new AlertPolicy(config),
      clock: deps.clock,
      options: {
        unverifiedAfterRuns: config.unverifiedAfterRuns,
        reminderIntervalHours: config.reminderIntervalHours,
        runRetentionDays: config.historyRetentionDays,
      },
    },
  );
  // History writes and publishing that failed: the states still owe them, so a later run retries, but this
  // run did not do its job.
  return {
    summary: {
      runId: input.runId,
      repositories,
      transitions: drift.transitions.length,
      notified: drift.notification?.sent ?? false,
      errors: [...errors, ...drift.errors],
    },
    results,
    driftErrors: drift.errors,
    warnings: drift.warnings,
  };
}

// ─── Adapters built from the config and the secret ────────────────────────

function gitHubSource(repository: RepositoryConfig, config: AuditorConfig, secret: AuditorSecret, cacheDir: string, endAt: number | undefined) {
  const [owner = '', repo = ''] = repository.repo.split('/');
  return createGitHubSource({
    owner,
    repo,
    ...(repository.ref ? { ref: repository.ref } : {}),
    ...(secret.githubToken ? { token: secret.githubToken } : {}),
    ...(config.github.baseUrl ? { baseUrl: config.github.baseUrl } : {}),
    ...(config.exclude.length > 0 ? { exclude: config.exclude } : {}),
    ...(endAt !== undefined ? { fetch: fetchUntil(endAt) } : {}),
    // The deployed auditor never connects to link-local or metadata addresses (docs/security.md).
    outbound: { refuseLinkLocal: true, ...(config.registries.allow ? { allow: config.registries.allow } : {}) },
    cacheDir,
  });
}

/**
 * fetch that gives up at `endAt` (epoch ms), body included: a GitHub that accepts connections but never answers
 * must fail the repository while the invocation can still record the run, not hang until Lambda kills it.
 */
function fetchUntil(endAt: number): typeof globalThis.fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(Math.max(1, endAt - Date.now()));
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return globalThis.fetch(input, { ...init, signal });
  };
}

/** Registry credentials from the secret, by the config's `credential` entries; ghcr.io falls back to githubToken. */
function checkerOptions(config: AuditorConfig, secret: AuditorSecret) {
  const credentials = [];
  const registries: Record<string, { endpoint?: string; allowedRealmHosts?: string[] }> = {};
  for (const [host, registry] of registryEntries(config.registries)) {
    registries[host] = {
      ...(registry.endpoint ? { endpoint: registry.endpoint } : {}),
      ...(registry.allowedRealmHosts ? { allowedRealmHosts: registry.allowedRealmHosts } : {}),
    };
    const basic = registry.credential ? credentialFromSecret(host, registry.credential, secret) : undefined;
    if (basic) credentials.push(makeCredential({ host, username: basic.username, secret: basic.password, source: 'config' }));
  }
  if (secret.githubToken && !credentials.some((credential) => credential.host === 'ghcr.io')) {
    credentials.push(makeCredential({ host: 'ghcr.io', username: GITHUB_TOKEN_USERNAME, secret: secret.githubToken, source: 'config' }));
  }
  return {
    // ECR hosts get tokens from GetAuthorizationToken through the function's role (granted by the construct).
    credentials: new RegistryCredentials({ credentials, ecr: ecrHostsFromConfig(config.registries), ...(secret.githubToken ? { githubApiToken: secret.githubToken } : {}) }),
    registries,
    platforms: config.platforms,
    ...(config.concurrency ? { concurrencyPerRegistry: config.concurrency } : {}),
    github: {
      ...(config.github.baseUrl ? { baseUrl: config.github.baseUrl } : {}),
      packagesTokenSeesAllPackages: config.github.packagesTokenSeesAllPackages ?? false,
    },
    // The deployed auditor never connects to link-local or metadata addresses, listed or not (docs/security.md).
    outbound: { refuseLinkLocal: true, ...(config.registries.allow ? { allow: config.registries.allow } : {}) },
  };
}

// ─── Helpers ──────────────────────────────────────────────────────────────

/** The same image desired by several repositories is one history entry: union its apps and locations. */
export function mergeByImage(results: readonly AuditResult[]): AuditResult[] {
  const byImage = new Map<string, AuditResult>();
  for (const result of results) {
    const seen = byImage.get(result.image);
    if (!seen) {
      byImage.set(result.image, { ...result });
      continue;
    }
    seen.apps = [...new Set([...seen.apps, ...result.apps])].sort();
    seen.locations = [...seen.locations, ...result.locations];
    // Assumed only while every repository that desires it had to assume its revision.
    if (!result.revisionAssumed) delete seen.revisionAssumed;
    if (result.assumedApps) seen.assumedApps = [...new Set([...(seen.assumedApps ?? []), ...result.assumedApps])].sort();
  }
  return [...byImage.values()];
}

/** The unknown parts of every repository as one scope; files carry their repository when the run audits several. */
export function mergeUnknown(audits: readonly RepositoryAudit[], several: boolean): UnknownScope | undefined {
  const parts = audits.flatMap((audit) => (audit.unknown ? [{ repo: audit.repo, unknown: audit.unknown }] : []));
  if (parts.length === 0) return undefined;
  const resolved = new Set(audits.flatMap((audit) => audit.unknown?.resolvedApps ?? []));
  // A repository read in full resolved every app it desires images for.
  for (const audit of audits) if (!audit.unknown && !audit.error) for (const result of audit.results) result.apps.forEach((app) => resolved.add(app));
  return {
    apps: parts.flatMap(({ repo, unknown }) => unknown.apps.map((app) => ({ name: app.name, cause: several ? `${app.cause} in ${repo}` : app.cause }))),
    files: parts.flatMap(({ repo, unknown }) => unknown.files.map((entry) => (several ? { ...entry, repo } : entry))),
    resolvedApps: [...resolved].sort(),
    ...(parts.some(({ unknown }) => unknown.whole) ? { whole: true as const } : {}),
  };
}

export function countByStatus(results: readonly AuditResult[]): Partial<Record<Verdict, number>> {
  const counts: Partial<Record<Verdict, number>> = {};
  for (const result of results) counts[result.status] = (counts[result.status] ?? 0) + 1;
  return counts;
}

/** The outcome without the per-image results: what the state machine carries. */
export function outcomeOf(audit: RepositoryAudit): RepositoryOutcome {
  const { results: _results, counts: _counts, findings: _findings, ...outcome } = audit;
  return outcome;
}

/** Error text for logs and summaries: name and message only (messages of our errors never carry secrets). */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
