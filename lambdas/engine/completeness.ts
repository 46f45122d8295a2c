/**
 * Fail closed: a run that could not verify something never reports success. An image without a verdict
 * (UNREACHABLE, RATE_LIMITED after retries, REGISTRY_NOT_ALLOWED by the outbound policy) makes the run
 * incomplete; the CLI exits 3 for it unless `--allow-unverified`, and every report says how many there were.
 * Pure: no I/O.
 */
import { truncatesSource } from './sources/relevance.js';
import { TRANSIENT_VERDICTS, type AuditResult, type Finding, type FindingCode, type UnknownScope, type Verdict } from './model.js';

/**
 * Findings (severity `error`) that mean part of the desired state could not be read: a file that cannot be parsed
 * (merge-conflict markers included) or decoded, a missing file or app path, a cycle or a cap, a revision that cannot
 * be read (`--revisions strict`), a remote chart that could not be fetched, a source read in part. The apps they
 * touch are *unknown*: history holds their images (never "no longer desired") and the run is incomplete, never clean.
 * A failed kustomize build is one of these too: its cause is among them, or it is reported as an INVALID_RESOURCE
 * error (kustomize refuses the input), also listed.
 */
export const INCOMPLETE_FINDING_CODES: readonly FindingCode[] = [
  'KUSTOMIZE_CYCLE',
  'LIMIT_EXCEEDED',
  'YAML_ERROR',
  'NOT_UTF8',
  'MISSING_FILE',
  'INVALID_RESOURCE',
  'REVISION_UNAVAILABLE',
  'REMOTE_RESOURCE',
  'SOURCE_ERROR',
];

/** True for a finding that makes the apps it touches unknown. */
export function makesUnknown(finding: Finding): boolean {
  return finding.severity === 'error' && INCOMPLETE_FINDING_CODES.includes(finding.code);
}

/**
 * The unknown part of a desired state: the files of the findings that make things unknown, and every app whose
 * render read one of them (or is declared in one). `renders`: each app rendered this run with the files it read
 * and the file it is declared in. Undefined when nothing is unknown.
 */
export function unknownScope(findings: readonly Finding[], renders: ReadonlyMap<string, ReadonlySet<string>>): UnknownScope | undefined {
  const causes = new Map<string, Finding>();
  let whole = false;
  for (const finding of findings) {
    if (!makesUnknown(finding)) continue;
    // The source stopped loading (an error, a total or archive cap): every file after it is missing, so every app is unknown.
    if (truncatesSource(finding)) whole = true;
    if (!causes.has(finding.file)) causes.set(finding.file, finding);
  }
  if (causes.size === 0) return undefined;
  const apps: UnknownScope['apps'] = [];
  const resolvedApps: string[] = [];
  for (const [name, files] of renders) {
    const cause = [...files].map((file) => causes.get(file)).find((finding) => finding !== undefined);
    if (cause) apps.push({ name, cause: `${cause.code} at ${cause.file}:${cause.line}` });
    else resolvedApps.push(name);
  }
  return {
    apps: apps.sort((a, b) => a.name.localeCompare(b.name)),
    files: [...causes.keys()].sort().map((file) => ({ file })),
    resolvedApps: resolvedApps.sort(),
    ...(whole ? { whole: true as const } : {}),
  };
}

/**
 * `the desired state could not be resolved in full (YAML_ERROR 1): 1 app is unknown (dev: YAML_ERROR at …): …`, or
 * undefined. The apps listed are those history holds; unknown files no app read are named when no app is.
 */
export function unresolvedNote(findings: readonly Finding[], unknown?: UnknownScope): string | undefined {
  const blocking = findings.filter(makesUnknown);
  if (blocking.length === 0 && !unknown) return undefined;
  const byCode = new Map<string, number>();
  for (const finding of blocking) byCode.set(finding.code, (byCode.get(finding.code) ?? 0) + 1);
  const detail = [...byCode].map(([code, count]) => `${code} ${count}`).join(', ');
  const apps = unknown?.apps ?? [];
  const listed = apps.slice(0, 8).map((app) => `${app.name}: ${app.cause}`).join('; ') + (apps.length > 8 ? `; and ${apps.length - 8} more` : '');
  const files = (unknown?.files ?? []).map((entry) => (entry.repo ? `${entry.repo}:${entry.file}` : entry.file));
  const scope = unknown?.whole
    ? 'the source was read in part, so every app is unknown'
    : apps.length > 0
      ? `${apps.length} ${apps.length === 1 ? 'app is' : 'apps are'} unknown (${listed})`
      : `unreadable: ${files.slice(0, 8).join(', ')}${files.length > 8 ? ` and ${files.length - 8} more` : ''}`;
  return `the desired state could not be resolved in full${detail ? ` (${detail})` : ''}: ${scope}; images behind it were not audited and history keeps their drift as it was, so the run is incomplete.`;
}

/** Results the registry gave no verdict for. */
export function unverifiedResults(results: readonly Pick<AuditResult, 'status'>[]): Pick<AuditResult, 'status'>[] {
  return results.filter((result) => TRANSIENT_VERDICTS.includes(result.status));
}

/**
 * `2 of 5 images were not verified (UNREACHABLE 1, RATE_LIMITED 1): nothing is known about them, so the run is
 * incomplete.` — or undefined when every image got a verdict.
 */
export function unverifiedNote(results: readonly Pick<AuditResult, 'status'>[]): string | undefined {
  const unverified = unverifiedResults(results);
  if (unverified.length === 0) return undefined;
  const byStatus = new Map<Verdict, number>();
  for (const result of unverified) byStatus.set(result.status, (byStatus.get(result.status) ?? 0) + 1);
  const detail = [...byStatus].map(([status, count]) => `${status} ${count}`).join(', ');
  const total = results.length;
  const verb = unverified.length === 1 ? 'was' : 'were';
  return `${unverified.length} of ${total} ${total === 1 ? 'image' : 'images'} ${verb} not verified (${detail}): nothing is known about ${unverified.length === 1 ? 'it' : 'them'}, so the run is incomplete.`;
}
