/**
 * `image-drift history` and `image-drift open`: queries over the drift history, in the embedded
 * store by default or in a deployed table (`--table NAME --region R`, AWS credentials from the
 * usual SDK chain).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import picocolors from 'picocolors';
import { DynamoHistoryStore } from '../../lambdas/engine/history/dynamodb.js';
import { HistoryStoreUnusableError, openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import type { DriftEvent, ImageState, RunSummary } from '../../lambdas/engine/history/types.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import type { DriftStatus } from '../../lambdas/engine/model.js';
import { DRIFT_STATUSES } from '../../lambdas/engine/config/schema.js';
import { ExitCode, IncompleteAuditError, UsageError } from '../exit-codes.js';
import { parsePositiveInteger, parseSince } from '../parse.js';
import { stateDirFrom, type Env } from '../runtime.js';
import { colorEnabled } from '../color.js';

export interface HistoryStoreFlags {
  table?: string;
  region?: string;
  stateDir?: string;
}

export interface HistoryFlags extends HistoryStoreFlags {
  image?: string;
  app?: string;
  status?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
}

export async function historyCommand(flags: HistoryFlags, env: Env = process.env): Promise<ExitCode> {
  const status = flags.status ? parseDriftStatus(flags.status) : undefined;
  const image = flags.image ? canonicalImage(flags.image) : undefined;
  const since = flags.since ? parseSince(flags.since) : undefined;
  const until = flags.until ? parseSince(flags.until, new Date(), '--until') : undefined;
  if (since && until && until < since) throw new UsageError('--until is before --since: no event can match');
  const limit = flags.limit ? parsePositiveInteger('--limit', flags.limit) : 200;
  const events = await withStore(flags, env, (store) =>
    store.listEvents({
      ...(image ? { image } : {}),
      ...(flags.app ? { app: flags.app } : {}),
      ...(status ? { status } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      limit,
    }),
  );
  if (flags.json) process.stdout.write(`${JSON.stringify({ events }, null, 2)}\n`);
  else process.stdout.write(renderEvents(events, colorEnabled(env)));
  return ExitCode.Clean;
}

export interface RunsFlags extends HistoryStoreFlags {
  limit?: string;
  json?: boolean;
}

/** `image-drift runs`: the latest run summaries, newest first (what each run audited, changed and announced). */
export async function runsCommand(flags: RunsFlags, env: Env = process.env): Promise<ExitCode> {
  const limit = flags.limit ? parsePositiveInteger('--limit', flags.limit) : 20;
  const runs = await withStore(flags, env, (store) => store.listRuns({ limit }));
  if (flags.json) process.stdout.write(`${JSON.stringify({ runs }, null, 2)}\n`);
  else process.stdout.write(renderRuns(runs, colorEnabled(env)));
  return ExitCode.Clean;
}

function renderRuns(runs: RunSummary[], color: boolean): string {
  if (runs.length === 0) return 'No runs recorded.\n';
  const colors = picocolors.createColors(color);
  const lines = runs.map((run) => {
    const notified = run.notification ? (run.notification.sent ? 'alert sent' : colors.red(`alert not sent${run.notification.error ? `: ${run.notification.error}` : ''}`)) : 'nothing to announce';
    const head = `${run.startedAt}  ${colors.bold(run.runId)}  ${Math.round(run.durationMs / 1000)} s  ${run.images} image(s), ${run.transitions} transition(s), ${notified}`;
    const errors = run.errors.map((error) => `    ${colors.red(error)}`);
    return [head, `    ${colors.dim(run.repository)}${run.commit ? colors.dim(`  @${run.commit}`) : ''}`, ...errors].join('\n');
  });
  return `${lines.join('\n')}\n${runs.length} run(s)\n`;
}

export interface OpenFlags extends HistoryStoreFlags {
  json?: boolean;
}

export async function openCommand(flags: OpenFlags, env: Env = process.env): Promise<ExitCode> {
  const drifts = await withStore(flags, env, (store) => store.listOpenDrifts());
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ drifts: drifts.map(openDriftJson) }, null, 2)}\n`);
  } else {
    process.stdout.write(renderOpenDrifts(drifts, colorEnabled(env)));
  }
  return drifts.length > 0 ? ExitCode.Drift : ExitCode.Clean;
}

async function withStore<T>(flags: HistoryStoreFlags, env: Env, query: (store: DynamoHistoryStore) => Promise<T>): Promise<T> {
  if (flags.region && !flags.table) throw new UsageError('--region goes with --table');
  if (flags.table) {
    const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--table needs --region (or AWS_REGION)');
    const store = new DynamoHistoryStore({ client: new DynamoDBClient({ region }), tableName: flags.table });
    try {
      return await query(store);
    } catch (error) {
      throw new IncompleteAuditError(`cannot query table ${flags.table}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const local = await openLocalHistoryStore(stateDirFrom(flags.stateDir, env)).catch((error: unknown) => {
    if (error instanceof HistoryStoreUnusableError) throw new IncompleteAuditError(error.message, { cause: error });
    throw new IncompleteAuditError(`cannot open the history store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  try {
    return await query(local.store);
  } finally {
    await local.close();
  }
}

function parseDriftStatus(text: string): DriftStatus {
  const value = text.toUpperCase();
  const known: readonly string[] = DRIFT_STATUSES;
  if (!known.includes(value)) throw new UsageError(`--status must be one of ${DRIFT_STATUSES.join(', ')}, got "${text}"`);
  return value as DriftStatus;
}

/** History is keyed by the canonical reference, so `nginx` finds `docker.io/library/nginx:latest`. */
function canonicalImage(text: string): string {
  const parsed = parseImageReference(text);
  return parsed.ok ? parsed.ref.canonical : text;
}

function renderEvents(events: DriftEvent[], color: boolean): string {
  if (events.length === 0) return 'No history events match.\n';
  const colors = picocolors.createColors(color);
  const lines = events.map((event) => {
    const change =
      event.kind === 'DIGEST_CHANGED'
        ? `digest ${short(event.previousDigest)} → ${short(event.digest)}`
        : event.kind === 'UNTRACKED'
          ? `${event.from ?? '?'} → no longer desired`
          : `${event.from ?? 'new'} → ${event.to ?? '?'}`;
    const reason = event.reason ? colors.dim(` (${event.reason})`) : '';
    const apps = event.apps.length ? colors.dim(`  apps: ${event.apps.join(', ')}`) : '';
    return `${event.at}  ${colors.bold(event.image)}\n    ${change}${reason}${event.commit ? colors.dim(`  @${event.commit.slice(0, 7)}`) : ''}${apps}`;
  });
  return `${lines.join('\n')}\n${events.length} event(s)\n`;
}

function renderOpenDrifts(drifts: ImageState[], color: boolean): string {
  if (drifts.length === 0) return 'No open drifts: every tracked image was present at its last verdict.\n';
  const colors = picocolors.createColors(color);
  const lines = drifts.map((state) => {
    const where = state.locations[0] ? `${state.locations[0].file}:${state.locations[0].line}` : '';
    return [
      `${colors.red(state.status ?? '?')}  ${colors.bold(state.image)}  since ${state.since}`,
      `    apps: ${state.apps.join(', ') || '-'}${where ? `  at ${where}` : ''}`,
      ...(state.hint ? [`    ${colors.dim(state.hint)}`] : []),
    ].join('\n');
  });
  return `${lines.join('\n')}\n${drifts.length} open drift(s)\n`;
}

function openDriftJson(state: ImageState) {
  return {
    image: state.image,
    status: state.status,
    since: state.since,
    apps: state.apps,
    locations: state.locations,
    verdict: state.verdict,
    evidence: state.evidence,
    hint: state.hint,
    lastDigest: state.lastDigest,
    firstSeenAt: state.firstSeenAt,
    firstSeenPresentAt: state.firstSeenPresentAt,
  };
}

function short(digest: string | undefined): string {
  return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '?';
}
