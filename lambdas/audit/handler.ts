/**
 * The deployed auditor: a thin shell over the engine (lambdas/engine/scheduled/). It reads its configuration
 * from the file the stack ships (or the environment), its credentials from Secrets Manager (cached per
 * container), and runs one of three steps, chosen by the event:
 *
 *   { step: "audit-repository", runId, index, repo }   one repository (a Step Functions Map iteration);
 *                                                      its verdicts are stored as a run part for the digest
 *   { step: "digest", runId, startedAt?, outcomes? }  all parts of the run: record drift, announce, metrics
 *   anything else ({ id } from a manual invoke)        every repository, then the digest, in one invocation
 *
 * One repository or registry failing never stops the others: it is logged, counted, and reported.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { loadAuditorSecret, type SecretValueReader } from '../engine/config/load-secret.js';
import {
  LOG_IMAGE_NOT_PULLABLE,
  LOG_REPOSITORY_AUDITED,
  LOG_RUN_FINISHED,
  METRIC_IMAGES_AUDITED,
  METRIC_IMAGES_BY_VERDICT,
  METRIC_IMAGES_FAILING,
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRIC_RUNS_SUCCEEDED,
  VERDICT_DIMENSION,
} from '../engine/config/metrics.js';
import { readLambdaEnv, type LambdaEnv } from '../engine/config/runtime-env.js';
import { secretSetupProblems, type AuditorSecret } from '../engine/config/secret.js';
import type { AuditorConfig } from '../engine/config/schema.js';
import { DynamoHistoryStore } from '../engine/history/dynamodb.js';
import { TRANSIENT_VERDICTS, type AuditResult } from '../engine/model.js';
import { SnsNotifier } from '../engine/notify/sns.js';
import {
  auditRepository,
  ciSourceReader,
  countByStatus,
  describeError,
  outcomeOf,
  recordRun,
  type RepositoryAudit,
  type RepositoryOutcome,
  type RunPartsStore,
  type RunSummaryOutput,
} from '../engine/scheduled/index.js';
import { DynamoRunPartsStore } from '../engine/scheduled/parts-dynamodb.js';
import { parseStepEvent, STEP_AUDIT_REPOSITORY, STEP_DIGEST, type DigestEvent } from '../engine/scheduled/steps.js';

export type { RunSummaryOutput } from '../engine/scheduled/index.js';

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

export function createHandler(overrides: Partial<HandlerDependencies> = {}): AuditHandler {
  let deps: HandlerDependencies | undefined;
  let cachedSecret: { value: AuditorSecret; arn: string; at: number } | undefined;

  const dependencies = (): HandlerDependencies => {
    deps ??= {
      env: overrides.env ?? process.env,
      dynamodb: overrides.dynamodb ?? new DynamoDBClient({}),
      // One SDK attempt: SnsNotifier retries only failures that certainly sent nothing; a publish whose answer was lost
      // is left to the outbox (republished by a later run with the same dedupId), never retried at once.
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

  const handler = async (event: ScheduledEvent | StepEventInput, context?: InvocationContext): Promise<HandlerOutput> => {
    const d = dependencies();
    // Registry checks must end while there is still time to record and announce what they found:
    // a run that Lambda kills records nothing, so a hung registry would never even become UNVERIFIED.
    const remainingMs = context?.getRemainingTimeInMillis?.();
    const checksEndAt = remainingMs === undefined ? undefined : Date.now() + remainingMs - d.reserveMs(remainingMs);
    const step = parseStepEvent(event);
    const parts = (env: LambdaEnv): RunPartsStore => new DynamoRunPartsStore({ client: d.dynamodb, tableName: env.historyTableName, clock: d.clock });

    if (step?.step === STEP_AUDIT_REPOSITORY) {
      const env = readLambdaEnv(d.env);
      // A Map iteration: no run metrics (the digest emits them once per run); a throw is caught by the state machine.
      d.logger.appendKeys({ runId: step.runId, repo: step.repo });
      const repository = env.config.repositories[step.index];
      if (!repository || repository.repo !== step.repo) {
        throw new Error(`repository ${step.index} of the deployed config is ${repository?.repo ?? 'missing'}, not ${step.repo}: redeploy in progress?`);
      }
      const audit = await auditRepository(repository, step.index, {
        config: env.config,
        secret: await secretFor(d, env.secretArn),
        cacheDir: d.cacheDir,
        ...(checksEndAt !== undefined ? { checksEndAt } : {}),
      });
      logAudit(d.logger, audit);
      await parts(env).putPart(step.runId, audit);
      return outcomeOf(audit);
    }

    const runId = step?.runId ?? (event as ScheduledEvent).id ?? context?.awsRequestId ?? `manual-${d.clock().toISOString()}`;
    d.logger.appendKeys({ runId });
    let failed = true;
    try {
      const env = readLambdaEnv(d.env);
      let summary: RunSummaryOutput;
      if (step?.step === STEP_DIGEST) {
        const setupIncomplete = secretSetupProblems(env.config.registries, await secretFor(d, env.secretArn));
        summary = await digest(d, env, step, await parts(env).listParts(step.runId), setupIncomplete);
      } else {
        const startedAt = d.clock();
        const secret = await secretFor(d, env.secretArn);
        const audits: RepositoryAudit[] = [];
        // Other repositories' workflows (`sources:`, package links) are read once for the whole run.
        const ciSources = ciSourceReader(env.config, secret, d.cacheDir, checksEndAt);
        // Repositories one after another: the registry client already works in parallel.
        for (const [index, repository] of env.config.repositories.entries()) {
          const audit = await auditRepository(repository, index, { config: env.config, secret, cacheDir: d.cacheDir, ciSources, ...(checksEndAt !== undefined ? { checksEndAt } : {}) });
          logAudit(d.logger, audit);
          audits.push(audit);
        }
        summary = await record(d, env, { runId, startedAt, audits, setupIncomplete: secretSetupProblems(env.config.registries, secret) });
      }
      failed = summary.errors.length > 0;
      return summary;
    } catch (error) {
      d.logger.error('run failed', { error: describeError(error) });
      throw error;
    } finally {
      // Once per run, 0 or 1, so the alarm's SUM counts failed runs and clears on a good one; the heartbeat
      // alarm waits for RunsSucceeded.
      d.metrics.addMetric(METRIC_RUNS_FAILED, MetricUnit.Count, failed ? 1 : 0);
      d.metrics.addMetric(METRIC_RUNS_SUCCEEDED, MetricUnit.Count, failed ? 0 : 1);
      d.metrics.publishStoredMetrics();
    }
  };
  return handler as AuditHandler;
}

/** The event as it arrives: a step event is validated by parseStepEvent. */
type StepEventInput = { step: string } & Record<string, unknown>;
type HandlerOutput = RunSummaryOutput | RepositoryOutcome;

/** What each event yields: a Map iteration its repository's outcome, a digest or whole run the run summary. */
export interface AuditHandler {
  (event: { step: typeof STEP_AUDIT_REPOSITORY; runId: string; index: number; repo: string }, context?: InvocationContext): Promise<RepositoryOutcome>;
  (event: ScheduledEvent | ({ step: typeof STEP_DIGEST } & Record<string, unknown>), context?: InvocationContext): Promise<RunSummaryOutput>;
}

/** The digest step: the parts the Map iterations stored, plus the iterations that failed before storing one. */
async function digest(
  d: HandlerDependencies,
  env: LambdaEnv,
  event: DigestEvent,
  stored: RepositoryAudit[],
  setupIncomplete: string[],
): Promise<RunSummaryOutput> {
  const audits = [...stored];
  const seen = new Set(stored.map((audit) => audit.index));
  for (const outcome of event.outcomes) {
    if (seen.has(outcome.index) || !outcome.error) continue;
    audits.push({ index: outcome.index, repo: outcome.repo, images: 0, failing: 0, error: outcome.error, results: [], counts: {}, findings: 0 });
  }
  const startedAt = event.startedAt ? new Date(event.startedAt) : d.clock();
  return record(d, env, { runId: event.runId, startedAt, audits, setupIncomplete });
}

async function record(
  d: HandlerDependencies,
  env: LambdaEnv,
  run: { runId: string; startedAt: Date; audits: RepositoryAudit[]; setupIncomplete: string[] },
): Promise<RunSummaryOutput> {
  const { config } = env;
  const recorded = await recordRun(
    { ...run, config },
    {
      store: new DynamoHistoryStore({ client: d.dynamodb, tableName: env.historyTableName, runRetentionDays: config.historyRetentionDays }),
      notifier: new SnsNotifier({ client: d.sns, topicArn: env.topicArn }),
      clock: d.clock,
    },
  );
  const { summary } = recorded;
  for (const warning of recorded.warnings) d.logger.warn('configuration', { warning });
  if (recorded.driftErrors.length) d.logger.error('drift could not be recorded or announced in full', { errors: recorded.driftErrors });
  emitVerdictMetrics(d.metrics, recorded.results, config);
  d.logger.info(LOG_RUN_FINISHED, {
    repositories: summary.repositories.length,
    images: recorded.results.length,
    transitions: summary.transitions,
    notified: summary.notified,
    errors: summary.errors.length,
  });
  return summary;
}

/** One line per repository, and one per image that cannot be pulled as desired (the dashboard's top list). */
function logAudit(logger: Logger, audit: RepositoryAudit): void {
  if (audit.error) {
    logger.error('repository could not be audited', { repo: audit.repo, error: audit.error, images: audit.images });
  }
  logger.info(LOG_REPOSITORY_AUDITED, { repo: audit.repo, commit: audit.commit, images: audit.images, findings: audit.findings, counts: audit.counts });
  for (const result of audit.results) {
    if (result.status === 'OK') continue;
    logger.info(LOG_IMAGE_NOT_PULLABLE, { repo: audit.repo, image: result.image, status: result.status, apps: result.apps });
  }
}

function emitVerdictMetrics(metrics: Metrics, results: AuditResult[], config: AuditorConfig): void {
  const withoutVerdict = results.filter((result) => TRANSIENT_VERDICTS.includes(result.status)).length;
  const failing = results.filter((result) => config.failOn.includes(result.status) || (result.drift && config.failOn.includes(result.drift))).length;
  metrics.addMetric(METRIC_IMAGES_AUDITED, MetricUnit.Count, results.length);
  metrics.addMetric(METRIC_IMAGES_WITHOUT_VERDICT, MetricUnit.Count, withoutVerdict);
  metrics.addMetric(METRIC_IMAGES_FAILING, MetricUnit.Count, failing);
  for (const [status, count] of Object.entries(countByStatus(results))) {
    const single = metrics.singleMetric();
    single.addDimension(VERDICT_DIMENSION, status);
    single.addMetric(METRIC_IMAGES_BY_VERDICT, MetricUnit.Count, count);
  }
}

export const handler = createHandler();
