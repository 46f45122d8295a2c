/**
 * Drift semantics: how a registry verdict moves an image's state, which
 * transitions are recorded, and which of them are announced. Pure: no I/O, no clock.
 */
import type { AuditResult, DriftStatus, ImageEvidence, ProbeEvidence } from '../model.js';
import type { AnnouncementKind, DriftEvent, EventKind, ImageState, MissedDrift, NotificationClaim } from './types.js';
import { pad } from './table-design.js';

export const DEFAULT_UNVERIFIED_AFTER_RUNS = 3;
/** Weekly, as the config default (`reminderIntervalHours`). */
export const DEFAULT_REMINDER_INTERVAL_HOURS = 168;
/** "Was briefly …" periods kept per image while they wait for an announcement. */
export const MAX_MISSED_DRIFTS = 5;

export interface DriftContext {
  now: Date;
  runId: string;
  commit?: string;
  /** Consecutive runs without a verdict after which an image is flagged UNVERIFIED. */
  unverifiedAfterRuns: number;
  /** `statusRuns` is counted up to this many runs (the alert policy's thresholds). Default 1: not counted. */
  statusRunsCap?: number;
}

export interface Evolution {
  /** The state to write (version already incremented), or undefined when nothing must be written. */
  next?: ImageState;
  events: DriftEvent[];
}

/** True for statuses that are an open drift (everything but PRESENT and "no verdict yet"). */
export function isOpenDrift(status: DriftStatus | undefined): status is Exclude<DriftStatus, 'PRESENT'> {
  return status !== undefined && status !== 'PRESENT';
}

/** The digest a verdict saw, authenticated probe first. */
export function digestOf(result: Pick<AuditResult, 'evidence'>): string | undefined {
  return result.evidence.authenticated?.digest ?? result.evidence.anonymous?.digest;
}

const LIST_CAP = 20;
const TEXT_CAP = 1000;

function boundProbe(p: ProbeEvidence | undefined): ProbeEvidence | undefined {
  if (!p) return undefined;
  return {
    ...p,
    ...(p.message !== undefined ? { message: p.message.slice(0, TEXT_CAP) } : {}),
    ...(p.error !== undefined ? { error: p.error.slice(0, TEXT_CAP) } : {}),
    ...(p.platforms ? { platforms: p.platforms.slice(0, 64) } : {}),
  };
}

/** Evidence trimmed for storage: lists and texts capped so that an item stays far below DynamoDB's 400 KB. */
export function boundEvidence(e: ImageEvidence): ImageEvidence {
  const anonymous = boundProbe(e.anonymous);
  const authenticated = boundProbe(e.authenticated);
  return {
    ...(anonymous ? { anonymous } : {}),
    ...(authenticated ? { authenticated } : {}),
    ...(e.packagesApi
      ? {
          packagesApi: {
            ...e.packagesApi,
            ...(e.packagesApi.message !== undefined ? { message: e.packagesApi.message.slice(0, TEXT_CAP) } : {}),
            ...(e.packagesApi.ownerPackages ? { ownerPackages: e.packagesApi.ownerPackages.slice(0, LIST_CAP) } : {}),
          },
        }
      : {}),
    ...(e.tags
      ? {
          tags: {
            nearest: e.tags.nearest.slice(0, LIST_CAP),
            recent: e.tags.recent.slice(0, LIST_CAP),
            ...(e.tags.total !== undefined ? { total: e.tags.total } : {}),
          },
        }
      : {}),
    ...(e.candidates ? { candidates: e.candidates.slice(0, LIST_CAP) } : {}),
    // What CI can push (the "CI never pushes this tag" provenance) and the package's source repository.
    ...(e.ci
      ? {
          ci: {
            ...(e.ci.tagPushed !== undefined ? { tagPushed: e.ci.tagPushed } : {}),
            pushes: e.ci.pushes.slice(0, LIST_CAP).map((push) => ({ ...push, tags: push.tags.slice(0, LIST_CAP).map((tag) => tag.slice(0, TEXT_CAP)) })),
          },
        }
      : {}),
    ...(e.sourceLink ? { sourceLink: e.sourceLink } : {}),
  };
}

/**
 * The drift status a verdict means for an image, or undefined for verdicts that say nothing
 * about the image (RATE_LIMITED, UNREACHABLE).
 */
export function classifyVerdict(
  result: Pick<AuditResult, 'status' | 'evidence' | 'pullAccess'>,
  prev: Pick<ImageState, 'firstSeenPresentAt' | 'verifiedStatus'> | undefined,
): DriftStatus | undefined {
  switch (result.status) {
    case 'OK':
      return 'PRESENT';
    case 'TAG_MISSING':
    case 'REPO_MISSING': {
      const seenBefore =
        prev?.firstSeenPresentAt !== undefined ||
        prev?.verifiedStatus === 'DISAPPEARED' ||
        result.evidence.packagesApi?.deletedVersionWithTag !== undefined;
      return seenBefore ? 'DISAPPEARED' : 'NEVER_PUSHED';
    }
    case 'RATE_LIMITED':
    case 'UNREACHABLE':
    case 'REGISTRY_NOT_ALLOWED':
      return undefined;
    case 'PRIVATE':
      // Private is fine for a workload that pulls with a secret; one that has none cannot pull it.
      return result.pullAccess?.workloadsWithout.length ? 'PULL_SECRET_MISSING' : 'PRIVATE';
    case 'PLATFORM_MISSING':
    case 'INVALID_REFERENCE':
    case 'AUTH_FAILED':
    case 'NOT_VISIBLE_ANONYMOUSLY':
      return result.status;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function statusReason(status: DriftStatus, result: AuditResult, prev: ImageState | undefined): string | undefined {
  if (status === 'NEVER_PUSHED') return 'not in the registry and never seen present';
  if (status === 'PULL_SECRET_MISSING') return `private, pulled without an imagePullSecret by ${result.pullAccess?.workloadsWithout.join('; ') ?? 'a workload'}`;
  if (status === 'DISAPPEARED') {
    if (prev?.firstSeenPresentAt) return `seen present since ${prev.firstSeenPresentAt}, now ${result.status}`;
    if (result.evidence.packagesApi?.deletedVersionWithTag) return 'a deleted package version carried the tag';
    return `previously disappeared, still ${result.status}`;
  }
  return undefined;
}

/** Applies one run's verdict for an image to its state. */
export function evolve(prev: ImageState | undefined, result: AuditResult, ctx: DriftContext): Evolution {
  const at = ctx.now.toISOString();
  const version = (prev?.version ?? 0) + 1;
  const events: DriftEvent[] = [];
  const next: ImageState = prev
    ? { ...prev }
    : {
        image: result.image,
        since: at,
        tracked: true,
        firstSeenAt: at,
        apps: [...result.apps],
        locations: [...result.locations],
        noVerdictRuns: 0,
        notifiedVersion: 0,
        statusVersion: 0,
        version: 0,
        lastRunId: ctx.runId,
        updatedAt: at,
      };
  const fresh = prev === undefined;
  const retracked = prev !== undefined && !prev.tracked;
  let dirty = fresh;
  let statusChanged = fresh;
  const record = (kind: EventKind, extra: Partial<DriftEvent>) => {
    events.push({
      image: result.image,
      kind,
      at,
      runId: ctx.runId,
      ...(ctx.commit !== undefined ? { commit: ctx.commit } : {}),
      apps: [...result.apps],
      version,
      ...extra,
    });
  };

  if (retracked) {
    next.tracked = true;
    delete next.untrackedAt;
    dirty = true;
    statusChanged = true;
  }
  if (!sameJson(next.apps, result.apps) || !sameJson(next.locations, result.locations)) {
    next.apps = [...result.apps];
    next.locations = [...result.locations];
    dirty = true;
  }

  const status = classifyVerdict(result, prev);
  const firstKind: EventKind = fresh || retracked ? 'TRACKED' : 'STATUS_CHANGED';
  if (status === undefined) {
    const runs = Math.min(next.noVerdictRuns + 1, ctx.unverifiedAfterRuns);
    if (runs !== next.noVerdictRuns) {
      next.noVerdictRuns = runs;
      dirty = true;
    }
    if (next.noVerdictSince === undefined) {
      next.noVerdictSince = at;
      dirty = true;
    }
    if (runs >= ctx.unverifiedAfterRuns && next.status !== 'UNVERIFIED') {
      const from = next.status;
      if (from !== undefined) {
        next.statusBeforeUnverified = from;
        next.sinceBeforeUnverified = next.since;
      } else {
        delete next.statusBeforeUnverified;
        delete next.sinceBeforeUnverified;
      }
      next.status = 'UNVERIFIED';
      next.since = at;
      next.verdict = result.status;
      next.evidence = boundEvidence(result.evidence);
      next.hint = result.hint;
      dirty = true;
      statusChanged = true;
      record(firstKind, {
        ...(from !== undefined ? { from } : {}),
        to: 'UNVERIFIED',
        verdict: result.status,
        evidence: boundEvidence(result.evidence),
        reason: `no verdict for ${runs} consecutive runs (${result.status})`,
      });
    } else if (fresh || retracked) {
      record('TRACKED', {
        ...(next.status !== undefined ? { from: next.status, to: next.status } : {}),
        verdict: result.status,
        reason: retracked ? 'desired again; no verdict this run' : `first seen; no verdict yet (${result.status})`,
      });
    }
  } else {
    if (next.noVerdictRuns !== 0 || next.noVerdictSince !== undefined) {
      next.noVerdictRuns = 0;
      delete next.noVerdictSince;
      dirty = true;
    }
    if (result.status === 'OK' && next.firstSeenPresentAt === undefined) {
      next.firstSeenPresentAt = at;
      dirty = true;
    }
    const digest = digestOf(result);
    if (result.status === 'OK' && digest !== undefined && digest !== next.lastDigest) {
      if (next.lastDigest !== undefined) {
        record('DIGEST_CHANGED', {
          ...(next.status !== undefined ? { from: next.status } : {}),
          to: status,
          verdict: result.status,
          previousDigest: next.lastDigest,
          digest,
          reason: 'the tag now points at another digest',
        });
      }
      next.lastDigest = digest;
      next.lastDigestAt = at;
      dirty = true;
    }
    if (status !== next.status) {
      const from = next.status;
      // The registry answers again with the status the image had before the outage: the drift (or its
      // absence) did not restart, so `since` goes back to when that status began.
      const unchanged = from === 'UNVERIFIED' && status === next.statusBeforeUnverified && !retracked;
      const reason = unchanged ? 'verified again' : statusReason(status, result, prev);
      next.status = status;
      next.statusRuns = 1;
      next.since = unchanged ? (next.sinceBeforeUnverified ?? at) : at;
      next.verdict = result.status;
      next.evidence = boundEvidence(result.evidence);
      next.hint = result.hint;
      dirty = true;
      statusChanged = true;
      record(firstKind, {
        ...(from !== undefined ? { from } : {}),
        to: status,
        verdict: result.status,
        evidence: boundEvidence(result.evidence),
        ...(digest !== undefined ? { digest } : {}),
        ...(reason !== undefined ? { reason } : retracked ? { reason: 'desired again' } : {}),
      });
    } else {
      if (retracked) record('TRACKED', { from: status, to: status, verdict: result.status, reason: 'desired again' });
      const runs = next.statusRuns ?? 1;
      if (runs < (ctx.statusRunsCap ?? 1)) {
        next.statusRuns = runs + 1;
        dirty = true;
      }
    }
    if (next.verifiedStatus !== status) {
      next.verifiedStatus = status;
      dirty = true;
    }
  }

  if (!dirty) return { events: [] };
  if (statusChanged && prev) rememberMissed(prev, next, at);
  return { next: finish(next, version, statusChanged, ctx), events };
}

/**
 * A drift subscribers were never told about ends (SNS was down, or its message was still queued): keep it, so
 * that the next announcement says the image "was briefly" in that state instead of saying nothing.
 */
function rememberMissed(prev: ImageState, next: ImageState, at: string): void {
  if (announcementKind(prev) !== 'new' || !isOpenDrift(prev.status) || prev.status === 'UNVERIFIED') return;
  const missed: MissedDrift = {
    status: prev.status,
    since: prev.since,
    until: at,
    ...(prev.verdict !== undefined ? { verdict: prev.verdict } : {}),
  };
  next.missed = [...(prev.missed ?? []), missed].slice(-MAX_MISSED_DRIFTS);
}

/** The image left the desired state: it stops being tracked and any open drift closes as "no longer desired". */
export function untrack(prev: ImageState, ctx: DriftContext): Evolution {
  if (!prev.tracked) return { events: [] };
  const at = ctx.now.toISOString();
  const version = prev.version + 1;
  const next: ImageState = { ...prev, tracked: false, untrackedAt: at };
  rememberMissed(prev, next, at);
  const event: DriftEvent = {
    image: prev.image,
    kind: 'UNTRACKED',
    ...(prev.status !== undefined ? { from: prev.status } : {}),
    at,
    runId: ctx.runId,
    ...(ctx.commit !== undefined ? { commit: ctx.commit } : {}),
    apps: [...prev.apps],
    reason: isOpenDrift(prev.status) ? `no longer desired; ${prev.status} drift closed without a fix` : 'no longer desired',
    version,
  };
  return { next: finish(next, version, true, ctx), events: [event] };
}

function finish(next: ImageState, version: number, statusChanged: boolean, ctx: DriftContext): ImageState {
  next.version = version;
  next.lastRunId = ctx.runId;
  next.updatedAt = ctx.now.toISOString();
  if (statusChanged) {
    next.statusVersion = version;
    if (announcementKind(next) === undefined) {
      // Nothing worth saying (first seen present, a drift that came and went unannounced...): settle it now.
      next.notifiedStatus = effectiveStatus(next);
      next.notifiedVersion = version;
    }
  }
  return next;
}

/** What subscribers should currently believe about the image. */
export function effectiveStatus(state: Pick<ImageState, 'tracked' | 'status'>): DriftStatus | 'UNTRACKED' | undefined {
  return state.tracked ? state.status : 'UNTRACKED';
}

/** The announcement a state change still owes subscribers, if any (reminders excluded). */
export function announcementKind(
  state: Pick<
    ImageState,
    'tracked' | 'status' | 'notifiedStatus' | 'notifiedVersion' | 'statusVersion' | 'statusBeforeUnverified' | 'missed'
  >,
): Exclude<AnnouncementKind, 'reminder'> | undefined {
  if (state.notifiedVersion >= state.statusVersion) return undefined;
  const kind = changeKind(state);
  // Nothing else to say, but a drift came and went unannounced: say that.
  return kind ?? ((state.missed?.length ?? 0) > 0 ? 'briefly' : undefined);
}

function changeKind(
  state: Pick<ImageState, 'tracked' | 'status' | 'notifiedStatus' | 'statusBeforeUnverified'>,
): Exclude<AnnouncementKind, 'reminder' | 'briefly'> | undefined {
  const told = state.notifiedStatus;
  const toldDrift = told !== undefined && told !== 'UNTRACKED' && told !== 'PRESENT';
  if (!state.tracked) return toldDrift ? 'no-longer-desired' : undefined;
  const s = state.status;
  // Subscribers were told UNVERIFIED; the registry now confirms the status from before the outage.
  if (told === 'UNVERIFIED' && s !== undefined && s !== 'UNVERIFIED' && s === state.statusBeforeUnverified) {
    return 'verified';
  }
  if (!isOpenDrift(s)) return toldDrift ? 'resolved' : undefined;
  if (s === 'UNVERIFIED') return told === 'UNVERIFIED' ? undefined : 'unverified';
  return told === s ? undefined : 'new';
}

export interface PendingAnnouncement {
  kind: AnnouncementKind;
  claim: NotificationClaim;
}

/** The announcement owed for a state at `now`: a change not yet announced, or a reminder that is due. */
export function pendingAnnouncement(
  state: ImageState,
  now: Date,
  reminderIntervalMs: number,
): PendingAnnouncement | undefined {
  const kind = announcementKind(state);
  if (kind !== undefined) {
    return { kind, claim: { image: state.image, key: `${pad(state.statusVersion)}#${kind}` } };
  }
  if (
    state.tracked &&
    isOpenDrift(state.status) &&
    state.status !== 'UNVERIFIED' &&
    state.notifiedStatus === state.status &&
    state.notifiedVersion >= state.statusVersion &&
    state.notifiedAt !== undefined &&
    reminderIntervalMs > 0 &&
    now.getTime() - Date.parse(state.notifiedAt) >= reminderIntervalMs
  ) {
    return {
      kind: 'reminder',
      claim: { image: state.image, key: `${pad(state.statusVersion)}#reminder#${state.notifiedAt}` },
    };
  }
  return undefined;
}
