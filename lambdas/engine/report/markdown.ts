/**
 * The pull-request comment (`--format markdown`): a summary line, a table of problem images,
 * one collapsible evidence block per problem, the findings, and the OK images folded away.
 * GitHub rejects comments over 65,536 characters, so the text is cut at a budget, whole blocks
 * at a time, with a note saying what was left out.
 */
import type { AuditReport, AuditResult, Finding } from '../model.js';
import {
  countStatuses,
  decidingLocation,
  describeVerdictOrDrift,
  formatLocation,
  SEVERITY_ORDER,
  sortResults,
  STATUS_CLASS,
  STATUS_ORDER,
  summarizeEvidence,
  summarizeTagHints,
  summarizeCi,
  type StatusClass,
} from './status.js';
import { displaySafeDeep } from '../hygiene.js';

/** GitHub's limit for an issue or pull-request comment body. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface MarkdownOptions {
  /** Heading at the top; `image-drift audit` when not given. */
  title?: string;
  /** Maximum length of the whole text; GITHUB_COMMENT_LIMIT when not given. */
  maxLength?: number;
  /** A marker GitHub does not display, so a bot can find and update its own comment. */
  marker?: string;
}

const ICONS: Record<StatusClass, string> = {
  broken: '\u274c',
  attention: '\u26a0\ufe0f',
  unverified: '\u23f3',
  ok: '\u2705',
};

/** Escapes text for a GFM table cell or paragraph: pipes, HTML, and Markdown punctuation that would change meaning. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([`*_[\]|#~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/**
 * Inline code that survives backticks in the text (a longer fence) and pipes inside a table cell
 * (GFM splits cells on `|` even inside code spans unless it is escaped).
 */
export function inlineCode(text: string): string {
  const flat = text.replace(/\r?\n/g, ' ');
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padded = flat.startsWith('`') || flat.endsWith('`') ? ` ${flat} ` : flat;
  return `${fence}${padded}${fence}`.replace(/\|/g, '\\|');
}

/** Escapes text for HTML (inside `<summary>`). */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Hints are written by us with `code` spans; keep those spans and escape everything else.
 * An unbalanced backtick is escaped like any other character.
 */
function escapeProse(text: string): string {
  const parts = text.split(/(`[^`\n]+`)/g);
  return parts
    .map((part) => (part.length > 2 && part.startsWith('`') && part.endsWith('`') ? inlineCode(part.slice(1, -1)) : escapeMarkdown(part)))
    .join('');
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** `❌ 2 images cannot be pulled · ⚠️ 1 may need credentials · ⏳ 1 not verified · 14 OK`. */
export function markdownSummaryLine(report: Pick<AuditReport, 'results' | 'findings'>): string {
  const counts = countStatuses(report.results);
  const parts: string[] = [];
  if (counts.byClass.broken > 0) {
    parts.push(`${ICONS.broken} ${plural(counts.byClass.broken, 'image')} cannot be pulled`);
  }
  if (counts.byClass.attention > 0) {
    parts.push(`${ICONS.attention} ${counts.byClass.attention} may need credentials`);
  }
  if (counts.byClass.unverified > 0) parts.push(`${ICONS.unverified} ${counts.byClass.unverified} not verified`);
  parts.push(`${parts.length === 0 ? `${ICONS.ok} ` : ''}${counts.byClass.ok} OK`);
  if (report.findings.length > 0) parts.push(plural(report.findings.length, 'finding'));
  return parts.join(' \u00b7 ');
}

function statusCell(result: AuditResult): string {
  const drift =
    result.drift && (result.drift as string) !== result.status && result.drift !== 'PRESENT' && result.drift !== 'UNVERIFIED'
      ? ` (${result.drift})`
      : '';
  return `${ICONS[STATUS_CLASS[result.status]]} ${inlineCode(result.status)}${drift}`;
}

function whereCell(result: AuditResult): string {
  const deciding = decidingLocation(result.locations);
  if (!deciding) return '';
  const more = result.locations.length > 1 ? ` +${result.locations.length - 1}` : '';
  return `${inlineCode(formatLocation(deciding))}${more}`;
}

function tableRow(result: AuditResult): string {
  const apps = result.apps.map(escapeMarkdown).join(', ') + (result.revisionAssumed ? ' _(revision assumed)_' : '');
  return `| ${statusCell(result)} | ${inlineCode(result.image)} | ${apps} | ${whereCell(result)} |`;
}

function detailsBlock(result: AuditResult): string {
  const description = describeVerdictOrDrift(result.status, result.drift);
  const lines = [
    '<details>',
    `<summary>${ICONS[STATUS_CLASS[result.status]]} <code>${escapeHtml(result.image)}</code> \u2014 ${escapeHtml(description.title)}</summary>`,
    '',
    `**Hint:** ${escapeProse(result.hint)}`,
    '',
  ];
  const evidence = summarizeEvidence(result.evidence);
  if (evidence) lines.push(`- **Evidence:** ${inlineCode(evidence)}`);
  const tags = summarizeTagHints(result.evidence);
  if (tags) lines.push(`- **Existing tags:** ${inlineCode(tags)}`);
  const ci = summarizeCi(result.evidence);
  if (ci) lines.push(`- **CI pushes:** ${inlineCode(ci)}`);
  if (result.evidence.candidates && result.evidence.candidates.length > 0) {
    lines.push(`- **Similar repositories:** ${result.evidence.candidates.map(inlineCode).join(', ')}`);
  }
  if (result.locations.length > 0) {
    lines.push(`- **Written at:** ${result.locations.map((location) => inlineCode(formatLocation(location))).join(' \u2192 ')}`);
  }
  if (result.apps.length > 0) lines.push(`- **Apps:** ${result.apps.map(escapeMarkdown).join(', ')}`);
  if (result.revisionAssumed) lines.push("- **Revision assumed:** the apps' revision could not be read; this is the audited tree's image");
  lines.push(`- **Status:** ${inlineCode(result.status)}${result.drift && (result.drift as string) !== result.status ? ` \u00b7 drift ${inlineCode(result.drift)}` : ''} \u2014 ${escapeMarkdown(description.meaning)}`);
  lines.push('', '</details>');
  return lines.join('\n');
}

function findingRow(finding: Finding): string {
  const hint = finding.hint ? ` \u2014 ${escapeProse(finding.hint)}` : '';
  return `| ${finding.severity} | ${inlineCode(finding.code)} | ${inlineCode(formatLocation(finding))} | ${escapeProse(finding.message)}${hint} |`;
}

/** One character budget shared by every section, spent in priority order rather than document order. */
class Budget {
  constructor(private remaining: number) {}

  get left(): number {
    return this.remaining;
  }

  /** Spends room for the text (plus its newline) when it fits within the budget and the section's cap. */
  take(text: string, cap = Number.POSITIVE_INFINITY): boolean {
    const cost = text.length + 1;
    if (cost > this.remaining || cost > cap) return false;
    this.remaining -= cost;
    return true;
  }

  /** Spends room for text that is always kept (headings); the reserve covers it. */
  force(text: string): string {
    this.remaining -= text.length + 1;
    return text;
  }
}

/** Keeps the items that fit, in order, and says how many did not. `share` caps the section's part of what is left. */
function fill<T>(budget: Budget, items: readonly T[], render: (item: T) => string, share = 1): { lines: string[]; omitted: number } {
  const lines: string[] = [];
  let omitted = 0;
  let cap = Math.floor(budget.left * share);
  for (const item of items) {
    const text = render(item);
    if (omitted === 0 && budget.take(text, cap)) {
      lines.push(text);
      cap -= text.length + 1;
    } else omitted += 1;
  }
  return { lines, omitted };
}

/** Room kept for the truncation note and the closing lines. */
const NOTE_RESERVE = 1_500;

export function auditReportToMarkdown(untrusted: AuditReport, options: MarkdownOptions = {}): string {
  // Control characters and bidi overrides from manifests or registries are shown as escapes, never passed on.
  const report = displaySafeDeep(untrusted);
  const limit = options.maxLength ?? GITHUB_COMMENT_LIMIT;
  const budget = new Budget(Math.max(0, limit - NOTE_RESERVE));
  const results = sortResults(report.results);
  const problems = results.filter((result) => result.status !== 'OK');
  const ok = results.filter((result) => result.status === 'OK');
  const findings = [...report.findings].sort(
    (a, b) =>
      SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line,
  );

  const head: string[] = [];
  if (options.marker) head.push(budget.force(`<!-- ${options.marker.slice(0, 200).replace(/--/g, '- -')} -->`));
  head.push(budget.force(`### ${escapeMarkdown((options.title ?? 'image-drift audit').slice(0, 200))}`), '');
  head.push(budget.force(markdownSummaryLine(report)), '');

  // Priority: the problem table (at most 3/4 of the room, so findings always get some), then findings,
  // then evidence blocks, then the OK list, then notes.
  const rows = fill(budget, problems, tableRow, 0.75);
  const findingRows = fill(budget, findings, findingRow);
  const details = fill(budget, problems, (result) => `${detailsBlock(result)}\n`);
  const okLines = fill(budget, ok, (result) => {
    const apps = result.apps.length > 0 ? ` \u2014 ${result.apps.map(escapeMarkdown).join(', ')}` : '';
    return `- ${inlineCode(result.image)}${apps}`;
  });
  const notes = fill(budget, report.notes ?? [], (note) => `> ${escapeMarkdown(note)}\n`);

  const out: string[] = [...head];
  if (problems.length > 0) out.push('| Status | Image | App | Where |', '|---|---|---|---|', ...rows.lines, '', ...details.lines);
  if (findings.length > 0) {
    out.push(
      '<details>',
      `<summary>${plural(findings.length, 'finding')} while reading the repository</summary>`,
      '',
      '| Severity | Code | Where | Message |',
      '|---|---|---|---|',
      ...findingRows.lines,
      '',
      '</details>',
      '',
    );
  }
  if (ok.length > 0) {
    out.push('<details>', `<summary>${ICONS.ok} ${plural(ok.length, 'image')} OK</summary>`, '', ...okLines.lines, '', '</details>', '');
  }
  out.push(...notes.lines);

  const left: string[] = [];
  if (rows.omitted > 0) left.push(plural(rows.omitted, 'problem row'));
  if (findingRows.omitted > 0) left.push(plural(findingRows.omitted, 'finding'));
  if (details.omitted > 0) left.push(plural(details.omitted, 'evidence block'));
  if (okLines.omitted > 0) left.push(plural(okLines.omitted, 'OK image'));
  if (notes.omitted > 0) left.push(plural(notes.omitted, 'note'));
  if (left.length > 0) {
    out.push(
      '> [!NOTE]',
      `> Truncated to fit GitHub's ${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')}-character comment limit: ` +
        `${left.join(', ')} left out. Run \`image-drift audit --format json\` for the full report.`,
      '',
    );
  }
  const counts = countStatuses(report.results);
  const statusList = STATUS_ORDER.filter((status) => status !== 'OK' && counts.byStatus[status] > 0)
    .map((status) => `${inlineCode(status)} ${counts.byStatus[status]}`)
    .join(' \u00b7 ');
  if (statusList) out.push(`<sub>${statusList}</sub>`);
  const text = `${out.join('\n').trimEnd()}\n`;
  // Last resort (the reserve is generous): never hand GitHub a body it rejects.
  return text.length <= limit ? text : `${text.slice(0, Math.max(0, limit - 80))}\n\n> Truncated at ${limit} characters.\n`;
}
