/**
 * `--format json`: the machine-readable report. The key names below are a public contract that
 * other tools read (see model.ts); add keys if needed, never rename or remove them.
 * Keys are emitted in a fixed order and absent optional values are left out (never `null`).
 */
import type {
  AuditReport,
  CiEvidence,
  AuditResult,
  DesiredImage,
  DesiredState,
  DriftStatus,
  Finding,
  FindingCode,
  FindingSeverity,
  PackagesApiEvidence,
  ProbeEvidence,
  SourceDescription,
  SourceLocation,
  Verdict,
} from '../model.js';
import { countStatuses } from './status.js';

export interface LocationJson {
  file: string;
  line: number;
}

export interface FindingJson {
  file: string;
  line: number;
  code: FindingCode;
  severity: FindingSeverity;
  message: string;
  hint?: string;
}

export interface ProbeJson {
  http?: number;
  code?: string;
  message?: string;
  stage?: ProbeEvidence['stage'];
  digest?: string;
  mediaType?: string;
  platforms?: string[];
  error?: string;
  requests?: number;
}

export interface PackagesApiJson {
  http?: number;
  message?: string;
  visibility?: PackagesApiEvidence['visibility'];
  tagFound?: boolean;
  deletedVersionWithTag?: { id: number; deletedAt?: string; updatedAt?: string };
  ownerPackages?: string[];
}

export interface EvidenceJson {
  anonymous?: ProbeJson;
  authenticated?: ProbeJson;
  packagesApi?: PackagesApiJson;
  tags?: { nearest: string[]; recent: string[]; total?: number };
  candidates?: string[];
  ci?: CiJson;
  /** The source repository the ghcr.io package links to (Packages API `repository` or the image's source label). */
  sourceLink?: { repository: string; from: 'packages-api' | 'image-label'; tag?: string };
}

/** What CI can push to an image's repository (ci/): workflow locations and tag patterns. */
export interface CiPushJson {
  workflow: string;
  repository?: string;
  startLine: number;
  endLine: number;
  job: string;
  via: string;
  name: string;
  tags: string[];
  tagPushed?: boolean;
}

export interface CiJson {
  tagPushed?: boolean;
  pushes: CiPushJson[];
}

export interface AuditResultJson {
  image: string;
  status: Verdict;
  drift?: DriftStatus;
  apps: string[];
  locations: LocationJson[];
  evidence: EvidenceJson;
  hint: string;
  /** Every app desiring the image had its revision assumed (read from the audited tree). */
  revisionAssumed?: true;
}

export interface AuditSummaryJson {
  total: number;
  /** Images that cannot be pulled as written (TAG_MISSING, REPO_MISSING, INVALID_REFERENCE, PLATFORM_MISSING). */
  broken: number;
  /** Images whose pull depends on credentials (PRIVATE, NOT_VISIBLE_ANONYMOUSLY, AUTH_FAILED). */
  attention: number;
  /** Images the registry did not answer for (RATE_LIMITED, UNREACHABLE). */
  unverified: number;
  ok: number;
  /** Every verdict with its count, zeros included. */
  byStatus: Record<Verdict, number>;
  /** Drift states with their counts; present only when a history store took part. */
  byDrift?: Partial<Record<DriftStatus, number>>;
  findings: number;
}

export interface AuditReportJson {
  source: SourceDescription;
  startedAt: string;
  durationMs: number;
  summary: AuditSummaryJson;
  results: AuditResultJson[];
  findings: FindingJson[];
  notes?: string[];
  /** The part of the desired state that could not be read (the run is incomplete; history holds it). */
  unknown?: { apps: { name: string; cause: string }[]; files: string[]; whole?: true };
}

export interface DesiredImageJson {
  image: string;
  written: string;
  /** The app's name. */
  app: string;
  appKind: DesiredImage['app']['kind'];
  workload: { kind: string; namespace?: string; name: string };
  container: string;
  locations: LocationJson[];
  /** Why the reference is invalid; present only for invalid references. */
  problem?: { code: 'INVALID_REFERENCE' | 'UNRESOLVED_TEMPLATE'; reason: string; suggestion?: string };
  /** Which CI workflows push this repository with which tags; present when one we understood does. */
  ci?: CiJson;
  /** The revision the app asked for, when it is not the audited one. */
  revision?: string;
  /** The app's revision could not be read: the audited tree stood in for it. */
  revisionAssumed?: true;
}

export interface DesiredStateJson {
  source: SourceDescription;
  images: DesiredImageJson[];
  findings: FindingJson[];
  notes?: string[];
}

/** Copies the defined keys of `value`, in the order of `keys`. */
function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) {
    const field = value[key];
    if (field !== undefined) out[key] = Array.isArray(field) ? ([...field] as T[K]) : field;
  }
  return out;
}

function sourceToJson(source: SourceDescription): SourceDescription {
  return pick(source, ['kind', 'location', 'ref', 'commit']);
}

function locationToJson(location: SourceLocation): LocationJson {
  return { file: location.file, line: location.line };
}

export function findingToJson(finding: Finding): FindingJson {
  return pick(finding, ['file', 'line', 'code', 'severity', 'message', 'hint']);
}

const PROBE_KEYS = ['http', 'code', 'message', 'stage', 'digest', 'mediaType', 'platforms', 'error', 'requests'] as const;

function evidenceToJson(evidence: AuditResult['evidence']): EvidenceJson {
  const out: EvidenceJson = {};
  if (evidence.anonymous) out.anonymous = pick(evidence.anonymous, PROBE_KEYS);
  if (evidence.authenticated) out.authenticated = pick(evidence.authenticated, PROBE_KEYS);
  if (evidence.packagesApi) {
    const api = pick(evidence.packagesApi, ['http', 'message', 'visibility', 'tagFound', 'ownerPackages']);
    const deleted = evidence.packagesApi.deletedVersionWithTag;
    out.packagesApi = deleted
      ? { ...api, deletedVersionWithTag: pick(deleted, ['id', 'deletedAt', 'updatedAt']) }
      : api;
  }
  if (evidence.tags) out.tags = pick(evidence.tags, ['nearest', 'recent', 'total']);
  if (evidence.candidates) out.candidates = [...evidence.candidates];
  if (evidence.ci) out.ci = ciToJson(evidence.ci);
  if (evidence.sourceLink) out.sourceLink = pick(evidence.sourceLink, ['repository', 'from', 'tag']);
  return out;
}

function ciToJson(ci: CiEvidence): CiJson {
  return {
    ...(ci.tagPushed !== undefined ? { tagPushed: ci.tagPushed } : {}),
    pushes: ci.pushes.map((push) => pick(push, ['workflow', 'repository', 'startLine', 'endLine', 'job', 'via', 'name', 'tags', 'tagPushed'])),
  };
}

function resultToJson(result: AuditResult): AuditResultJson {
  return {
    image: result.image,
    status: result.status,
    ...(result.drift ? { drift: result.drift } : {}),
    apps: [...result.apps],
    locations: result.locations.map(locationToJson),
    evidence: evidenceToJson(result.evidence),
    hint: result.hint,
    ...(result.revisionAssumed ? { revisionAssumed: true as const } : {}),
  };
}

export function summarizeReport(report: Pick<AuditReport, 'results' | 'findings'>): AuditSummaryJson {
  const counts = countStatuses(report.results);
  const summary: AuditSummaryJson = {
    total: counts.total,
    broken: counts.byClass.broken,
    attention: counts.byClass.attention,
    unverified: counts.byClass.unverified,
    ok: counts.byClass.ok,
    byStatus: counts.byStatus,
    findings: report.findings.length,
  };
  const drifts = report.results.flatMap((result) => (result.drift ? [result.drift] : []));
  if (drifts.length > 0) {
    const byDrift: Partial<Record<DriftStatus, number>> = {};
    for (const drift of drifts) byDrift[drift] = (byDrift[drift] ?? 0) + 1;
    // keep `findings` last for readability
    const { findings, ...rest } = summary;
    return { ...rest, byDrift, findings };
  }
  return summary;
}

/** The audit report as a plain object; results and findings keep the report's order. */
export function auditReportToJson(report: AuditReport): AuditReportJson {
  const out: AuditReportJson = {
    source: sourceToJson(report.source),
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    summary: summarizeReport(report),
    results: report.results.map(resultToJson),
    findings: report.findings.map(findingToJson),
  };
  if (report.notes && report.notes.length > 0) out.notes = [...report.notes];
  if (report.unknown) {
    out.unknown = {
      apps: report.unknown.apps.map((app) => ({ ...app })),
      files: report.unknown.files.map((entry) => (entry.repo ? `${entry.repo}:${entry.file}` : entry.file)),
      ...(report.unknown.whole ? { whole: true as const } : {}),
    };
  }
  return out;
}

function desiredImageToJson(entry: DesiredImage): DesiredImageJson {
  const out: DesiredImageJson = {
    image: entry.image,
    written: entry.written,
    app: entry.app.name,
    appKind: entry.app.kind,
    workload: pick(entry.workload, ['kind', 'namespace', 'name']),
    container: entry.container,
    locations: entry.locations.map(locationToJson),
  };
  if (!entry.reference.ok) out.problem = pick(entry.reference.problem, ['code', 'reason', 'suggestion']);
  if (entry.ci) out.ci = ciToJson(entry.ci);
  if (entry.app.revision !== undefined) out.revision = entry.app.revision;
  if (entry.revisionAssumed) out.revisionAssumed = true;
  return out;
}

/** The desired state (what `image-drift desired` prints) as a plain object. */
export function desiredStateToJson(state: DesiredState): DesiredStateJson {
  const out: DesiredStateJson = {
    source: sourceToJson(state.source),
    images: state.images.map(desiredImageToJson),
    findings: state.findings.map(findingToJson),
  };
  if (state.notes && state.notes.length > 0) out.notes = [...state.notes];
  return out;
}

/** Pretty-printed JSON text with a trailing newline, as the CLI writes it. */
export function formatJson(value: AuditReportJson | DesiredStateJson): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
