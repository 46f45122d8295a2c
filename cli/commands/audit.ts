/**
 * `image-drift audit`: desired state plus registry verdicts, drift history in the embedded
 * store, and a report in the chosen format. Also the pull-request gate (`--changed-since`).
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { runAudit } from '../../lambdas/engine/audit.js';
import { HistoryStoreUnusableError, openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import { resolveDesiredState } from '../../lambdas/engine/resolve/index.js';
import type { AuditReport, DesiredState, RepoSource, TreeIdentity } from '../../lambdas/engine/model.js';
import { RevisionUnavailableError } from '../../lambdas/engine/model.js';
import { auditReportToMarkdown } from '../../lambdas/engine/report/markdown.js';
import { createProgress } from '../../lambdas/engine/report/progress.js';
import { ExitCode, IncompleteAuditError, UsageError } from '../exit-codes.js';
import {
  buildChecker,
  checkPathsExist,
  exitCodeForReport,
  loadCliConfig,
  noteUnverified,
  openCliSource,
  resolveFailOn,
  stateDirFrom,
  type Env,
  type RegistryFlags,
  type SourceFlags,
} from '../runtime.js';
import { parseFormat, writeAuditReport, type OutputFormat } from '../output.js';
import { colorEnabled } from '../color.js';
import { cliChartRendering, type ChartFlags } from '../charts.js';
import type { ChartRendering } from '../../lambdas/engine/resolve/helm-render.js';
import { revisionOptions, type RevisionFlags, type RevisionOptions } from '../revisions.js';
import { stripRefPrefix } from '../../lambdas/engine/resolve/revisions.js';

export interface AuditFlags extends SourceFlags, RegistryFlags, ChartFlags, RevisionFlags {
  path?: string[];
  repoUrl?: string[];
  format?: string;
  json?: boolean;
  failOn?: string[];
  changedSince?: string;
  base?: string;
  head?: string;
  stateDir?: string;
  history?: boolean;
  progress?: boolean;
  markdownSummary?: string;
}

export async function auditCommand(flags: AuditFlags, env: Env = process.env): Promise<ExitCode> {
  const format: OutputFormat = flags.json ? 'json' : parseFormat(flags.format ?? 'table');
  const { config } = await loadCliConfig(flags.config);
  const failOn = resolveFailOn(flags.failOn, config);
  const stateDir = stateDirFrom(flags.stateDir, env);
  const prMode = pullRequestMode(flags);
  // An unwritable --markdown-summary is a usage error: say so before the audit, not after it.
  if (flags.markdownSummary) await appendSummary(flags.markdownSummary, '');

  const source = openCliSource(
    { ...flags, ...(prMode?.head && flags.repo ? { repo: withRef(flags.repo, prMode.head) } : {}) },
    env,
    config,
    stateDir,
  );
  const checker = await buildChecker(flags, config, env);
  const progress = createProgress(process.stderr, {
    enabled: flags.progress !== false && Boolean(process.stderr.isTTY) && (format === 'table' || format === 'markdown'),
  });

  const tree = await source.load().catch((error: unknown) => {
    throw new IncompleteAuditError(`cannot read ${source.description.location}: ${messageOf(error)}`, { cause: error });
  });
  checkPathsExist(tree, flags.path);
  const charts = await cliChartRendering(flags, stateDir, env, config);
  const revisions = revisionOptions(flags, env);
  const baseline = prMode ? await desiredStateAt(source, prMode.base, flags.path, charts, revisions) : undefined;
  const { report } = await runAudit({
    source,
    checker,
    tree,
    // On a pull request's head side, apps following the base branch (or HEAD) deploy what the PR makes of the tree.
    resolve: { ...revisions, ...(prMode ? { pullRequestBase: stripRefPrefix(prMode.base) } : {}) },
    ...(flags.path?.length ? { paths: flags.path } : {}),
    ...(flags.repoUrl?.length ? { repoUrls: flags.repoUrl } : {}),
    ...(baseline ? { baseline } : {}),
    charts,
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.done();

  // A pull-request check previews a change: it must not move the history of the deployed state.
  // A history store that fails still leaves a report worth printing: print it, then exit 3.
  let historyFailure: IncompleteAuditError | undefined;
  if (!prMode && flags.history !== false) {
    await recordHistory(report, stateDir, config).catch((error: unknown) => {
      if (!(error instanceof IncompleteAuditError)) throw error;
      historyFailure = error;
      report.notes = [...(report.notes ?? []), `history was not recorded: ${error.message}`];
    });
  }

  noteUnverified(report);
  writeAuditReport(report, format, { color: colorEnabled(env), revision: report.source.commit });
  if (flags.markdownSummary) await appendSummary(flags.markdownSummary, `${auditReportToMarkdown(report)}\n`);
  if (historyFailure) throw historyFailure;
  return exitCodeForReport(report, failOn, flags.allowUnverified ?? false);
}

interface PullRequestMode {
  base: string;
  head?: string;
}

function pullRequestMode(flags: AuditFlags): PullRequestMode | undefined {
  if (flags.changedSince && (flags.base || flags.head)) throw new UsageError('use --changed-since REF, or --base REF with --head REF, not both');
  if (flags.changedSince) return { base: flags.changedSince };
  if (flags.head && !flags.base) throw new UsageError('--head needs --base');
  if (flags.base) {
    if (flags.head && !flags.repo) throw new UsageError('--head is for --repo; with --dir the working tree is the head');
    return { base: flags.base, ...(flags.head ? { head: flags.head } : {}) };
  }
  return undefined;
}

function withRef(repo: string, ref: string): string {
  return `${repo.replace(/@.*$/, '')}@${ref}`;
}

/**
 * The base side of a pull request: the tree at the base revision, which apps following the base branch
 * (or HEAD) deploy today. Its identity is the base's commit and name; the refs the source sees stay the source's.
 */
async function desiredStateAt(
  source: RepoSource,
  revision: string,
  paths: string[] | undefined,
  charts: ChartRendering,
  revisions: RevisionOptions,
): Promise<DesiredState> {
  try {
    const tree = await source.load(revision);
    const own = await source.identify?.().catch(() => undefined);
    const defaultBranch = own?.defaultBranch ?? revisions.defaultBranch;
    const identity: TreeIdentity = {
      ...(tree.description.commit !== undefined && { commit: tree.description.commit }),
      refs: [stripRefPrefix(revision)],
      ...(defaultBranch !== undefined && { defaultBranch }),
      seesAllRefs: own?.seesAllRefs ?? false,
      urls: own?.urls ?? [],
    };
    return await resolveDesiredState(source, { tree, identity, revisions: revisions.revisions, ...(paths?.length ? { paths } : {}), charts });
  } catch (error) {
    if (error instanceof RevisionUnavailableError) throw new UsageError(`cannot read the base revision: ${error.message}`);
    throw error;
  }
}

async function recordHistory(report: AuditReport, stateDir: string, config: { unverifiedAfterRuns: number; reminderIntervalHours: number }): Promise<void> {
  let local;
  try {
    local = await openLocalHistoryStore(stateDir);
  } catch (error) {
    if (error instanceof HistoryStoreUnusableError) throw new IncompleteAuditError(error.message, { cause: error });
    throw new IncompleteAuditError(`cannot open the history store in ${stateDir}: ${messageOf(error)}`, { cause: error });
  }
  try {
    const outcome = await trackDrift(
      {
        runId: randomUUID(),
        repository: report.source.location,
        ...(report.source.commit ? { commit: report.source.commit } : {}),
        startedAt: new Date(report.startedAt),
        durationMs: report.durationMs,
        results: report.results,
      },
      {
        store: local.store,
        options: { unverifiedAfterRuns: config.unverifiedAfterRuns, reminderIntervalHours: config.reminderIntervalHours },
      },
    ).catch((error: unknown) => {
      throw new IncompleteAuditError(`history store unusable: ${messageOf(error)}`, { cause: error });
    });
    for (const result of report.results) {
      const drift = outcome.drift.get(result.image);
      if (drift) result.drift = drift;
    }
    const changes = outcome.transitions.filter((transition) => transition.kind !== 'TRACKED' || transition.to !== 'PRESENT');
    if (changes.length > 0) {
      report.notes = [
        ...(report.notes ?? []),
        ...changes.map((transition) => `history: ${transition.image} ${transition.from ?? 'new'} → ${transition.to ?? 'untracked'}${transition.reason ? ` (${transition.reason})` : ''}`),
      ];
    }
    // Writes that failed are kept for the next run (journals, owed announcements), but this run is not complete.
    if (outcome.errors.length > 0) throw new IncompleteAuditError(`history recorded only in part: ${outcome.errors.join('; ')}`);
  } finally {
    await local.close();
  }
}

async function appendSummary(file: string, text: string): Promise<void> {
  await appendFile(file, text, 'utf8').catch((error: unknown) => {
    throw new UsageError(`--markdown-summary ${file}: cannot write: ${messageOf(error)}`);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
