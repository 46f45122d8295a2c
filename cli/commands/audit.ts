/**
 * `image-drift audit`: desired state plus registry verdicts, drift history in the embedded
 * store, and a report in the chosen format. Also the pull-request gate (`--changed-since`).
 */
import { randomUUID } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import { runAudit } from '../../lambdas/engine/audit.js';
import { HistoryStoreUnusableError, openLocalHistoryStore } from '../../lambdas/engine/history/local-store.js';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import type { AuditorConfig } from '../../lambdas/engine/config/schema.js';
import { envSetupProblems } from '../../lambdas/engine/config/secret.js';
import { AlertPolicy } from '../../lambdas/engine/notify/policy.js';
import { gitHubWebUrl } from '../../lambdas/engine/notify/render.js';
import type { NotificationSource, Notifier, OutgoingMessage } from '../../lambdas/engine/notify/types.js';
import { resolveDesiredState } from '../../lambdas/engine/resolve/index.js';
import { normaliseRepoUrl } from '../../lambdas/engine/resolve/argocd/repo-url.js';
import type { AuditReport, DesiredState, RepoSource, TreeIdentity } from '../../lambdas/engine/model.js';
import { RevisionUnavailableError } from '../../lambdas/engine/model.js';
import { auditReportToMarkdown } from '../../lambdas/engine/report/markdown.js';
import { createProgress } from '../../lambdas/engine/report/progress.js';
import { ExitCode, IncompleteAuditError, UsageError } from '../exit-codes.js';
import {
  buildChecker,
  checkPathsExist,
  exitCodeForReport,
  loadCiSources,
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
  alertsPreview?: string;
}

export async function auditCommand(flags: AuditFlags, env: Env = process.env): Promise<ExitCode> {
  const format: OutputFormat = flags.json ? 'json' : parseFormat(flags.format ?? 'table');
  const { config } = await loadCliConfig(flags.config);
  const failOn = resolveFailOn(flags.failOn, config);
  const stateDir = stateDirFrom(flags.stateDir, env);
  const prMode = pullRequestMode(flags);
  // An unwritable --markdown-summary is a usage error: say so before the audit, not after it.
  if (flags.markdownSummary) await appendSummary(flags.markdownSummary, '');
  if (flags.alertsPreview !== undefined) {
    if (prMode) throw new UsageError('--alerts-preview previews the scheduled audit; it cannot be combined with pull-request mode');
    if (flags.history === false) throw new UsageError('--alerts-preview needs the history (alerts are what changed since the last run); drop --no-history');
    await writePreview(flags.alertsPreview, []);
  }

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
  const ciSources = await loadCiSources(config, env, stateDir, flags.githubApiUrl);
  const { report } = await runAudit({
    source,
    checker,
    tree,
    // On a pull request's head side, apps following the base branch (or HEAD) deploy what the PR makes of the tree.
    resolve: { ...revisions, ciModels: ciSources.models, ...(prMode ? { pullRequestBase: stripRefPrefix(prMode.base) } : {}) },
    ...(flags.path?.length ? { paths: flags.path } : {}),
    ...(flags.repoUrl?.length ? { repoUrls: flags.repoUrl } : {}),
    ...(baseline ? { baseline } : {}),
    charts,
    ciSources: ciSources.reader,
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.done();
  report.findings.push(...ciSources.findings);

  // A pull-request check previews a change: it must not move the history of the deployed state.
  // A history store that fails still leaves a report worth printing: print it, then exit 3.
  let historyFailure: IncompleteAuditError | undefined;
  if (!prMode && flags.history !== false) {
    await recordHistory(report, stateDir, config, {
      env,
      repoUrls: flags.repoUrl ?? [],
      ...(flags.alertsPreview !== undefined ? { preview: flags.alertsPreview } : {}),
    }).catch((error: unknown) => {
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

/** The JSON the preview file holds: what SNS would receive, e-mail text as `message`. */
export interface PreviewMessage {
  subject: string;
  /** The plain text e-mail subscribers receive. */
  message: string;
  /** The JSON body `sqs`/`lambda`/`https` subscribers receive. */
  json: unknown;
  attributes: OutgoingMessage['attributes'];
}

/** The Notifier of `--alerts-preview`: keeps what it is given, exactly as the Lambda's SNS notifier would publish it. */
class PreviewNotifier implements Notifier {
  readonly messages: PreviewMessage[] = [];
  async publish(message: OutgoingMessage): Promise<{ messageId: string }> {
    // The MessageStructure json body: e-mail gets `email`, machines get `sqs`/`lambda`/`https`.
    const body = JSON.parse(message.message) as { email: string; sqs: string };
    this.messages.push({ subject: message.subject, message: body.email, json: JSON.parse(body.sqs) as unknown, attributes: message.attributes });
    return { messageId: `preview-${this.messages.length}` };
  }
}

async function writePreview(file: string, messages: PreviewMessage[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(messages, null, 2)}\n`, 'utf8').catch((error: unknown) => {
    throw new UsageError(`--alerts-preview ${file}: cannot write: ${messageOf(error)}`);
  });
}

/**
 * The repository as the deployed auditor names it: `owner/name` with links when the repository is on GitHub
 * (a --repo-url, else what the run decided: the git remote or the dominant repoURL); the directory otherwise.
 */
function previewSource(report: AuditReport, repoUrls: readonly string[], config: AuditorConfig): NotificationSource {
  const commit = report.source.commit;
  const webUrl = gitHubWebUrl(config.github.baseUrl);
  if (report.source.kind === 'github') return { repository: report.source.location, ...(commit ? { commit } : {}), webUrl };
  const webHost = new URL(webUrl).host.toLowerCase();
  for (const url of [...repoUrls, ...(report.repositoryUrls ?? [])]) {
    const [host, owner, name, ...rest] = normaliseRepoUrl(url).split('/');
    if (host === webHost && owner && name && rest.length === 0) return { repository: `${owner}/${name}`, ...(commit ? { commit } : {}), webUrl };
  }
  return { repository: report.source.location, ...(commit ? { commit } : {}) };
}

async function recordHistory(
  report: AuditReport,
  stateDir: string,
  config: AuditorConfig,
  options: { env: Env; repoUrls: readonly string[]; preview?: string },
): Promise<void> {
  let local;
  try {
    local = await openLocalHistoryStore(stateDir);
  } catch (error) {
    if (error instanceof HistoryStoreUnusableError) throw new IncompleteAuditError(error.message, { cause: error });
    throw new IncompleteAuditError(`cannot open the history store in ${stateDir}: ${messageOf(error)}`, { cause: error });
  }
  const preview = options.preview !== undefined ? new PreviewNotifier() : undefined;
  const policy = new AlertPolicy(config);
  try {
    const source = previewSource(report, options.repoUrls, config);
    const setupIncomplete = envSetupProblems(config.registries, options.env);
    const outcome = await trackDrift(
      {
        runId: randomUUID(),
        repository: source.repository,
        ...(report.source.commit ? { commit: report.source.commit } : {}),
        sources: [source],
        startedAt: new Date(report.startedAt),
        durationMs: report.durationMs,
        results: report.results,
        ...(report.unknown ? { unknown: report.unknown } : {}),
        ...(setupIncomplete.length ? { setupIncomplete } : {}),
      },
      {
        store: local.store,
        ...(preview ? { notifier: preview } : {}),
        policy,
        options: { unverifiedAfterRuns: config.unverifiedAfterRuns, reminderIntervalHours: config.reminderIntervalHours },
      },
    ).catch((error: unknown) => {
      throw new IncompleteAuditError(`history store unusable: ${messageOf(error)}`, { cause: error });
    });
    if (preview && options.preview !== undefined) await writePreview(options.preview, preview.messages);
    if (outcome.warnings.length) report.notes = [...(report.notes ?? []), ...outcome.warnings.map((warning) => `config: ${warning}`)];
    if (outcome.notification?.error) {
      report.notes = [...(report.notes ?? []), `alerts preview: ${outcome.notification.error}`];
    }
    for (const result of report.results) {
      const drift = outcome.drift.get(result.image);
      if (drift) result.drift = drift;
    }
    if (outcome.heldUnknown.length > 0) {
      const n = outcome.heldUnknown.length;
      report.notes = [
        ...(report.notes ?? []),
        `history: ${n} ${n === 1 ? 'image' : 'images'} not desired in what could be read ${n === 1 ? 'is' : 'are'} held as ${n === 1 ? 'it was' : 'they were'} (the part of the desired state ${n === 1 ? 'it' : 'they'} came from is unknown), not closed as "no longer desired": ${outcome.heldUnknown.slice(0, 8).join(', ')}${n > 8 ? ` and ${n - 8} more` : ''}`,
      ];
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
