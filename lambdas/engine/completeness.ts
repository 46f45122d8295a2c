/**
 * Fail closed: a run that could not verify something never reports success. An image without a verdict
 * (UNREACHABLE, RATE_LIMITED after retries, REGISTRY_NOT_ALLOWED by the outbound policy) makes the run
 * incomplete; the CLI exits 3 for it unless `--allow-unverified`, and every report says how many there were.
 * Pure: no I/O.
 */
import { TRANSIENT_VERDICTS, type AuditResult, type Finding, type FindingCode, type Verdict } from './model.js';

/** Findings that mean the desired state itself could not be resolved: the run is incomplete, never clean. */
export const INCOMPLETE_FINDING_CODES: readonly FindingCode[] = ['KUSTOMIZE_CYCLE', 'LIMIT_EXCEEDED'];

/** `2 kustomizations could not be resolved (KUSTOMIZE_CYCLE 1, LIMIT_EXCEEDED 1): …`, or undefined. */
export function unresolvedNote(findings: readonly Finding[]): string | undefined {
  const blocking = findings.filter((finding) => finding.severity === 'error' && INCOMPLETE_FINDING_CODES.includes(finding.code));
  if (blocking.length === 0) return undefined;
  const byCode = new Map<string, number>();
  for (const finding of blocking) byCode.set(finding.code, (byCode.get(finding.code) ?? 0) + 1);
  const detail = [...byCode].map(([code, count]) => `${code} ${count}`).join(', ');
  return `the desired state could not be resolved in full (${detail}): images behind it were not audited, so the run is incomplete.`;
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
