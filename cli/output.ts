/** Writes reports to stdout in the format asked for. */
import { auditReportToJson, desiredStateToJson, formatJson } from '../lambdas/engine/report/json.js';
import { auditReportToMarkdown } from '../lambdas/engine/report/markdown.js';
import { auditReportToSarif } from '../lambdas/engine/report/sarif.js';
import { renderAuditTable, renderDesiredTable } from '../lambdas/engine/report/table.js';
import type { AuditReport, DesiredState } from '../lambdas/engine/model.js';
import { UsageError } from './exit-codes.js';
import { TOOL_VERSION } from './version.js';

export const OUTPUT_FORMATS = ['table', 'json', 'sarif', 'markdown'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(text: string, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const format = text.toLowerCase() as OutputFormat;
  if (!allowed.includes(format)) throw new UsageError(`--format must be one of ${allowed.join(', ')}, got "${text}"`);
  return format;
}

export function writeAuditReport(
  report: AuditReport,
  format: OutputFormat,
  options: { color: boolean; revision?: string | undefined; title?: string },
  out: NodeJS.WritableStream = process.stdout,
): void {
  const title = options.title ? { title: options.title } : {};
  switch (format) {
    case 'json':
      out.write(formatJson(auditReportToJson(report)));
      break;
    case 'sarif':
      out.write(`${JSON.stringify(auditReportToSarif(report, { toolVersion: TOOL_VERSION, ...(options.revision ? { revision: options.revision } : {}) }), null, 2)}\n`);
      break;
    case 'markdown':
      out.write(withFinalNewline(auditReportToMarkdown(report, title)));
      break;
    case 'table':
      out.write(withFinalNewline(renderAuditTable(report, { color: options.color, width: terminalWidth(), ...title })));
      break;
  }
}

export function writeDesiredState(state: DesiredState, format: 'table' | 'json', color: boolean, out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'json') out.write(formatJson(desiredStateToJson(state)));
  else out.write(withFinalNewline(renderDesiredTable(state, { color, width: terminalWidth() })));
}

/** Renderers may or may not end their text with a newline; the terminal gets exactly one. */
export function withFinalNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

function terminalWidth(): number {
  return process.stdout.isTTY ? Math.max(80, Math.min(process.stdout.columns ?? 100, 160)) : 100;
}
