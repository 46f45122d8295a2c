/**
 * The SARIF log is checked against the official SARIF 2.1.0 schema, vendored as
 * test/report/sarif-schema-2.1.0.json (oasis-tcs/sarif-spec, sarif-2.1/prose/sarif-schema-2.1.0.json at a560296,
 * the draft-07 copy also published on schemastore). Its `language` pattern is not valid under the `u` flag,
 * hence `unicodeRegExp: false`.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { auditReportToSarif, FINGERPRINT_KEY, type SarifLog, type SarifResult } from '../../lambdas/engine/report/sarif.js';
import { AUTH_API_BASE, AUTH_API_DEV_OVERLAY, buildAuditReport, LEGACY_LOCATION } from './fixtures.js';

const schema = JSON.parse(readFileSync(new URL('./sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ strict: false, unicodeRegExp: false, allErrors: true });
ajvFormats.default(ajv);
const validate = ajv.compile(schema);

function results(log: SarifLog): SarifResult[] {
  return log.runs[0]?.results ?? [];
}

function resultFor(log: SarifLog, image: string): SarifResult[] {
  return results(log).filter((result) => result.properties.image === image);
}

describe('auditReportToSarif', () => {
  it('produces a log the official SARIF 2.1.0 schema accepts', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    const valid = validate(JSON.parse(JSON.stringify(log)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check is able to fail: a result with an unknown level is rejected', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' }) as unknown as {
      runs: { results: { level: string }[] }[];
    };
    const first = log.runs[0]?.results[0];
    if (!first) throw new Error('no result');
    first.level = 'fatal';
    expect(validate(JSON.parse(JSON.stringify(log)))).toBe(false);
  });

  it('locates the incident at the overlay entry that set dev-latest, with the base image line as related location', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    const [incident, ...others] = resultFor(log, 'ghcr.io/acme/auth-api:dev-latest');
    expect(others).toHaveLength(0);
    expect(incident?.locations?.[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: AUTH_API_DEV_OVERLAY.file, uriBaseId: '%SRCROOT%' },
      region: { startLine: AUTH_API_DEV_OVERLAY.line },
    });
    expect(incident?.relatedLocations?.map((location) => location.physicalLocation)).toEqual([
      { artifactLocation: { uri: AUTH_API_BASE.file, uriBaseId: '%SRCROOT%' }, region: { startLine: AUTH_API_BASE.line } },
    ]);
    expect(incident?.message.text).toContain('(1)');
    expect(incident?.message.text).toContain('3f9c2e1');
  });

  it('reports the incident under the drift rule NEVER_PUSHED at error level, and the rule exists in the driver', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    const [incident] = resultFor(log, 'ghcr.io/acme/auth-api:dev-latest');
    const rules = log.runs[0]?.tool.driver.rules ?? [];
    expect(incident?.ruleId).toBe('image-drift/NEVER_PUSHED');
    expect(incident?.level).toBe('error');
    expect(rules[incident?.ruleIndex ?? -1]?.id).toBe('image-drift/NEVER_PUSHED');
  });

  it('uses the verdict as the rule when there is no history', () => {
    const report = buildAuditReport();
    for (const result of report.results) delete result.drift;
    const log = auditReportToSarif(report, { toolVersion: '0.1.0' });
    expect(resultFor(log, 'ghcr.io/acme/auth-api:dev-latest')[0]?.ruleId).toBe('image-drift/TAG_MISSING');
  });

  it('emits one result per problem image and none for OK images', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    const images = results(log).flatMap((result) => (typeof result.properties.image === 'string' ? [result.properties.image] : []));
    expect(images.sort()).toEqual([
      'docker.io/library/redis:7.2',
      'ghcr.io/Acme/Legacy-Api:2.0',
      'ghcr.io/acme/auth-api:dev-latest',
      'ghcr.io/acme/billing-worker:1.4.2',
    ]);
  });

  it('maps problem classes to levels: private is a warning, rate limited a note', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    expect(resultFor(log, 'ghcr.io/acme/billing-worker:1.4.2')[0]?.level).toBe('warning');
    expect(resultFor(log, 'docker.io/library/redis:7.2')[0]?.level).toBe('note');
  });

  it('emits one result per deciding location when several apps ask for the same image through different overlays', () => {
    const report = buildAuditReport();
    const devEntry = report.desired.find((entry) => entry.image === 'ghcr.io/acme/auth-api:dev-latest');
    if (!devEntry) throw new Error('fixture lost the dev entry');
    const stagingOverlay = { file: 'apps/auth-api/overlays/staging/kustomization.yaml', line: 11 };
    report.desired.push({ ...devEntry, app: { ...devEntry.app, name: 'auth-api-staging' }, locations: [AUTH_API_BASE, stagingOverlay] });
    const found = resultFor(auditReportToSarif(report, { toolVersion: '0.1.0' }), 'ghcr.io/acme/auth-api:dev-latest');
    expect(found.map((result) => result.locations?.[0]?.physicalLocation.artifactLocation.uri).sort()).toEqual([
      AUTH_API_DEV_OVERLAY.file,
      stagingOverlay.file,
    ]);
  });

  it('keeps fingerprints stable when unrelated lines move, and changes them for another image', () => {
    const before = resultFor(auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' }), 'ghcr.io/acme/auth-api:dev-latest')[0];
    const moved = buildAuditReport();
    for (const entry of moved.desired) entry.locations = entry.locations.map((location) => ({ ...location, line: location.line + 3 }));
    const after = resultFor(auditReportToSarif(moved, { toolVersion: '0.2.0' }), 'ghcr.io/acme/auth-api:dev-latest')[0];
    const other = resultFor(auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' }), 'ghcr.io/acme/billing-worker:1.4.2')[0];
    expect(after?.locations?.[0]?.physicalLocation.region?.startLine).toBe(AUTH_API_DEV_OVERLAY.line + 3);
    expect(after?.partialFingerprints[FINGERPRINT_KEY]).toBe(before?.partialFingerprints[FINGERPRINT_KEY]);
    expect(other?.partialFingerprints[FINGERPRINT_KEY]).not.toBe(before?.partialFingerprints[FINGERPRINT_KEY]);
  });

  it('reports findings as results, without repeating an invalid reference already reported as an image', () => {
    const log = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' });
    const findingResults = results(log).filter((result) => result.properties.code !== undefined);
    expect(findingResults.map((result) => result.ruleId).sort()).toEqual(['image-drift/HELM_NOT_RENDERED', 'image-drift/YAML_ERROR']);
    const invalid = results(log).filter((result) => result.ruleId === 'image-drift/INVALID_REFERENCE');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.locations?.[0]?.physicalLocation.region?.startLine).toBe(LEGACY_LOCATION.line);
    const yaml = findingResults.find((result) => result.ruleId === 'image-drift/YAML_ERROR');
    expect(yaml?.level).toBe('error');
    expect(findingResults.find((result) => result.ruleId === 'image-drift/HELM_NOT_RENDERED')?.level).toBe('note');
  });

  it('declares every rule with descriptions, help text and markdown, a default level and tags', () => {
    const rules = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' }).runs[0]?.tool.driver.rules ?? [];
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(rules.length);
    for (const id of ['image-drift/TAG_MISSING', 'image-drift/PRIVATE', 'image-drift/NOT_VISIBLE_ANONYMOUSLY', 'image-drift/DISAPPEARED', 'image-drift/YAML_ERROR']) {
      const rule = rules.find((candidate) => candidate.id === id);
      expect(rule, id).toBeDefined();
      expect(rule?.shortDescription.text.length).toBeGreaterThan(5);
      expect(rule?.fullDescription.text.length).toBeGreaterThan(10);
      expect(rule?.help.markdown).toContain('**');
      expect(rule?.properties.tags.length).toBeGreaterThan(0);
    }
    expect(rules.some((rule) => rule.id === 'image-drift/OK')).toBe(false);
  });

  it('records version control provenance from the GitHub source, or from options', () => {
    const fromSource = auditReportToSarif(buildAuditReport(), { toolVersion: '0.1.0' }).runs[0]?.versionControlProvenance;
    expect(fromSource).toEqual([
      { repositoryUri: 'https://github.com/acme/gitops', revisionId: '9b1f0c4d2e7a8b3c5d6e7f8091a2b3c4d5e6f708', branch: 'main' },
    ]);
    const local = buildAuditReport();
    local.source = { kind: 'local', location: '/srv/gitops' };
    expect(auditReportToSarif(local, { toolVersion: '0.1.0' }).runs[0]?.versionControlProvenance).toBeUndefined();
    const explicit = auditReportToSarif(local, { toolVersion: '0.1.0', repositoryUri: 'https://git.example.com/ops/gitops', revision: 'abc123' });
    expect(explicit.runs[0]?.versionControlProvenance).toEqual([{ repositoryUri: 'https://git.example.com/ops/gitops', revisionId: 'abc123' }]);
    expect(validate(JSON.parse(JSON.stringify(explicit)))).toBe(true);
  });

  it('encodes file paths as URI references and omits the region for a whole-file location', () => {
    const report = buildAuditReport();
    report.findings.push({ file: 'apps/my app/values.yaml', line: 0, code: 'FILE_TOO_LARGE', severity: 'warning', message: 'over 1 MiB' });
    const log = auditReportToSarif(report, { toolVersion: '0.1.0' });
    const large = results(log).find((result) => result.ruleId === 'image-drift/FILE_TOO_LARGE');
    expect(large?.locations?.[0]?.physicalLocation).toEqual({ artifactLocation: { uri: 'apps/my%20app/values.yaml', uriBaseId: '%SRCROOT%' } });
    expect(validate(JSON.parse(JSON.stringify(log)))).toBe(true);
  });
});
