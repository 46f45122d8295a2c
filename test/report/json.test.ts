import { describe, expect, it } from 'vitest';
import { auditReportToJson, desiredStateToJson, formatJson } from '../../lambdas/engine/report/json.js';
import { buildAuditReport, buildDesiredState, INCIDENT_HINT } from './fixtures.js';

describe('auditReportToJson', () => {
  it('has exactly the documented top-level keys, in order', () => {
    expect(Object.keys(auditReportToJson(buildAuditReport()))).toEqual([
      'source',
      'startedAt',
      'durationMs',
      'summary',
      'results',
      'findings',
      'notes',
    ]);
  });

  it('leaves notes out when there are none rather than writing null', () => {
    const report = buildAuditReport();
    delete report.notes;
    expect(Object.keys(auditReportToJson(report))).not.toContain('notes');
  });

  it('describes each result with image, status, drift, apps, locations, evidence and hint', () => {
    const json = auditReportToJson(buildAuditReport());
    const incident = json.results.find((result) => result.image === 'ghcr.io/acme/auth-api:dev-latest');
    expect(incident && Object.keys(incident)).toEqual(['image', 'status', 'drift', 'apps', 'locations', 'evidence', 'hint']);
    expect(incident).toMatchObject({
      status: 'TAG_MISSING',
      drift: 'NEVER_PUSHED',
      apps: ['auth-api-dev'],
      locations: [
        { file: 'apps/auth-api/base/deployment.yaml', line: 21 },
        { file: 'apps/auth-api/overlays/dev/kustomization.yaml', line: 9 },
      ],
      hint: INCIDENT_HINT,
    });
    expect(incident?.evidence).toEqual({
      anonymous: { http: 403, code: 'DENIED', message: 'denied', stage: 'token', requests: 1 },
      authenticated: { http: 404, code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', stage: 'manifest', requests: 2 },
      packagesApi: { http: 200, visibility: 'private', tagFound: false },
      tags: { nearest: ['latest'], recent: ['3f9c2e1', 'latest'], total: 12 },
    });
  });

  it('omits drift when no history store took part', () => {
    const report = buildAuditReport();
    for (const result of report.results) delete result.drift;
    const json = auditReportToJson(report);
    expect(json.results.every((result) => !('drift' in result))).toBe(true);
    expect(Object.keys(json.summary)).not.toContain('byDrift');
  });

  it('counts every status in the summary, zeros included, and classes of problems', () => {
    const { summary } = auditReportToJson(buildAuditReport());
    expect(summary).toMatchObject({ total: 6, broken: 2, attention: 1, unverified: 1, ok: 2, findings: 3 });
    expect(summary.byStatus).toEqual({
      OK: 2,
      TAG_MISSING: 1,
      REPO_MISSING: 0,
      NOT_VISIBLE_ANONYMOUSLY: 0,
      PRIVATE: 1,
      AUTH_FAILED: 0,
      PLATFORM_MISSING: 0,
      INVALID_REFERENCE: 1,
      RATE_LIMITED: 1,
      UNREACHABLE: 0,
      REGISTRY_NOT_ALLOWED: 0,
    });
    expect(summary.byDrift).toEqual({ PRESENT: 2, UNVERIFIED: 1, INVALID_REFERENCE: 1, NEVER_PUSHED: 1, PRIVATE: 1 });
  });

  it('writes findings with file, line, code, severity, message and the hint only when there is one', () => {
    const { findings } = auditReportToJson(buildAuditReport());
    expect(Object.keys(findings[0] ?? {})).toEqual(['file', 'line', 'code', 'severity', 'message', 'hint']);
    expect(Object.keys(findings[1] ?? {})).toEqual(['file', 'line', 'code', 'severity', 'message']);
  });

  it('does not leak the desired-state entries into the audit JSON', () => {
    expect(JSON.stringify(auditReportToJson(buildAuditReport()))).not.toContain('"desired"');
  });

  it('formats as pretty JSON that parses back to the same value', () => {
    const json = auditReportToJson(buildAuditReport());
    const text = formatJson(json);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(json);
  });
});

describe('desiredStateToJson', () => {
  it('has exactly source, images, findings and notes', () => {
    expect(Object.keys(desiredStateToJson(buildDesiredState()))).toEqual(['source', 'images', 'findings', 'notes']);
  });

  it('writes each image with the app name as a string and the workload as an object', () => {
    const json = desiredStateToJson(buildDesiredState());
    const dev = json.images.find((entry) => entry.image === 'ghcr.io/acme/auth-api:dev-latest');
    expect(dev).toEqual({
      image: 'ghcr.io/acme/auth-api:dev-latest',
      written: 'ghcr.io/acme/auth-api:dev-latest',
      app: 'auth-api-dev',
      appKind: 'argocd-application',
      workload: { kind: 'Deployment', namespace: 'auth-dev', name: 'auth-api' },
      container: 'api',
      locations: [
        { file: 'apps/auth-api/base/deployment.yaml', line: 21 },
        { file: 'apps/auth-api/overlays/dev/kustomization.yaml', line: 9 },
      ],
    });
  });

  it('adds the reason for an invalid reference and leaves out a namespace that was not written', () => {
    const json = desiredStateToJson(buildDesiredState());
    const legacy = json.images.find((entry) => entry.written === 'ghcr.io/Acme/Legacy-Api:2.0');
    expect(legacy?.workload).toEqual({ kind: 'Deployment', name: 'legacy-api' });
    expect(legacy?.problem).toEqual({
      code: 'INVALID_REFERENCE',
      reason: 'repository path contains upper case (Acme/Legacy-Api)',
      suggestion: 'ghcr.io/acme/legacy-api:2.0',
    });
  });

  it('writes findings with the same keys as the audit report', () => {
    const json = desiredStateToJson(buildDesiredState());
    expect(json.findings.map((finding) => finding.code)).toEqual(['INVALID_REFERENCE', 'YAML_ERROR', 'HELM_NOT_RENDERED']);
    expect(Object.keys(json.findings[1] ?? {})).toEqual(['file', 'line', 'code', 'severity', 'message']);
  });
});
