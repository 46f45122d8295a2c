/**
 * `--format sarif`: a SARIF 2.1.0 log for GitHub code scanning.
 *
 * - One rule per problem status (`image-drift/TAG_MISSING`...; `image-drift/NEVER_PUSHED` and
 *   `image-drift/DISAPPEARED` when history says more than the verdict) and one per finding code.
 * - One result per (problem image × place that decides its value). The primary location is the LAST
 *   location of a desired entry, i.e. the overlay entry that set the value (or the `image:` line when
 *   nothing overrides it); the earlier ones (the base `image:` line) are relatedLocations.
 * - `partialFingerprints` hash the image and the deciding file (not the line, which moves with edits),
 *   so an alert survives unrelated edits and closes when the image is fixed.
 */
import { createHash } from 'node:crypto';
import type { AuditReport, AuditResult, DesiredImage, Finding, FindingCode, FindingSeverity, SourceLocation, Verdict } from '../model.js';
import { FINDING_CODES, VERDICTS } from '../model.js';
import {
  countStatuses,
  DRIFT_DESCRIPTIONS,
  FINDING_DESCRIPTIONS,
  formatLocation,
  STATUS_CLASS,
  summarizeEvidence,
  summarizeTagHints,
  VERDICT_DESCRIPTIONS,
  type StatusClass,
  type StatusDescription,
} from './status.js';
import { displaySafeDeep } from '../hygiene.js';

// ─── The subset of SARIF 2.1.0 we write ──────────────────────────────────

export type SarifLevel = 'none' | 'note' | 'warning' | 'error';

export interface SarifMessage {
  text: string;
  markdown?: string;
}

export interface SarifPhysicalLocation {
  artifactLocation: { uri: string; uriBaseId?: string };
  region?: { startLine: number };
}

export interface SarifLocation {
  id?: number;
  physicalLocation: SarifPhysicalLocation;
  message?: SarifMessage;
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: SarifMessage;
  fullDescription: SarifMessage;
  help: SarifMessage;
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[] };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  /** Absent only when the desired state recorded no location for the image. */
  locations?: SarifLocation[];
  relatedLocations?: SarifLocation[];
  partialFingerprints: Record<string, string>;
  properties: Record<string, unknown>;
}

export interface SarifRun {
  tool: {
    driver: {
      name: string;
      fullName: string;
      version: string;
      semanticVersion?: string;
      informationUri?: string;
      rules: SarifRule[];
    };
  };
  invocations: {
    executionSuccessful: boolean;
    startTimeUtc?: string;
    endTimeUtc?: string;
    toolExecutionNotifications?: { level: SarifLevel; message: SarifMessage }[];
  }[];
  versionControlProvenance?: { repositoryUri: string; revisionId?: string; branch?: string }[];
  columnKind: 'utf16CodeUnits';
  results: SarifResult[];
  properties: Record<string, unknown>;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

export interface SarifOptions {
  toolVersion: string;
  /** e.g. `https://github.com/acme/gitops`; derived from a GitHub source when not given. */
  repositoryUri?: string;
  /** Commit SHA the report describes; the source's commit when not given. */
  revision?: string;
  /** The tool's home page, shown by code scanning. */
  informationUri?: string;
}

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FINGERPRINT_KEY = 'imageDriftLocation/v1';
const SRCROOT = '%SRCROOT%';

// ─── Rules ────────────────────────────────────────────────────────────────

type ImageRuleKey = Exclude<Verdict, 'OK'> | 'NEVER_PUSHED' | 'DISAPPEARED';
type RuleKey = ImageRuleKey | FindingCode;

const CLASS_LEVEL: Record<StatusClass, SarifLevel> = { broken: 'error', attention: 'warning', unverified: 'note', ok: 'none' };
const SEVERITY_LEVEL: Record<FindingSeverity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note' };

const FINDING_DEFAULT_LEVEL: Record<FindingCode, SarifLevel> = {
  INVALID_REFERENCE: 'error',
  UNRESOLVED_TEMPLATE: 'warning',
  YAML_ERROR: 'error',
  BINARY_FILE: 'warning',
  NOT_UTF8: 'warning',
  FILE_TOO_LARGE: 'warning',
  MISSING_FILE: 'error',
  KUSTOMIZE_CYCLE: 'error',
  REMOTE_RESOURCE: 'note',
  UNSUPPORTED_GENERATOR: 'note',
  UNRESOLVED_APP: 'warning',
  REVISION_UNAVAILABLE: 'warning',
  REVISION_MISSING: 'error',
  REVISION_UNREADABLE: 'warning',
  HELM_NOT_RENDERED: 'note',
  UNREFERENCED: 'note',
  INVALID_RESOURCE: 'warning',
  SOURCE_ERROR: 'error',
  LIMIT_EXCEEDED: 'error',
  CI_NEVER_PUSHES_TAG: 'error',
};

export function ruleId(key: RuleKey): string {
  return `image-drift/${key}`;
}

function pascalCase(key: string): string {
  return key
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function imageRule(key: ImageRuleKey, description: StatusDescription, level: SarifLevel, tags: string[]): SarifRule {
  return {
    id: ruleId(key),
    name: pascalCase(key),
    shortDescription: { text: capitalise(description.title) },
    fullDescription: { text: description.meaning },
    help: {
      text: `${description.meaning}\n\nWhat to do: ${description.remediation}`,
      markdown: `**${capitalise(description.title)}** (\`${key}\`)\n\n${description.meaning}\n\n**What to do**\n\n${description.remediation}\n\nThe result is located at the line that decides the image: the overlay entry (kustomize \`images:\`, Argo CD \`kustomize.images\`, Helm values) when one sets it, otherwise the \`image:\` line itself.`,
    },
    defaultConfiguration: { level },
    properties: { tags },
  };
}

/** The CI verdict is about the image, not about a file the audit could not read: its help says so. */
function ciRule(code: 'CI_NEVER_PUSHES_TAG', meaning: string): SarifRule {
  const remediation =
    'Point the manifest at a tag the workflow pushes (the message lists its tag patterns), or change the workflow so that it pushes this tag. Waiting for CI will not help.';
  return {
    id: ruleId(code),
    name: pascalCase(code),
    shortDescription: { text: meaning.replace(/\.$/, '') },
    fullDescription: { text: meaning },
    help: {
      text: `${meaning}\n\nWhat to do: ${remediation}`,
      markdown: `**${pascalCase(code)}** (\`${code}\`)\n\n${meaning} Read from the GitHub Actions workflows offline, before anything is pushed.\n\n**What to do**\n\n${remediation}\n\nThe result is located at the line that decides the tag (the overlay entry when one sets it).`,
    },
    defaultConfiguration: { level: FINDING_DEFAULT_LEVEL[code] },
    properties: { tags: ['container-image', 'gitops', 'ci', 'broken'] },
  };
}

function buildRules(): { rules: SarifRule[]; index: Map<string, number> } {
  const rules: SarifRule[] = [];
  for (const verdict of VERDICTS) {
    if (verdict === 'OK') continue;
    const statusClass = STATUS_CLASS[verdict];
    rules.push(imageRule(verdict, VERDICT_DESCRIPTIONS[verdict], CLASS_LEVEL[statusClass], ['container-image', 'gitops', statusClass]));
  }
  for (const drift of ['NEVER_PUSHED', 'DISAPPEARED'] as const) {
    const description = DRIFT_DESCRIPTIONS[drift];
    if (description) rules.push(imageRule(drift, description, 'error', ['container-image', 'gitops', 'broken', 'drift']));
  }
  for (const code of FINDING_CODES) {
    if (rules.some((rule) => rule.id === ruleId(code))) continue; // INVALID_REFERENCE is both a verdict and a finding
    const meaning = FINDING_DESCRIPTIONS[code];
    if (code === 'CI_NEVER_PUSHES_TAG') {
      rules.push(ciRule(code, meaning));
      continue;
    }
    rules.push({
      id: ruleId(code),
      name: pascalCase(code),
      shortDescription: { text: meaning.replace(/\.$/, '') },
      fullDescription: { text: meaning },
      help: {
        text: `${meaning} The audit went on without it; images it would have contributed are not checked.`,
        markdown: `**${pascalCase(code)}** (\`${code}\`)\n\n${meaning}\n\nThe audit went on without it; images it would have contributed are not checked. The result message says what to do when there is something to do.`,
      },
      defaultConfiguration: { level: FINDING_DEFAULT_LEVEL[code] },
      properties: { tags: ['gitops', 'configuration'] },
    });
  }
  return { rules, index: new Map(rules.map((rule, position) => [rule.id, position])) };
}

/** The rule a problem image is reported under: the drift state when it says more than the verdict. */
export function imageRuleKey(result: Pick<AuditResult, 'status' | 'drift'>): ImageRuleKey | undefined {
  if (result.status === 'OK') return undefined;
  if (result.drift === 'DISAPPEARED' || result.drift === 'NEVER_PUSHED') return result.drift;
  return result.status;
}

// ─── Results ──────────────────────────────────────────────────────────────

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function physicalLocation(location: SourceLocation): SarifPhysicalLocation {
  const physical: SarifPhysicalLocation = { artifactLocation: { uri: encodePath(location.file), uriBaseId: SRCROOT } };
  if (location.line > 0) physical.region = { startLine: location.line };
  return physical;
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

function locationKey(location: SourceLocation): string {
  return `${location.file}:${location.line}`;
}

function matchesResult(entry: DesiredImage, image: string): boolean {
  if (entry.image === image || entry.written === image) return true;
  return entry.reference.ok && entry.reference.ref.canonical === image;
}

/**
 * Location chains (application order, deciding entry last) for one result: one per desired entry,
 * merged when entries are decided at the same line. Falls back to the result's own locations.
 */
function locationChains(result: AuditResult, desired: readonly DesiredImage[]): SourceLocation[][] {
  const chains = new Map<string, { related: SourceLocation[]; primary: SourceLocation }>();
  const entries = desired.filter((entry) => matchesResult(entry, result.image) && entry.locations.length > 0);
  const sources = entries.length > 0 ? entries.map((entry) => entry.locations) : [result.locations];
  for (const locations of sources) {
    const primary = locations[locations.length - 1];
    if (!primary) continue;
    const key = locationKey(primary);
    const chain = chains.get(key) ?? { related: [], primary };
    for (const location of locations.slice(0, -1)) {
      const seen = locationKey(location) === key || chain.related.some((kept) => locationKey(kept) === locationKey(location));
      if (!seen) chain.related.push(location);
    }
    chains.set(key, chain);
  }
  return [...chains.values()].map((chain) => [...chain.related, chain.primary]);
}

function imageMessage(result: AuditResult, description: StatusDescription, related: readonly SourceLocation[]): SarifMessage {
  const evidence = summarizeEvidence(result.evidence);
  const tags = summarizeTagHints(result.evidence);
  const title = `${result.image}: ${description.title}.`;
  // Hints sometimes open with the title's words; say them once.
  const sentences = result.hint.toLowerCase().startsWith(description.title.toLowerCase()) ? [`${result.image}: ${result.hint}`] : [title, result.hint];
  if (evidence) sentences.push(`Evidence: ${evidence}.`);
  if (tags) sentences.push(`Existing tags: ${tags}.`);
  if (result.apps.length > 0) sentences.push(`Apps: ${result.apps.join(', ')}.`);
  if (result.revisionAssumed) sentences.push("Revision assumed: the apps' revision could not be read; this is the audited tree's image.");
  if (related.length > 0) {
    // Embedded links ([text](id)) point at relatedLocations by id.
    const links = related.map((location, position) => `[${formatLocation(location).replace(/[[\]]/g, '')}](${position + 1})`);
    sentences.push(`This line sets the value; also written at ${links.join(', ')}.`);
  }
  return { text: sentences.join(' ') };
}

function imageResults(report: AuditReport, index: Map<string, number>): SarifResult[] {
  const results: SarifResult[] = [];
  for (const result of report.results) {
    const key = imageRuleKey(result);
    if (!key) continue;
    const id = ruleId(key);
    const description = key === 'NEVER_PUSHED' || key === 'DISAPPEARED' ? (DRIFT_DESCRIPTIONS[key] ?? VERDICT_DESCRIPTIONS[result.status]) : VERDICT_DESCRIPTIONS[result.status];
    const level = CLASS_LEVEL[STATUS_CLASS[result.status]];
    const chains = locationChains(result, report.desired);
    const properties: Record<string, unknown> = { image: result.image, status: result.status, apps: [...result.apps] };
    if (result.drift) properties.drift = result.drift;
    if (result.revisionAssumed) properties.revisionAssumed = true;

    if (chains.length === 0) {
      results.push({
        ruleId: id,
        ruleIndex: index.get(id) ?? -1,
        level,
        message: imageMessage(result, description, []),
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(result.image, '') },
        properties,
      });
      continue;
    }
    for (const chain of chains) {
      const primary = chain[chain.length - 1] as SourceLocation;
      const related = chain.slice(0, -1);
      const sarif: SarifResult = {
        ruleId: id,
        ruleIndex: index.get(id) ?? -1,
        level,
        message: imageMessage(result, description, related),
        locations: [{ physicalLocation: physicalLocation(primary) }],
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(result.image, primary.file) },
        properties,
      };
      if (related.length > 0) {
        sarif.relatedLocations = related.map((location, position) => ({
          id: position + 1,
          physicalLocation: physicalLocation(location),
          message: { text: position === 0 ? 'image written here' : 'also contributes to the image' },
        }));
      }
      results.push(sarif);
    }
  }
  return results;
}

function findingResults(findings: readonly Finding[], covered: Set<string>, index: Map<string, number>): SarifResult[] {
  const results: SarifResult[] = [];
  for (const finding of findings) {
    const id = ruleId(finding.code);
    // An invalid reference is already an image result at the same line.
    if (covered.has(`${id}\u0000${locationKey(finding)}`)) continue;
    results.push({
      ruleId: id,
      ruleIndex: index.get(id) ?? -1,
      level: SEVERITY_LEVEL[finding.severity],
      message: { text: finding.hint ? `${finding.message.replace(/\.?$/, '.')} ${finding.hint}` : finding.message },
      locations: [{ physicalLocation: physicalLocation(finding) }],
      partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(finding.code, finding.file, finding.message) },
      properties: { code: finding.code, severity: finding.severity },
    });
  }
  return results;
}

function isCommitSha(text: string | undefined): boolean {
  return text !== undefined && /^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(text);
}

export function auditReportToSarif(untrusted: AuditReport, options: SarifOptions): SarifLog {
  // Code scanning shows these texts to people: control characters and bidi overrides become visible escapes.
  const report = displaySafeDeep(untrusted);
  const { rules, index } = buildRules();
  const images = imageResults(report, index);
  const covered = new Set<string>();
  for (const result of images) {
    for (const location of [...(result.locations ?? []), ...(result.relatedLocations ?? [])]) {
      const { uri } = location.physicalLocation.artifactLocation;
      const line = location.physicalLocation.region?.startLine ?? 0;
      covered.add(`${result.ruleId}\u0000${decodeURIComponent(uri)}:${line}`);
    }
  }
  const findings = findingResults(report.findings, covered, index);

  const started = Date.parse(report.startedAt);
  const invocation: SarifRun['invocations'][number] = { executionSuccessful: true };
  if (!Number.isNaN(started)) {
    invocation.startTimeUtc = new Date(started).toISOString();
    invocation.endTimeUtc = new Date(started + report.durationMs).toISOString();
  }
  if (report.notes && report.notes.length > 0) {
    invocation.toolExecutionNotifications = report.notes.map((note) => ({ level: 'note', message: { text: note } }));
  }

  const counts = countStatuses(report.results);
  const run: SarifRun = {
    tool: {
      driver: {
        name: 'image-drift',
        fullName: 'image-drift-auditor',
        version: options.toolVersion,
        rules,
      },
    },
    invocations: [invocation],
    columnKind: 'utf16CodeUnits',
    results: [...images, ...findings],
    properties: {
      source: { ...report.source },
      summary: { total: counts.total, ...counts.byClass, byStatus: counts.byStatus, findings: report.findings.length },
    },
  };
  if (/^\d+\.\d+\.\d+(?:[-+].*)?$/.test(options.toolVersion)) run.tool.driver.semanticVersion = options.toolVersion;
  if (options.informationUri) run.tool.driver.informationUri = options.informationUri;

  const revision = options.revision ?? report.source.commit;
  const repositoryUri =
    options.repositoryUri ?? (report.source.kind === 'github' ? `https://github.com/${report.source.location}` : undefined);
  if (revision && repositoryUri) {
    const provenance: { repositoryUri: string; revisionId?: string; branch?: string } = { repositoryUri, revisionId: revision };
    if (report.source.ref && !isCommitSha(report.source.ref)) provenance.branch = report.source.ref;
    run.versionControlProvenance = [provenance];
  }

  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs: [run] };
}
