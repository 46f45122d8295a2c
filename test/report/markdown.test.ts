import { describe, expect, it } from 'vitest';
import {
  auditReportToMarkdown,
  escapeMarkdown,
  GITHUB_COMMENT_LIMIT,
  inlineCode,
  markdownSummaryLine,
} from '../../lambdas/engine/report/markdown.js';
import { buildAuditReport, buildLargeReport } from './fixtures.js';

function tableRows(markdown: string, header: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(header);
  if (start === -1) return [];
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

/** Splits a GFM table row into cells, honouring `\|`. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

describe('auditReportToMarkdown', () => {
  it('opens with a summary line counting what cannot be pulled and what is OK', () => {
    const markdown = auditReportToMarkdown(buildAuditReport());
    expect(markdown.split('\n').slice(0, 3)).toEqual([
      '### image-drift audit',
      '',
      '\u274c 2 images cannot be pulled \u00b7 \u26a0\ufe0f 1 may need credentials \u00b7 \u23f3 1 not verified \u00b7 2 OK \u00b7 3 findings',
    ]);
  });

  it('lists each problem image in the table with status, image, app and the line that decides it', () => {
    const rows = tableRows(auditReportToMarkdown(buildAuditReport()), '| Status | Image | App | Where |');
    expect(rows).toHaveLength(4);
    expect(cells(rows[0] ?? '')).toEqual([
      '\u274c `TAG_MISSING` (NEVER_PUSHED)',
      '`ghcr.io/acme/auth-api:dev-latest`',
      'auth-api-dev',
      '`apps/auth-api/overlays/dev/kustomization.yaml:9` +1',
    ]);
    expect(rows.some((row) => row.includes('nginx'))).toBe(false);
  });

  it('gives every problem a collapsible block with evidence, tag hints and the hint', () => {
    const markdown = auditReportToMarkdown(buildAuditReport());
    const blocks = markdown.split('<details>').slice(1).map((block) => block.split('</details>')[0] ?? '');
    const incident = blocks.find((block) => block.includes('<code>ghcr.io/acme/auth-api:dev-latest</code>'));
    expect(incident).toBeDefined();
    expect(incident).toContain('**Hint:** Tag `dev-latest` is not in ghcr.io/acme/auth-api');
    expect(incident).toContain('`anon 403 DENIED (token) \u00b7 auth 404 MANIFEST_UNKNOWN \u00b7 pkg api: private, tag not found`');
    expect(incident).toContain('`nearest: latest \u00b7 recent: 3f9c2e1, latest (of 12 tags)`');
    expect(incident).toContain('`apps/auth-api/base/deployment.yaml:21` \u2192 `apps/auth-api/overlays/dev/kustomization.yaml:9`');
    expect(markdown.match(/<details>/g)?.length).toBe(markdown.match(/<\/details>/g)?.length);
  });

  it('folds findings and OK images away in their own blocks', () => {
    const markdown = auditReportToMarkdown(buildAuditReport());
    expect(markdown).toContain('<summary>3 findings while reading the repository</summary>');
    expect(tableRows(markdown, '| Severity | Code | Where | Message |')).toHaveLength(3);
    expect(markdown).toContain('<summary>\u2705 2 images OK</summary>');
    expect(markdown).toContain('- `docker.io/library/nginx:1.27` \u2014 billing');
  });

  it('says all is well when every image is OK', () => {
    const report = buildAuditReport();
    report.results = report.results.filter((result) => result.status === 'OK');
    report.findings = [];
    expect(markdownSummaryLine(report)).toBe('\u2705 2 OK');
    expect(auditReportToMarkdown(report)).not.toContain('| Status |');
  });

  it('escapes pipes and backticks so they cannot break the table', () => {
    const report = buildAuditReport();
    const incident = report.results.find((result) => result.status === 'TAG_MISSING');
    if (!incident) throw new Error('fixture lost its incident');
    incident.apps = ['team|auth `dev`'];
    incident.image = 'ghcr.io/acme/odd`name|x:1';
    const rows = tableRows(auditReportToMarkdown(report), '| Status | Image | App | Where |');
    const row = rows.find((candidate) => candidate.includes('odd'));
    expect(row).toBeDefined();
    expect(cells(row ?? '')).toHaveLength(4);
    expect(row).toContain('team\\|auth \\`dev\\`');
    expect(row).toContain('``ghcr.io/acme/odd`name\\|x:1``');
  });

  it('stays under GitHub\u2019s comment limit and says what it left out', () => {
    const markdown = auditReportToMarkdown(buildLargeReport(2000));
    expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(markdown).toMatch(/Truncated to fit GitHub's 65,536-character comment limit: .*left out/);
    expect(markdown.match(/<details>/g)?.length).toBe(markdown.match(/<\/details>/g)?.length);
    // Findings outrank evidence blocks: all three are still there.
    expect(tableRows(markdown, '| Severity | Code | Where | Message |')).toHaveLength(3);
  });

  it('does not truncate a report that fits', () => {
    expect(auditReportToMarkdown(buildLargeReport(20))).not.toContain('Truncated');
  });

  it('honours a smaller limit and keeps the summary line', () => {
    const markdown = auditReportToMarkdown(buildLargeReport(50), { maxLength: 4000 });
    expect(markdown.length).toBeLessThanOrEqual(4000);
    expect(markdown).toContain('\u274c 50 images cannot be pulled');
    expect(markdown).toContain('problem row');
  });

  it('adds a hidden marker for a bot to find its own comment', () => {
    expect(auditReportToMarkdown(buildAuditReport(), { marker: 'image-drift' }).startsWith('<!-- image-drift -->\n')).toBe(true);
  });
});

describe('escaping helpers', () => {
  it('escapes Markdown and HTML punctuation in prose', () => {
    expect(escapeMarkdown('a|b *c* <d> `e`')).toBe('a\\|b \\*c\\* &lt;d&gt; \\`e\\`');
  });

  it('fences inline code with more backticks than the text holds', () => {
    expect(inlineCode('plain')).toBe('`plain`');
    expect(inlineCode('a`b')).toBe('``a`b``');
    expect(inlineCode('`edge')).toBe('`` `edge ``');
  });
});
