/** Notification types shared by the renderer, the SNS adapter and the history orchestration. No I/O. */
import type { DriftStatus, ImageEvidence, SourceLocation, Verdict } from '../model.js';
import type { AnnouncementKind, MissedDrift } from '../history/types.js';

export type { AnnouncementKind, MissedDrift };

/** One thing to tell subscribers about one image. */
export interface NotificationChange {
  kind: AnnouncementKind;
  image: string;
  /** Status now ('UNTRACKED' for "no longer desired"). */
  status: DriftStatus | 'UNTRACKED';
  /** What subscribers were last told, when anything. */
  previous?: DriftStatus | 'UNTRACKED';
  /** Status at the time the image left the desired state (no-longer-desired entries). */
  closedStatus?: DriftStatus;
  /** When the current status began (ISO 8601). */
  since: string;
  verdict?: Verdict;
  evidence?: ImageEvidence;
  hint?: string;
  apps: string[];
  locations: SourceLocation[];
  lastDigest?: string;
  noVerdictRuns?: number;
  /** Drifts that began and ended before subscribers were told ("was briefly …"). */
  briefly?: MissedDrift[];
  /** NOT_VISIBLE_ANONYMOUSLY: the credential that would settle it. */
  settle?: string;
}

/** One audited repository of the run. */
export interface NotificationSource {
  /** `owner/name`, or the local path the CLI read. */
  repository: string;
  /** The commit the run read, when known. */
  commit?: string;
  /** Web base of the GitHub host (`https://github.com`) when the repository is on GitHub: locations become links. */
  webUrl?: string;
}

export interface NotificationContext {
  repository: string;
  commit?: string;
  runId: string;
  at: Date;
  /** Every repository of the run (links and the subject); default: `repository` at `commit`. */
  sources?: NotificationSource[];
  /** Configuration problems to mention at the end of the message (expired ignore entries). */
  warnings?: string[];
}

export interface MessageAttribute {
  DataType: 'String' | 'String.Array';
  StringValue: string;
}

/** The machine-readable body sent to sqs/lambda/https subscribers. */
export interface NotificationPayload {
  schema: 'image-drift-auditor/notification@1';
  repository: string;
  commit?: string;
  runId: string;
  at: string;
  part: { index: number; total: number };
  summary: Partial<Record<AnnouncementKind, number>>;
  changes: Array<
    Omit<NotificationChange, 'evidence'> & {
      evidence?: CompactEvidence;
      /** Web links to the locations at the audited commit, in the order of `locations` (absent when none can be made). */
      locationUrls?: string[];
      /** Web page of the image's package or repository in its registry. */
      packageUrl?: string;
    }
  >;
  warnings?: string[];
  /** Present on the one "setup incomplete" message a first run sends instead of alerts. */
  setupIncomplete?: { problems: string[]; counts: Partial<Record<DriftStatus, number>> };
}

/** Bounded evidence: what a reader needs, never the full tag or package lists. */
export interface CompactEvidence {
  http?: number;
  code?: string;
  message?: string;
  stage?: string;
  digest?: string;
  platforms?: string[];
  error?: string;
  packagesApi?: { http?: number; visibility?: string; tagFound?: boolean; deletedVersionWithTag?: { id: number; deletedAt?: string } };
  nearestTags?: string[];
  candidates?: string[];
}

/** One SNS message ready to publish (MessageStructure: 'json'). */
export interface NotificationMessage {
  subject: string;
  /** Plain text for `default` and `email`. */
  text: string;
  payload: NotificationPayload;
  /** The JSON MessageStructure body: {default, email, sqs, lambda, https}. */
  message: string;
  attributes: Record<string, MessageAttribute>;
  /** The changes this message carries (for marking them notified). */
  changes: NotificationChange[];
  /** Conservative size of the publish request's message, subject and attributes, in bytes. */
  bytes: number;
}

/** What goes out: a rendered message (or one stored in the outbox), with the id consumers deduplicate by. */
export interface OutgoingMessage {
  subject: string;
  message: string;
  attributes: Record<string, MessageAttribute>;
  /** Same on every copy of this message (republished after a lost reply or a crash); sent as the `dedupId` attribute. */
  dedupId?: string;
}

export interface Notifier {
  publish(message: OutgoingMessage): Promise<{ messageId: string }>;
}

/**
 * A failed publish. `maybeDelivered` is false only when the message certainly did not go out (SNS answered with an
 * error, or no connection was made); a reply that never came (timeout, reset) may hide a delivery.
 */
export interface PublishError extends Error {
  maybeDelivered?: boolean;
}

/** The attribute carrying OutgoingMessage.dedupId. */
export const DEDUP_ATTRIBUTE = 'dedupId';
