/**
 * Types of the drift history: the per-image state, the events recorded on
 * transitions, the per-run summary and the store interface. No I/O here.
 */
import type { DriftStatus, ImageEvidence, SourceLocation, Verdict } from '../model.js';

/** Current state of one image. One item per image (pk `IMG#<image>`, sk `STATE`). */
export interface ImageState {
  image: string;
  /** Drift status after the last verdict; undefined until a run gave a verdict. */
  status?: DriftStatus;
  /** The last status that came from a verdict (never UNVERIFIED). */
  verifiedStatus?: DriftStatus;
  /** When the current status began (ISO 8601). */
  since: string;
  /**
   * Status and `since` the image had when it last became UNVERIFIED (absent when it had no status yet).
   * Kept after the registry answers again, until the next outage: they word the recovery announcement
   * ("verified again" when unchanged) and restore `since` when the status did not change.
   */
  statusBeforeUnverified?: DriftStatus;
  sinceBeforeUnverified?: string;
  /** False once the image left the desired state ("no longer desired"). */
  tracked: boolean;
  untrackedAt?: string;
  firstSeenAt: string;
  /** When a run first found the image present (OK); undefined if never. */
  firstSeenPresentAt?: string;
  /** Digest last seen and when it was first seen with that digest (written only when it changes). */
  lastDigest?: string;
  lastDigestAt?: string;
  /** Verdict, evidence and hint that produced the current status (written on transitions only). */
  verdict?: Verdict;
  evidence?: ImageEvidence;
  hint?: string;
  apps: string[];
  locations: SourceLocation[];
  /** Consecutive runs without a verdict (RATE_LIMITED, UNREACHABLE), capped at the UNVERIFIED threshold. */
  noVerdictRuns: number;
  /**
   * Consecutive runs whose verdict gave the current status, counted up to the alert policy's largest
   * "after N runs" threshold (NOT_VISIBLE_ANONYMOUSLY). Absent in states written before it existed.
   */
  statusRuns?: number;
  noVerdictSince?: string;
  /** Last state announced to subscribers ('UNTRACKED' once "no longer desired" was announced). */
  notifiedStatus?: DriftStatus | 'UNTRACKED';
  notifiedAt?: string;
  /** Outbox message that last told subscribers about this image (proof that it was delivered). */
  notifiedBy?: string;
  /** statusVersion that was last announced (or deliberately not announced). */
  notifiedVersion: number;
  /** Version at which the status (or tracked flag) last changed: identity of an announcement. */
  statusVersion: number;
  /**
   * Write-ahead journal: the events of transitions whose event items may not be written yet. Stored in the
   * same PutItem as the transition (one item is atomic), copied to event items afterwards and then cleared;
   * a run that finds a journal (left by a crash) writes its events again (their keys are deterministic).
   */
  journal?: DriftEvent[];
  /**
   * Drifts that began and ended before subscribers were told (SNS was down, or the announcement was still
   * queued): carried by the next announcement as "was briefly …" lines, then cleared. At most MAX_MISSED_DRIFTS.
   */
  missed?: MissedDrift[];
  /** Optimistic-locking version, +1 on every write. 0 = not stored yet. */
  version: number;
  lastRunId: string;
  updatedAt: string;
}

/** A drift status that began and ended unannounced. */
export interface MissedDrift {
  status: DriftStatus;
  since: string;
  until: string;
  verdict?: Verdict;
}

export type EventKind = 'TRACKED' | 'STATUS_CHANGED' | 'DIGEST_CHANGED' | 'UNTRACKED';

/** One recorded transition. */
export interface DriftEvent {
  image: string;
  kind: EventKind;
  from?: DriftStatus;
  to?: DriftStatus;
  /** ISO time of the run that recorded it. */
  at: string;
  runId: string;
  commit?: string;
  apps: string[];
  verdict?: Verdict;
  evidence?: ImageEvidence;
  previousDigest?: string;
  digest?: string;
  /** Human wording, e.g. "no longer desired", "no verdict for 3 consecutive runs". */
  reason?: string;
  /** State version this event produced: with image and time, the event's identity. */
  version: number;
}

/** A transition as returned by trackDrift (same shape as the recorded event). */
export type Transition = DriftEvent;

export interface RunSummary {
  runId: string;
  repository: string;
  commit?: string;
  startedAt: string;
  durationMs: number;
  counts: Partial<Record<DriftStatus | 'UNKNOWN', number>>;
  images: number;
  transitions: number;
  errors: string[];
  notification?: { sent: boolean; messageIds: string[]; error?: string };
  /** TTL, epoch seconds. */
  expiresAt: number;
}

export type AnnouncementKind = 'new' | 'resolved' | 'reminder' | 'unverified' | 'verified' | 'no-longer-desired' | 'briefly';

/** Identity of one announcement, claimed (conditional write) before it is published. */
export interface NotificationClaim {
  image: string;
  /** `<statusVersion>#<kind>` or `<statusVersion>#reminder#<notifiedAt>`. */
  key: string;
}

export interface EventQuery {
  image?: string;
  app?: string;
  status?: DriftStatus;
  since?: Date;
  until?: Date;
  limit?: number;
}

/** One announcement carried by an outbox message. */
export interface OutboxChange {
  image: string;
  /** The claim key (`<statusVersion>#<kind>`...): with the image, the announcement's identity. */
  key: string;
  statusVersion: number;
  kind: AnnouncementKind;
  /** What subscribers believe once the message is delivered. */
  status: DriftStatus | 'UNTRACKED';
  since: string;
  untracked: boolean;
  /** The "was briefly" periods the message carries. */
  briefly?: MissedDrift[];
}

export type OutboxStatus = 'pending' | 'sent' | 'settled' | 'superseded';

/**
 * A rendered SNS message, stored before it is published (the outbox). Its id is derived from the announcements it
 * carries, so a retried run composes the same id; it goes out as the `dedupId` message attribute.
 */
export interface OutboxMessage {
  id: string;
  status: OutboxStatus;
  subject: string;
  /** The MessageStructure json body, exactly as published. */
  message: string;
  attributes: Record<string, { DataType: 'String' | 'String.Array'; StringValue: string }>;
  changes: OutboxChange[];
  runId: string;
  createdAt: string;
  /** Publish attempts over all runs. */
  attempts: number;
  /** True once an attempt ended without SNS's answer (the message may have been delivered). */
  maybeDelivered: boolean;
  lastError?: string;
  /** A run publishing it holds it until then (ISO). */
  leaseUntil?: string;
  snsMessageId?: string;
  sentAt?: string;
}

export type ClaimOutcome = { status: 'sent'; messageIds: string[] } | { status: 'released'; error: string };

/** What trackDrift needs from storage. DynamoHistoryStore is the implementation. */
export interface HistoryStore {
  /** Every state that is tracked or still has an announcement pending (eventually consistent read is fine). */
  loadActiveStates(): Promise<ImageState[]>;
  /** Strongly consistent read of one state. */
  getState(image: string): Promise<ImageState | undefined>;
  /**
   * Writes `next` (whose version is already incremented) if the stored version is still `next.version - 1`
   * (absent when `next.version === 1`). Returns false on a version conflict.
   */
  putState(next: ImageState): Promise<boolean>;
  /**
   * Removes the journal of the state at `version` once its events are stored (no version bump: a concurrent
   * writer that carried the journal forward only writes those events again). False when the state moved on.
   */
  clearJournal(state: ImageState): Promise<boolean>;
  /** Records that the announcement of `statusVersion` was sent; false when the status moved on since. */
  markNotified(
    image: string,
    statusVersion: number,
    notified: { status: DriftStatus | 'UNTRACKED'; at: string; untracked: boolean; by?: string },
  ): Promise<boolean>;
  appendEvents(events: DriftEvent[]): Promise<void>;
  putRun(summary: RunSummary): Promise<void>;
  /** Outbox messages not settled yet (pending, or sent with states still to mark), oldest first. */
  loadOpenOutbox(): Promise<OutboxMessage[]>;
  /** Stores a new outbox message (or over a superseded one with its id); false when one with that id is in use. */
  putOutboxMessage(message: OutboxMessage): Promise<boolean>;
  getOutboxMessage(id: string): Promise<OutboxMessage | undefined>;
  /**
   * Claims each announcement for outbox message `outboxId` (conditional writes: a claim held by another message
   * is not taken); result[i] is true when claim i now belongs to this message.
   */
  claimForOutbox(claims: NotificationClaim[], outboxId: string, now: Date): Promise<boolean[]>;
  /** Gives the claims of `outboxId` back (it was superseded before it went out). */
  releaseClaims(claims: NotificationClaim[], outboxId: string, now: Date): Promise<void>;
  /** Takes a pending message for publishing until `now + leaseMs` and counts the attempt; false when another run holds it. */
  leaseOutboxMessage(id: string, runId: string, now: Date, leaseMs: number): Promise<boolean>;
  /** Records a failed attempt and frees the lease. */
  recordPublishFailure(id: string, failure: { error: string; maybeDelivered: boolean }): Promise<void>;
  /** SNS accepted the message. */
  markOutboxSent(id: string, snsMessageId: string, now: Date): Promise<void>;
  /** Takes the message out of the open outbox: its states are marked ('settled'), or it never went out ('superseded'). */
  closeOutboxMessage(id: string, status: 'settled' | 'superseded', now: Date): Promise<void>;
  listEvents(query?: EventQuery): Promise<DriftEvent[]>;
  listOpenDrifts(): Promise<ImageState[]>;
  listRuns(options?: { limit?: number }): Promise<RunSummary[]>;
}
