/**
 * The scheduled auditor: a thin shell over the engine. It reads its configuration from the
 * environment the stack set, its credentials from Secrets Manager (cached per container), audits
 * every configured repository, records drift in DynamoDB, publishes to SNS, and emits metrics.
 * One repository or registry failing never stops the others: it is logged, counted, and reported.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { runAudit } from '../engine/audit.js';
import { loadAuditorSecret, type SecretValueReader } from '../engine/config/load-secret.js';
import {
  METRIC_IMAGES_AUDITED,
  METRIC_IMAGES_FAILING,
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
} from '../engine/config/metrics.js';
import { readLambdaEnv, type LambdaEnv } from '../engine/config/runtime-env.js';
import { credentialFromSecret, GITHUB_TOKEN_USERNAME, type AuditorSecret } from '../engine/config/secret.js';
import type { AuditorConfig, RepositoryConfig } from '../engine/config/schema.js';
import { createImageChecker } from '../engine/diagnose/index.js';
import { DynamoHistoryStore } from '../engine/history/dynamodb.js';
import { trackDrift } from '../engine/history/index.js';
import { TRANSIENT_VERDICTS, type AuditResult, type Verdict } from '../engine/model.js';
import { SnsNotifier } from '../engine/notify/sns.js';
import { makeCredential, RegistryCredentials } from '../engine/registry/credentials.js';
import { ecrHostsFromConfig } from '../engine/registry/ecr.js';
import { createGitHubSource } from '../engine/sources/github.js';

export interface ScheduledEvent {
  /** EventBridge event id: the run id, identical on a retried delivery. */
  id?: string;
  time?: string;
}

/** The part of the Lambda context the handler reads. */
export interface InvocationContext {
  awsRequestId?: string;
  /** Milliseconds until Lambda stops the invocation. */
  getRemainingTimeInMillis?: () => number;
}

export interface RunSummaryOutput {
  runId: string;
  repositories: { repo: string; commit?: string; images: number; failing: number; error?: string }[];
  transitions: number;
  notified: boolean;
  errors: string[];
}

/** Everything the handler talks to; tests pass clients pointed at local servers. */
export interface HandlerDependencies {
  env: Readonly<Record<string, string | undefined>>;
  dynamodb: DynamoDBClient;
  sns: SNSClient;
  secrets: SecretValueReader;
  logger: Logger;
  metrics: Metrics;
  clock: () => Date;
  /** Where the GitHub source keeps ETags and snapshots between warm invocations. */
  cacheDir: string;
  /** How long a fetched secret is reused (a rotated token is picked up after this). */
  secretTtlMs: number;
  /**
   * Time kept back from the registry checks for recording drift and publishing, given the invocation's
   * remaining time. Default: a fifth of it, between 2 s and 60 s.
   */
  reserveMs: (remainingMs: number) => number;
}

const SECRET_TTL_MS = 5 * 60_000;

const defaultReserveMs = (remainingMs: number): number => Math.min(60_000, Math.max(2_000, remainingMs * 0.2));

export function createHandler(overrides: Partial<HandlerDependencies> = {}) {
  let deps: HandlerDependencies | undefined;
  let cachedSecret: { value: AuditorSecret; arn: string; at: number } | undefined;

  const dependencies = (): HandlerDependencies => {
    deps ??= {
      env: overrides.env ?? process.env,
      dynamodb: overrides.dynamodb ?? new DynamoDBClient({}),
      // One SDK attempt: SnsNotifier retries itself, and every retry of a publish whose answer was lost is a duplicate.
      sns: overrides.sns ?? new SNSClient({ maxAttempts: 1 }),
      secrets: overrides.secrets ?? new SecretsManagerClient({}),
      logger: overrides.logger ?? new Logger(),
      metrics: overrides.metrics ?? new Metrics(),
      clock: overrides.clock ?? (() => new Date()),
      cacheDir: overrides.cacheDir ?? '/tmp/image-drift',
      secretTtlMs: overrides.secretTtlMs ?? SECRET_TTL_MS,
      reserveMs: overrides.reserveMs ?? defaultReserveMs,
    };
    return deps;
  };

  const secretFor = async (d: HandlerDependencies, arn: string): Promise<AuditorSecret> => {
    const now = d.clock().getTime();
    if (cachedSecret && cachedSecret.arn === arn && now - cachedSecret.at < d.secretTtlMs) return cachedSecret.value;
    const value = await loadAuditorSecret(d.secrets, arn);
    cachedSecret = { value, arn, at: now };
    return value;
  };

  return async function handler(event: ScheduledEvent, context?: InvocationContext): Promise<RunSummaryOutput> {
    const d = dependencies();
    // Registry checks must end while there is still time to record and announce what they found:
    // a run that Lambda kills records nothing, so a hung registry would never even become UNVERIFIED.
    const remainingMs = context?.getRemainingTimeInMillis?.();
    const checksEndAt = remainingMs === undefined ? undefined : Date.now() + remainingMs - d.reserveMs(remainingMs);
    let failed = true;
    try {
      const env = readLambdaEnv(d.env);
      const runId = event.id ?? context?.awsRequestId ?? `manual-${d.clock().toISOString()}`;
      d.logger.appendKeys({ runId });
      const secret = await secretFor(d, env.secretArn);
      const summary = await auditAll(d, env, secret, runId, checksEndAt);
      failed = summary.errors.length > 0;
      return summary;
    } catch (error) {
      d.logger.error('run failed', { error: describe(error) });
      throw error;
    } finally {
      // Once per run, 0 or 1, so the alarm's SUM counts failed runs and clears on a good one.
      d.metrics.addMetric(METRIC_RUNS_FAILED, MetricUnit.Count, failed ? 1 : 0);
      d.metrics.publishStoredMetrics();
    }
  };
}

async function auditAll(
  d: HandlerDependencies,
  env: LambdaEnv,
  secret: AuditorSecret,
  runId: string,
  checksEndAt: number | undefined,
): Promise<RunSummaryOutput> {
  const { config } = env;
  const startedAt = d.clock();
  const summary: RunSummaryOutput = { runId, repositories: [], transitions: 0, notified: false, errors: [] };
  const results: AuditResult[] = [];
  const commits: string[] = [];

  // Repositories one after another: the registry client already works in parallel, and the
  // reserved concurrency of 1 means this container is the only one running.
  for (const repository of config.repositories) {
    try {
      // One checker per repository: its deadline is relative to the start of each check.
      const deadlineMs = checksEndAt === undefined ? undefined : Math.max(1, checksEndAt - Date.now());
      const checker = createImageChecker({ ...checkerOptions(config, secret), ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
      const { report } = await runAudit({
        source: gitHubSource(repository, config, secret, d.cacheDir, checksEndAt),
        checker,
        ...(repository.paths ? { paths: repository.paths } : {}),
      });
      const failing = report.results.filter((result) => config.failOn.includes(result.status)).length;
      results.push(...report.results);
      if (report.source.commit) commits.push(`${repository.repo}@${report.source.commit.slice(0, 7)}`);
      // The resolver reports an unreadable (or partly read) repository as a SOURCE_ERROR finding, not by
      // throwing. Its desired state is then incomplete: count it as an error, so that the images it did not
      // yield are kept as they are instead of closing as "no longer desired".
      const sourceError = report.findings.find((finding) => finding.code === 'SOURCE_ERROR');
      if (sourceError) {
        summary.errors.push(`${repository.repo}: ${sourceError.message}`);
        d.logger.error('repository could not be audited', { repo: repository.repo, error: sourceError.message, images: report.results.length });
      }
      summary.repositories.push({
        repo: repository.repo,
        ...(report.source.commit ? { commit: report.source.commit } : {}),
        images: report.results.length,
        failing,
        ...(sourceError ? { error: sourceError.message } : {}),
      });
      d.logger.info('repository audited', {
        repo: repository.repo,
        commit: report.source.commit,
        images: report.results.length,
        findings: report.findings.length,
        counts: countByStatus(report.results),
      });
    } catch (error) {
      const message = `${repository.repo}: ${describe(error)}`;
      summary.errors.push(message);
      summary.repositories.push({ repo: repository.repo, images: 0, failing: 0, error: describe(error) });
      d.logger.error('repository could not be audited', { repo: repository.repo, error: describe(error) });
    }
  }

  const merged = mergeByImage(results);
  const drift = await trackDrift(
    {
      runId,
      repository: config.repositories.map((repository) => repository.repo).join(', '),
      ...(commits.length ? { commit: commits.join(' ') } : {}),
      startedAt,
      durationMs: d.clock().getTime() - startedAt.getTime(),
      results: merged,
      errors: summary.errors,
      // An unreadable repository must not turn its images into "no longer desired".
      complete: summary.errors.length === 0,
    },
    {
      store: new DynamoHistoryStore({ client: d.dynamodb, tableName: env.historyTableName, runRetentionDays: config.historyRetentionDays }),
      notifier: new SnsNotifier({ client: d.sns, topicArn: env.topicArn }),
      clock: d.clock,
      options: { unverifiedAfterRuns: config.unverifiedAfterRuns, reminderIntervalHours: config.reminderIntervalHours, runRetentionDays: config.historyRetentionDays },
    },
  );
  summary.transitions = drift.transitions.length;
  summary.notified = drift.notification?.sent ?? false;
  // History writes and publishing that failed (`history: …`, `notification: …`): the states still owe them, so a
  // later run retries, but this run did not do its job.
  if (drift.errors.length) {
    summary.errors.push(...drift.errors);
    d.logger.error('drift could not be recorded or announced in full', { errors: drift.errors });
  }

  emitVerdictMetrics(d.metrics, merged, config);
  d.logger.info('run finished', { transitions: summary.transitions, notified: summary.notified, errors: summary.errors.length });
  return summary;
}

function gitHubSource(repository: RepositoryConfig, config: AuditorConfig, secret: AuditorSecret, cacheDir: string, endAt: number | undefined) {
  const [owner = '', repo = ''] = repository.repo.split('/');
  return createGitHubSource({
    owner,
    repo,
    ...(repository.ref ? { ref: repository.ref } : {}),
    ...(secret.githubToken ? { token: secret.githubToken } : {}),
    ...(config.github.baseUrl ? { baseUrl: config.github.baseUrl } : {}),
    ...(endAt !== undefined ? { fetch: fetchUntil(endAt) } : {}),
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
  for (const [host, registry] of Object.entries(config.registries)) {
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
  };
}

/** The same image desired by several repositories is one history entry: union its apps and locations. */
function mergeByImage(results: AuditResult[]): AuditResult[] {
  const byImage = new Map<string, AuditResult>();
  for (const result of results) {
    const seen = byImage.get(result.image);
    if (!seen) {
      byImage.set(result.image, { ...result });
      continue;
    }
    seen.apps = [...new Set([...seen.apps, ...result.apps])].sort();
    seen.locations = [...seen.locations, ...result.locations];
  }
  return [...byImage.values()];
}

function emitVerdictMetrics(metrics: Metrics, results: AuditResult[], config: AuditorConfig): void {
  const withoutVerdict = results.filter((result) => TRANSIENT_VERDICTS.includes(result.status)).length;
  const failing = results.filter((result) => config.failOn.includes(result.status) || (result.drift && config.failOn.includes(result.drift))).length;
  metrics.addMetric(METRIC_IMAGES_AUDITED, MetricUnit.Count, results.length);
  metrics.addMetric(METRIC_IMAGES_WITHOUT_VERDICT, MetricUnit.Count, withoutVerdict);
  metrics.addMetric(METRIC_IMAGES_FAILING, MetricUnit.Count, failing);
  for (const [status, count] of Object.entries(countByStatus(results))) {
    const single = metrics.singleMetric();
    single.addDimension('verdict', status);
    single.addMetric('Images', MetricUnit.Count, count);
  }
}

function countByStatus(results: AuditResult[]): Partial<Record<Verdict, number>> {
  const counts: Partial<Record<Verdict, number>> = {};
  for (const result of results) counts[result.status] = (counts[result.status] ?? 0) + 1;
  return counts;
}

/** Error text for logs: name and message only (messages of our errors never carry secrets). */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export const handler = createHandler();
