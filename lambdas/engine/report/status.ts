/**
 * The vocabulary every report shares: how serious each verdict is, in which order problems are
 * listed, what each status means and what to do about it, and the one-line evidence summary.
 * Table, Markdown, SARIF and docs/troubleshooting.md all say the same thing because they read it here.
 */
import type {
  AuditResult,
  DriftStatus,
  FindingCode,
  FindingSeverity,
  ImageEvidence,
  ProbeEvidence,
  SourceLocation,
  Verdict,
} from '../model.js';
import { VERDICTS } from '../model.js';

/**
 * `broken`: the image cannot be pulled as written. `attention`: it may not be pullable (credentials decide).
 * `unverified`: the registry did not answer; nothing is known about the image. `ok`: pullable.
 */
export type StatusClass = 'broken' | 'attention' | 'unverified' | 'ok';

export const STATUS_CLASS: Record<Verdict, StatusClass> = {
  OK: 'ok',
  TAG_MISSING: 'broken',
  REPO_MISSING: 'broken',
  PLATFORM_MISSING: 'broken',
  INVALID_REFERENCE: 'broken',
  PRIVATE: 'attention',
  NOT_VISIBLE_ANONYMOUSLY: 'attention',
  AUTH_FAILED: 'attention',
  RATE_LIMITED: 'unverified',
  UNREACHABLE: 'unverified',
  REGISTRY_NOT_ALLOWED: 'unverified',
};

/** Problems first, the ones that certainly break a pull before the ones that may; OK last. */
export const STATUS_ORDER: readonly Verdict[] = [
  'TAG_MISSING',
  'REPO_MISSING',
  'INVALID_REFERENCE',
  'PLATFORM_MISSING',
  'PRIVATE',
  'NOT_VISIBLE_ANONYMOUSLY',
  'AUTH_FAILED',
  'RATE_LIMITED',
  'UNREACHABLE',
  'REGISTRY_NOT_ALLOWED',
  'OK',
];

export function statusRank(status: Verdict): number {
  const rank = STATUS_ORDER.indexOf(status);
  return rank === -1 ? STATUS_ORDER.length : rank;
}

export function isProblem(result: Pick<AuditResult, 'status'>): boolean {
  return result.status !== 'OK';
}

/** Results in display order: status (problems first), then first app, then image. Does not mutate. */
export function sortResults(results: readonly AuditResult[]): AuditResult[] {
  return [...results].sort(
    (a, b) =>
      statusRank(a.status) - statusRank(b.status) ||
      (a.apps[0] ?? '').localeCompare(b.apps[0] ?? '') ||
      a.image.localeCompare(b.image),
  );
}

export interface StatusCounts {
  total: number;
  byClass: Record<StatusClass, number>;
  /** Every verdict, zeros included, in VERDICTS order. */
  byStatus: Record<Verdict, number>;
}

export function countStatuses(results: readonly AuditResult[]): StatusCounts {
  const byStatus = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
  const byClass: Record<StatusClass, number> = { broken: 0, attention: 0, unverified: 0, ok: 0 };
  for (const result of results) {
    byStatus[result.status] += 1;
    byClass[STATUS_CLASS[result.status]] += 1;
  }
  return { total: results.length, byStatus, byClass };
}

/** The location that decided the value: the last overlay entry applied, or the `image:` line itself. */
export function decidingLocation(locations: readonly SourceLocation[]): SourceLocation | undefined {
  return locations[locations.length - 1];
}

export function formatLocation(location: SourceLocation): string {
  return location.line > 0 ? `${location.file}:${location.line}` : location.file;
}

// ─── Status descriptions (rules) ─────────────────────────────────────────

export interface StatusDescription {
  /** A few words, e.g. "tag not found in the registry". */
  title: string;
  /** One sentence: what the status means. */
  meaning: string;
  /** What to do, as plain text. */
  remediation: string;
}

export const VERDICT_DESCRIPTIONS: Record<Verdict, StatusDescription> = {
  OK: {
    title: 'image can be pulled',
    meaning: 'The registry served the manifest for this reference.',
    remediation: 'Nothing to do.',
  },
  TAG_MISSING: {
    title: 'tag not found in the registry',
    meaning:
      'The repository exists but the registry answered 404 MANIFEST_UNKNOWN for this tag, with every manifest media type accepted.',
    remediation:
      'Push the tag from CI, or change the overlay or values entry that sets it to a tag that exists (see the tag hints: nearest names and most recent pushes).',
  },
  REPO_MISSING: {
    title: 'repository not found',
    meaning:
      'The registry (or the GitHub Packages API with a token that can see the owner\u2019s packages) says the repository does not exist: never pushed, deleted, or misspelt.',
    remediation:
      'Check the owner and repository name against the candidates listed, or push the image; a deleted ghcr.io package can be restored from the owner\u2019s package settings within 30 days.',
  },
  NOT_VISIBLE_ANONYMOUSLY: {
    title: 'not visible without credentials (missing or private)',
    meaning:
      'An anonymous request was refused (401/403). ghcr.io answers the same way for a package that does not exist and for a private one, so the audit cannot tell which without a credential.',
    remediation:
      'Run the audit with a classic PAT that has read:packages (an org member who can see the package) so the GitHub Packages API can settle it: private means the cluster needs an imagePullSecret, absent means the image was never pushed.',
  },
  PRIVATE: {
    title: 'private: the cluster needs a pull secret',
    meaning:
      'The image exists but is private: anonymous pulls are refused, the auditor\u2019s credential can read it.',
    remediation:
      'Give the workload an imagePullSecret for the registry (a classic PAT with read:packages for ghcr.io), or make the package public.',
  },
  AUTH_FAILED: {
    title: 'the credential was rejected',
    meaning:
      'The credential sent to the registry was refused: expired, revoked, not SSO-authorised, or of a kind the registry does not accept (fine-grained PATs and GitHub App tokens on ghcr.io).',
    remediation:
      'Renew the credential (a classic PAT with read:packages for ghcr.io, SSO-authorised for the org) in the auditor\u2019s configuration and in any imagePullSecret that holds the same token.',
  },
  PLATFORM_MISSING: {
    title: 'no manifest for the cluster\u2019s platform',
    meaning:
      'The tag exists but its index has no entry for one of the node platforms the audit was configured with.',
    remediation: 'Build and push the missing platform (e.g. docker buildx --platform linux/amd64,linux/arm64), or pin the workload to nodes of a platform that exists.',
  },
  INVALID_REFERENCE: {
    title: 'not a valid image reference',
    meaning:
      'The text is not a valid image reference (upper case, bad tag or digest, leftover template); a cluster rejects it as InvalidImageName before contacting any registry.',
    remediation: 'Fix the reference where it is written; registry paths must be lower case.',
  },
  RATE_LIMITED: {
    title: 'registry rate limit: not verified',
    meaning: 'The registry answered 429 TOOMANYREQUESTS; nothing is known about the image.',
    remediation: 'Run the audit again later or with credentials; this status never counts as missing.',
  },
  UNREACHABLE: {
    title: 'registry unreachable: not verified',
    meaning: 'The registry could not be reached (timeout, DNS, TLS or 5xx) after retries; nothing is known about the image.',
    remediation: 'Check network access from where the audit ran and the registry\u2019s status, then run it again.',
  },
  REGISTRY_NOT_ALLOWED: {
    title: 'registry not allowed: not verified',
    meaning:
      'The outbound policy refused to contact the registry, its token realm or a redirect (a loopback, private, link-local or metadata address that is not listed, or a host outside registries.allow); no connection was made and nothing is known about the image.',
    remediation:
      'If the registry is one you trust, list it in registries.allow (host globs) or configure it under registries; otherwise fix the reference that points there.',
  },
};

/** Drift states that say more than the verdict they come from. */
export const DRIFT_DESCRIPTIONS: Partial<Record<DriftStatus, StatusDescription>> = {
  NEVER_PUSHED: {
    title: 'never pushed',
    meaning: 'The desired image has not been found in any audit run so far: CI never pushed it.',
    remediation: 'Push the image from CI or correct the reference that asks for it.',
  },
  DISAPPEARED: {
    title: 'disappeared from the registry',
    meaning: 'An earlier audit saw this image; it is gone now (deleted, or a retention policy removed it).',
    remediation:
      'Restore the package version (ghcr.io keeps deleted versions for 30 days) or re-push it, and review retention policies that delete tags still in use.',
  },
};

export function describeVerdictOrDrift(status: Verdict, drift?: DriftStatus): StatusDescription {
  const fromDrift = drift ? DRIFT_DESCRIPTIONS[drift] : undefined;
  return fromDrift ?? VERDICT_DESCRIPTIONS[status];
}

export const FINDING_DESCRIPTIONS: Record<FindingCode, string> = {
  INVALID_REFERENCE: 'An image reference that is not valid.',
  UNRESOLVED_TEMPLATE: 'An image still holds a template or variable after every substitution the audit could make.',
  YAML_ERROR: 'Malformed YAML; the file was not read.',
  BINARY_FILE: 'A file expected to be text holds binary data.',
  NOT_UTF8: 'Text that is not valid UTF-8.',
  FILE_TOO_LARGE: 'A file over the size cap was skipped.',
  MISSING_FILE: 'A file or directory referenced by a kustomization, app or values list is absent.',
  KUSTOMIZE_CYCLE: 'Kustomizations include each other.',
  REMOTE_RESOURCE: 'A remote base, chart or git URL that cannot be resolved offline, or apps that read another repository.',
  UNSUPPORTED_GENERATOR: 'An ApplicationSet generator that needs a live cluster or SCM API.',
  UNRESOLVED_APP: 'An app whose source could not be located.',
  REVISION_UNAVAILABLE: 'An app\u2019s targetRevision cannot be read from this source.',
  REVISION_MISSING: 'An app\u2019s targetRevision does not exist: the controller cannot resolve it; the audited tree\u2019s images are shown, marked assumed.',
  REVISION_UNREADABLE: 'This source cannot read an app\u2019s targetRevision; the audited tree\u2019s images are shown, marked assumed.',
  HELM_NOT_RENDERED: 'A chart is involved; images come from values only, templates were not rendered.',
  UNREFERENCED: 'A kustomization, manifest directory or compose file that no app or deployer points at; its images are still audited.',
  INVALID_RESOURCE: 'A YAML document that is not a valid resource of its kind.',
  SOURCE_ERROR: 'The source could not be read in full.',
  LIMIT_EXCEEDED: 'A resolution cap was reached (the message names it); what lies beyond it was not resolved.',
  CI_NEVER_PUSHES_TAG: 'The CI workflows that push this image\u2019s repository can never push the desired tag.',
};

export const SEVERITY_ORDER: readonly FindingSeverity[] = ['error', 'warning', 'info'];

// ─── Evidence summary ─────────────────────────────────────────────────────

function describeProbe(label: string, probe: ProbeEvidence): string {
  const parts: string[] = [label];
  if (probe.http !== undefined) parts.push(String(probe.http));
  if (probe.code) parts.push(probe.code);
  if (probe.http === undefined && probe.error) parts.push(`error: ${probe.error}`);
  if (probe.stage === 'token' && probe.http !== undefined && probe.http !== 200) parts.push('(token)');
  if (probe.digest && (probe.http === undefined || probe.http < 300)) parts.push(shortDigest(probe.digest));
  return parts.join(' ');
}

export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

function describePackagesApi(evidence: NonNullable<ImageEvidence['packagesApi']>): string {
  const parts: string[] = [];
  if (evidence.visibility) parts.push(evidence.visibility);
  else if (evidence.http !== undefined) parts.push(String(evidence.http));
  if (evidence.tagFound === true) parts.push('tag found');
  if (evidence.tagFound === false) parts.push('tag not found');
  if (evidence.deletedVersionWithTag) {
    const when = evidence.deletedVersionWithTag.deletedAt ?? evidence.deletedVersionWithTag.updatedAt;
    parts.push(when ? `tag deleted ${when.slice(0, 10)}` : 'tag deleted');
  }
  return `pkg api: ${parts.length > 0 ? parts.join(', ') : 'no answer'}`;
}

/** `anon 403 DENIED (token) · auth 404 MANIFEST_UNKNOWN · pkg api: private, tag not found`; '' without evidence. */
export function summarizeEvidence(evidence: ImageEvidence): string {
  const parts: string[] = [];
  if (evidence.anonymous) parts.push(describeProbe('anon', evidence.anonymous));
  if (evidence.authenticated) parts.push(describeProbe('auth', evidence.authenticated));
  if (evidence.packagesApi) parts.push(describePackagesApi(evidence.packagesApi));
  const platforms = evidence.authenticated?.platforms ?? evidence.anonymous?.platforms;
  if (platforms && platforms.length > 0) parts.push(`platforms ${platforms.join(', ')}`);
  return parts.join(' \u00b7 ');
}

/** `nearest: latest · recent: 3f9c2e1, latest (of 12)` for TAG_MISSING; '' without tag hints. */
export function summarizeTagHints(evidence: ImageEvidence): string {
  const tags = evidence.tags;
  if (!tags) return '';
  const parts: string[] = [];
  if (tags.nearest.length > 0) parts.push(`nearest: ${tags.nearest.join(', ')}`);
  if (tags.recent.length > 0) parts.push(`recent: ${tags.recent.join(', ')}`);
  if (parts.length === 0) return '';
  return parts.join(' \u00b7 ') + (tags.total !== undefined ? ` (of ${tags.total} tags)` : '');
}

/** `.github/workflows/build.yml:24-26 (job image) pushes <commit sha>, latest`; '' when no workflow we understood pushes the image. */
export function summarizeCi(evidence: ImageEvidence): string {
  const ci = evidence.ci;
  if (!ci || ci.pushes.length === 0) return '';
  return ci.pushes
    .map((push) => {
      const where = push.endLine > push.startLine ? `${push.workflow}:${push.startLine}-${push.endLine}` : `${push.workflow}:${push.startLine}`;
      return `${push.repository ? `${push.repository}: ` : ''}${where} (job ${push.job}) pushes ${push.tags.join(', ')}`;
    })
    .join('; ');
}
