import { describe, expect, it } from 'vitest';
import { renderAuditTable, renderDesiredTable, wrapText } from '../../lambdas/engine/report/table.js';
import { buildAuditReport, buildDesiredState } from './fixtures.js';

const ANSI = /\u001b\[\d+m/;

function visibleWidth(line: string): number {
  return [...line.replace(/\u001b\[\d+m/g, '')].length;
}

function lineIndex(lines: string[], needle: string): number {
  return lines.findIndex((line) => line.includes(needle));
}

describe('renderAuditTable', () => {
  it('writes ANSI colour codes only when colour is asked for', () => {
    expect(renderAuditTable(buildAuditReport(), { color: false })).not.toMatch(ANSI);
    expect(renderAuditTable(buildAuditReport(), { color: true })).toMatch(ANSI);
  });

  it('shows the same text with and without colour', () => {
    const plain = renderAuditTable(buildAuditReport(), { color: false });
    const coloured = renderAuditTable(buildAuditReport(), { color: true });
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });

  it('keeps every line within 100 columns by default', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: true }).split('\n');
    const tooWide = lines.filter((line) => visibleWidth(line) > 100);
    expect(tooWide).toEqual([]);
  });

  it('lists problems before OK images, the certain ones first', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: false }).split('\n');
    const order = ['TAG_MISSING', 'INVALID_REFERENCE', 'PRIVATE', 'RATE_LIMITED', 'OK  '].map((status) =>
      lineIndex(lines, status.endsWith(' ') ? `\u2713 ${status}` : ` ${status} `),
    );
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('puts status, image and app on one line and the first location right under it', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: false }).split('\n');
    const row = lineIndex(lines, 'ghcr.io/acme/auth-api:dev-latest');
    expect(lines[row]).toMatch(/TAG_MISSING\s+ghcr\.io\/acme\/auth-api:dev-latest\s+auth-api-dev/);
    expect(lines[row + 1]).toMatch(/^\s+at\s+apps\/auth-api\/base\/deployment\.yaml:21 \u2192 apps\/auth-api\/overlays\/dev\/kustomization\.yaml:9$/);
  });

  it('summarises the evidence, the tag hints and the hint under a problem', () => {
    const text = renderAuditTable(buildAuditReport(), { color: false });
    expect(text).toContain('anon 403 DENIED (token) \u00b7 auth 404 MANIFEST_UNKNOWN \u00b7 pkg api: private, tag not found');
    expect(text).toContain('nearest: latest \u00b7 recent: 3f9c2e1, latest (of 12 tags)');
    expect(text).toMatch(/hint\s+Tag `dev-latest` is not in ghcr\.io\/acme\/auth-api/);
  });

  it('keeps an OK image on a single line when it fits, without evidence or hint', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: false }).split('\n');
    const row = lineIndex(lines, 'docker.io/library/nginx:1.27');
    expect(lines[row]).toMatch(/OK\s+docker\.io\/library\/nginx:1\.27\s+billing\s+apps\/billing\/web\.yaml:22$/);
    expect(lines[row + 1]?.trim()).toBe('');
  });

  it('has a findings section and a summary line with counts', () => {
    const text = renderAuditTable(buildAuditReport(), { color: false });
    expect(text).toContain('Findings (3)');
    expect(text).toMatch(/error\s+YAML_ERROR\s+apps\/payments\/values\.yaml:7/);
    expect(text).toContain('\u2717 6 images: 2 cannot be pulled \u00b7 1 may need credentials \u00b7 1 not verified \u00b7 2 OK \u00b7 3 findings');
    expect(text).toContain('TAG_MISSING 1 \u00b7 INVALID_REFERENCE 1 \u00b7 PRIVATE 1 \u00b7 RATE_LIMITED 1');
  });

  it('says so when every image is OK', () => {
    const report = buildAuditReport();
    report.results = report.results.filter((result) => result.status === 'OK');
    report.findings = [];
    const text = renderAuditTable(report, { color: false });
    expect(text).toContain('\u2713 2 images: 2 OK \u00b7 0 findings');
    expect(text).not.toContain('Findings');
  });

  it('breaks a location chain that does not fit before the arrow, so each line holds whole paths', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: false, width: 80 }).split('\n');
    const at = lines.findIndex((line) => /^\s+at\s+apps\/auth-api\/base\/deployment\.yaml:21$/.test(line));
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^\s+\u2192 apps\/auth-api\/overlays\/dev\/kustomization\.yaml:9$/);
  });

  it('wraps long hints to the requested width', () => {
    const lines = renderAuditTable(buildAuditReport(), { color: false, width: 80 }).split('\n');
    const hintLines = lines.filter((line) => /^\s+hint\s/.test(line));
    expect(hintLines.length).toBeGreaterThan(0);
    expect(hintLines.every((line) => visibleWidth(line) <= 80)).toBe(true);
  });
});

describe('renderDesiredTable', () => {
  it('groups images by app with workload, container, image and the chain of locations', () => {
    const text = renderDesiredTable(buildDesiredState(), { color: false });
    const lines = text.split('\n');
    const app = lines.findIndex((line) => line.startsWith('auth-api-dev'));
    expect(app).toBeGreaterThanOrEqual(0);
    expect(lines.slice(app, app + 3).join(' ')).toContain('argocd-application');
    const header = lines.findIndex((line, index) => index > app && /WORKLOAD\s+CONTAINER\s+IMAGE/.test(line));
    expect(header - app).toBeLessThanOrEqual(2);
    expect(lines[header + 1]).toMatch(/Deployment auth-dev\/auth-api\s+api\s+ghcr\.io\/acme\/auth-api:dev-latest/);
    expect(lines[header + 2]).toContain('apps/auth-api/base/deployment.yaml:21 \u2192 apps/auth-api/overlays/dev/kustomization.yaml:9');
  });

  it('marks invalid references with the reason and a suggestion', () => {
    const text = renderDesiredTable(buildDesiredState(), { color: false });
    expect(text).toContain('\u2717 ghcr.io/Acme/Legacy-Api:2.0');
    expect(text.replace(/\s+/g, ' ')).toContain('invalid repository path contains upper case (Acme/Legacy-Api); did you mean ghcr.io/acme/legacy-api:2.0?');
  });

  it('shows the normalised reference when it differs from what is written', () => {
    const lines = renderDesiredTable(buildDesiredState(), { color: false }).split('\n');
    const row = lineIndex(lines, ' nginx:1.27');
    expect(lines[row + 1]).toMatch(/resolves\s+docker\.io\/library\/nginx:1\.27/);
  });

  it('lists findings and a count line, in 100 columns, coloured only on request', () => {
    const plain = renderDesiredTable(buildDesiredState(), { color: false });
    expect(plain).toContain('Findings (3)');
    expect(plain).toContain('6 image entries in 5 apps \u00b7 1 invalid \u00b7 3 findings');
    expect(plain).not.toMatch(ANSI);
    const coloured = renderDesiredTable(buildDesiredState(), { color: true });
    expect(coloured).toMatch(ANSI);
    expect(coloured.split('\n').filter((line) => visibleWidth(line) > 100)).toEqual([]);
  });
});

describe('wrapText', () => {
  it('breaks at spaces and keeps words longer than the width whole', () => {
    expect(wrapText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('a-very-long-path/that/does/not/fit x', 10)).toEqual(['a-very-long-path/that/does/not/fit', 'x']);
  });
});
