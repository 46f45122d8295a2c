/**
 * The human-readable terminal report (`--format table`, the default). Plain text that reads well
 * in 100 columns; colour only when the caller asks for it (the CLI passes
 * `process.stdout.isTTY && !NO_COLOR`). Image references and paths are never truncated: people copy them.
 */
import picocolors from 'picocolors';
import type {
  AuditReport,
  AuditResult,
  DesiredImage,
  DesiredState,
  Finding,
  SourceDescription,
  SourceLocation,
  Verdict,
} from '../model.js';
import {
  countStatuses,
  formatLocation,
  SEVERITY_ORDER,
  STATUS_ORDER,
  sortResults,
  STATUS_CLASS,
  summarizeEvidence,
  summarizeTagHints,
  summarizeCi,
  type StatusClass,
} from './status.js';
import { displaySafeDeep } from '../hygiene.js';

type Colors = ReturnType<typeof picocolors.createColors>;

export interface TableOptions {
  color: boolean;
  /** Terminal width; 100 when not given. */
  width?: number;
  /** First words of the heading; `image-drift audit` when not given (`image-drift check` for the check command). */
  title?: string;
}

const DEFAULT_WIDTH = 100;
const DETAIL_INDENT = '    ';
const LABEL_WIDTH = 9;

const MARKERS: Record<StatusClass, string> = { broken: '\u2717', attention: '!', unverified: '?', ok: '\u2713' };

function classColor(colors: Colors, statusClass: StatusClass): (text: string) => string {
  switch (statusClass) {
    case 'broken':
      return colors.red;
    case 'attention':
      return colors.yellow;
    case 'unverified':
      return colors.magenta;
    case 'ok':
      return colors.green;
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Greedy word wrap; words longer than the width stay whole. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((part) => part.length > 0)) {
    if (current.length === 0) current = word;
    else if (current.length + 1 + word.length <= width) current += ` ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current.length > 0) lines.push(current);
  return lines.length > 0 ? lines : [''];
}

/** `label    text`, wrapped, continuation lines aligned under the text. */
function detailLines(
  colors: Colors,
  label: string,
  text: string,
  width: number,
  paint: (line: string) => string = (line) => line,
): string[] {
  const prefix = DETAIL_INDENT + pad(label, LABEL_WIDTH);
  const room = Math.max(20, width - prefix.length);
  return wrapText(text, room).map((line, index) =>
    index === 0 ? DETAIL_INDENT + colors.dim(pad(label, LABEL_WIDTH)) + paint(line) : ' '.repeat(prefix.length) + paint(line),
  );
}

function formatApps(apps: readonly string[], width: number): string {
  if (apps.length === 0) return '-';
  let text = apps.join(', ');
  if (text.length <= width) return text;
  for (let shown = apps.length - 1; shown >= 1; shown -= 1) {
    text = `${apps.slice(0, shown).join(', ')} +${apps.length - shown}`;
    if (text.length <= width) return text;
  }
  const first = apps[0] ?? '';
  const suffix = apps.length > 1 ? ` +${apps.length - 1}` : '';
  return `${first.slice(0, Math.max(1, width - suffix.length - 1))}\u2026${suffix}`;
}

function describeSource(source: SourceDescription): string {
  const revision = source.ref ?? '';
  const commit = source.commit ? ` (${source.commit.slice(0, 7)})` : '';
  return `${source.kind} ${source.location}${revision ? `@${revision}` : ''}${commit}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

// ─── Audit table ──────────────────────────────────────────────────────────

interface Columns {
  status: number;
  image: number;
  apps: number;
}

function computeColumns(results: readonly AuditResult[], width: number): Columns {
  const status = Math.max(...results.map((result) => result.status.length));
  const lead = 2 + status + 2;
  const longestImage = Math.max(...results.map((result) => result.image.length));
  const longestApps = Math.max(...results.map((result) => result.apps.join(', ').length), 1);
  const apps = Math.min(longestApps, 24);
  const image = Math.min(longestImage, Math.max(20, width - lead - 2 - Math.min(apps, 12)));
  return { status, image, apps: Math.max(1, Math.min(apps, width - lead - image - 2)) };
}

/** Location texts in application order; long chains keep the first and the deciding entry. */
function chainItems(locations: readonly SourceLocation[]): string[] {
  if (locations.length <= 3) return locations.map(formatLocation);
  return [
    formatLocation(locations[0] as SourceLocation),
    `(${locations.length - 2} more)`,
    formatLocation(locations[locations.length - 1] as SourceLocation),
  ];
}

/** `at  base:21 → overlay:9`; when it does not fit, each continuation line starts with the arrow. */
function chainLines(colors: Colors, items: readonly string[], width: number): string[] {
  const prefix = DETAIL_INDENT + pad('at', LABEL_WIDTH);
  const continuation = ' '.repeat(prefix.length);
  const room = width - prefix.length;
  const texts: string[] = [];
  for (const item of items) {
    const last = texts[texts.length - 1];
    if (last === undefined) texts.push(item);
    else if (last.length + 3 + item.length <= room) texts[texts.length - 1] = `${last} \u2192 ${item}`;
    else texts.push(`\u2192 ${item}`);
  }
  return texts.map((text, index) => (index === 0 ? DETAIL_INDENT + colors.dim(pad('at', LABEL_WIDTH)) : continuation) + colors.cyan(text));
}

function renderResult(colors: Colors, result: AuditResult, columns: Columns, width: number): string[] {
  const statusClass = STATUS_CLASS[result.status];
  const paint = classColor(colors, statusClass);
  const statusCell = paint(`${MARKERS[statusClass]} ${pad(result.status, columns.status)}`);
  const imageCell = pad(result.image, columns.image);
  const appsText = formatApps(result.apps, columns.apps);
  const lines: string[] = [];
  // Shown under every result whose apps' revisions were assumed, OK ones included.
  const assumed = result.revisionAssumed ? detailLines(colors, 'assumed', "the apps' revision could not be read; this is the audited tree's image", width) : [];

  if (statusClass === 'ok') {
    // OK rows stay on one line when the first location fits; the details are for problems.
    const first = result.locations[0];
    const where = first ? formatLocation(first) + (result.locations.length > 1 ? ` +${result.locations.length - 1}` : '') : '';
    const inline = where.length > 0 && 2 + columns.status + 2 + imageCell.length + 2 + columns.apps + 2 + where.length <= width;
    if (inline) lines.push(`${statusCell}  ${imageCell}  ${pad(appsText, columns.apps)}  ${colors.cyan(where)}`);
    else {
      lines.push(`${statusCell}  ${imageCell}  ${appsText}`.trimEnd());
      if (where) lines.push(...detailLines(colors, 'at', where, width, colors.cyan));
    }
    return [...lines, ...assumed];
  }

  lines.push(`${statusCell}  ${colors.bold(imageCell)}  ${appsText}`.trimEnd());
  if (result.locations.length > 0) lines.push(...chainLines(colors, chainItems(result.locations), width));
  const evidence = summarizeEvidence(result.evidence);
  if (evidence) lines.push(...detailLines(colors, 'evidence', evidence, width));
  const tags = summarizeTagHints(result.evidence);
  if (tags) lines.push(...detailLines(colors, 'tags', tags, width));
  const ci = summarizeCi(result.evidence);
  if (ci) lines.push(...detailLines(colors, 'ci', ci, width));
  if (result.evidence.candidates && result.evidence.candidates.length > 0) {
    lines.push(...detailLines(colors, 'similar', result.evidence.candidates.join(', '), width));
  }
  lines.push(...detailLines(colors, 'hint', result.hint, width));
  return [...lines, ...assumed];
}

function renderFindings(colors: Colors, findings: readonly Finding[], width: number): string[] {
  if (findings.length === 0) return [];
  const sorted = [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line,
  );
  const lines = [colors.bold(`Findings (${findings.length})`)];
  const severityWidth = Math.max(...sorted.map((finding) => finding.severity.length));
  const codeWidth = Math.max(...sorted.map((finding) => finding.code.length));
  for (const finding of sorted) {
    const paint = finding.severity === 'error' ? colors.red : finding.severity === 'warning' ? colors.yellow : colors.dim;
    lines.push(
      `  ${paint(pad(finding.severity, severityWidth))}  ${pad(finding.code, codeWidth)}  ${colors.cyan(formatLocation(finding))}`,
    );
    lines.push(...detailLines(colors, '', finding.message, width));
    if (finding.hint) lines.push(...detailLines(colors, 'hint', finding.hint, width));
  }
  return lines;
}

function renderNotes(colors: Colors, notes: readonly string[] | undefined, width: number): string[] {
  if (!notes || notes.length === 0) return [];
  return [colors.bold('Notes'), ...notes.flatMap((note) => wrapText(note, width - 4).map((line, index) => (index === 0 ? `  - ${line}` : `    ${line}`)))];
}

/**
 * `✗ 6 images: 2 cannot be pulled · 1 may need credentials · 1 not verified · 2 OK · 3 findings`,
 * then, when there are problems, a second line with the count of each problem status.
 */
export function auditSummaryLines(
  report: Pick<AuditReport, 'results' | 'findings'>,
  colors: Colors = picocolors.createColors(false),
): string[] {
  const counts = countStatuses(report.results);
  const parts: string[] = [];
  if (counts.byClass.broken > 0) parts.push(colors.red(`${counts.byClass.broken} cannot be pulled`));
  if (counts.byClass.attention > 0) parts.push(colors.yellow(`${counts.byClass.attention} may need credentials`));
  if (counts.byClass.unverified > 0) parts.push(colors.magenta(`${counts.byClass.unverified} not verified`));
  parts.push(colors.green(`${counts.byClass.ok} OK`));
  parts.push(plural(report.findings.length, 'finding'));
  const marker =
    counts.byClass.broken > 0
      ? colors.red(MARKERS.broken)
      : counts.byClass.attention + counts.byClass.unverified > 0
        ? colors.yellow('!')
        : colors.green(MARKERS.ok);
  const lines = [`${marker} ${plural(counts.total, 'image')}: ${parts.join(' \u00b7 ')}`];
  const statuses = STATUS_ORDER.filter((status) => status !== 'OK' && counts.byStatus[status] > 0).map(
    (status) => `${status} ${counts.byStatus[status]}`,
  );
  if (statuses.length > 0) lines.push(colors.dim(`  ${statuses.join(' \u00b7 ')}`));
  return lines;
}

export function renderAuditTable(untrusted: AuditReport, options: TableOptions): string {
  // Image strings, file names and registry messages come from untrusted places: show control characters, never obey them.
  const report = displaySafeDeep(untrusted);
  const colors = picocolors.createColors(options.color);
  const width = options.width ?? DEFAULT_WIDTH;
  const lines: string[] = [
    colors.bold(`${options.title ?? 'image-drift audit'} \u00b7 ${describeSource(report.source)} \u00b7 ${formatDuration(report.durationMs)}`),
    '',
  ];
  const results = sortResults(report.results);
  if (results.length === 0) {
    lines.push('No images found.', '');
  } else {
    const columns = computeColumns(results, width);
    let previous: Verdict | undefined;
    for (const result of results) {
      if (previous !== undefined && previous !== result.status) lines.push('');
      lines.push(...renderResult(colors, result, columns, width));
      previous = result.status;
    }
    lines.push('');
  }
  const findings = renderFindings(colors, report.findings, width);
  if (findings.length > 0) lines.push(...findings, '');
  const notes = renderNotes(colors, report.notes, width);
  if (notes.length > 0) lines.push(...notes, '');
  lines.push(...auditSummaryLines(report, colors));
  return `${lines.join('\n')}\n`;
}

// ─── Desired-state table ──────────────────────────────────────────────────

function formatWorkload(entry: DesiredImage): string {
  const { kind, namespace, name } = entry.workload;
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

export function renderDesiredTable(untrusted: DesiredState, options: TableOptions): string {
  const state = displaySafeDeep(untrusted);
  const colors = picocolors.createColors(options.color);
  const width = options.width ?? DEFAULT_WIDTH;
  const lines: string[] = [colors.bold(`image-drift desired state \u00b7 ${describeSource(state.source)}`), ''];

  const byApp = new Map<string, DesiredImage[]>();
  for (const entry of state.images) {
    const group = byApp.get(entry.app.name);
    if (group) group.push(entry);
    else byApp.set(entry.app.name, [entry]);
  }
  const workloadWidth = Math.min(40, Math.max(8, ...state.images.map((entry) => formatWorkload(entry).length)));
  const containerWidth = Math.min(20, Math.max(9, ...state.images.map((entry) => entry.container.length)));

  for (const appName of [...byApp.keys()].sort((a, b) => a.localeCompare(b))) {
    const entries = byApp.get(appName) ?? [];
    const app = entries[0]?.app;
    if (!app) continue;
    const about = [app.kind, app.definedAt ? formatLocation(app.definedAt) : undefined, app.path ? `path ${app.path}` : undefined, app.revision ? `revision ${app.revision}${app.revisionAssumed ? ' (assumed: not readable, audited tree shown)' : ''}` : undefined]
      .filter((part): part is string => part !== undefined)
      .join(' \u00b7 ');
    if (appName.length + about.length + 3 <= width) lines.push(`${colors.bold(appName)} ${colors.dim(`(${about})`)}`);
    else lines.push(colors.bold(appName), ...wrapText(about, width - 2).map((line) => colors.dim(`  ${line}`)));
    lines.push(colors.dim(`  ${pad('WORKLOAD', workloadWidth)}  ${pad('CONTAINER', containerWidth)}  IMAGE`));
    const sorted = [...entries].sort(
      (a, b) => formatWorkload(a).localeCompare(formatWorkload(b)) || a.container.localeCompare(b.container),
    );
    for (const entry of sorted) {
      const invalid = !entry.reference.ok;
      const image = invalid ? colors.red(`\u2717 ${entry.written}`) : entry.written;
      lines.push(`  ${pad(formatWorkload(entry), workloadWidth)}  ${pad(entry.container, containerWidth)}  ${image}`);
      if (entry.image !== entry.written && entry.reference.ok) {
        lines.push(...detailLines(colors, 'resolves', entry.image, width));
      }
      if (entry.locations.length > 0) lines.push(...chainLines(colors, entry.locations.map(formatLocation), width));
      if (!entry.reference.ok) {
        const { reason, suggestion } = entry.reference.problem;
        lines.push(...detailLines(colors, 'invalid', suggestion ? `${reason}; did you mean ${suggestion}?` : reason, width));
      }
    }
    lines.push('');
  }
  if (state.images.length === 0) lines.push('No images found.', '');

  const findings = renderFindings(colors, state.findings, width);
  if (findings.length > 0) lines.push(...findings, '');
  const notes = renderNotes(colors, state.notes, width);
  if (notes.length > 0) lines.push(...notes, '');
  const invalidCount = state.images.filter((entry) => !entry.reference.ok).length;
  lines.push(
    `${plural(state.images.length, 'image entry', 'image entries')} in ${plural(byApp.size, 'app')}` +
      (invalidCount > 0 ? ` \u00b7 ${colors.red(`${invalidCount} invalid`)}` : '') +
      ` \u00b7 ${plural(state.findings.length, 'finding')}`,
  );
  return `${lines.join('\n')}\n`;
}
