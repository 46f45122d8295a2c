/**
 * Drift tracking: turns one run's AuditResults into state transitions, records them,
 * and announces what subscribers have not been told yet. Storage and publishing come in as
 * interfaces (HistoryStore, Notifier); this module imports no AWS code.
 *
 * Guarantees:
 * - a transition is recorded once, with its events: every state write is conditional on the version that was read
 *   (a conflicting retried or concurrent run re-reads and recomputes), and carries the transition's events in its
 *   journal, so a crash at any point leaves them to the next run (event keys are deterministic);
 * - an announcement is never lost and goes out in one message: it is stored in the outbox (a message with a
 *   deterministic id, claims per announcement) before publishing and marked after; a later run publishes what is
 *   left. Copies of one message (a lost SNS reply, a crash after SNS accepted) carry the same `dedupId` attribute;
 * - a drift that began and ended while nothing could be announced is announced afterwards ("was briefly …").
 */
import type { AuditResult, DriftStatus, UnknownScope } from '../model.js';
import { unknownHolds, unknownOnly } from './unknown.js';
import { createHash } from 'node:crypto';
import type { NotificationChange, NotificationContext, Notifier, PublishError } from '../notify/types.js';
import { renderNotification, renderSetupIncomplete } from '../notify/render.js';
import type { AlertPolicy } from '../notify/policy.js';
import { pad } from './table-design.js';
import {
  announcementKind,
  DEFAULT_REMINDER_INTERVAL_HOURS,
  DEFAULT_UNVERIFIED_AFTER_RUNS,
  effectiveStatus,
  evolve,
  pendingAnnouncement,
  untrack,
  type DriftContext,
  type Evolution,
  type PendingAnnouncement,
} from './drift.js';
import type {
  DriftEvent,
  HistoryStore,
  ImageState,
  MissedDrift,
  NotificationClaim,
  OutboxChange,
  OutboxMessage,
  RunSummary,
  Transition,
} from './types.js';
import { errorMessage, mapLimit } from './util.js';

export * from './types.js';
export * from './drift.js';
export { HISTORY_TABLE_DESIGN } from './table-design.js';

export interface TrackDriftInput {
  /** Identity of the invocation (EventBridge event id): a retry carries the same id. */
  runId: string;
  repository: string;
  commit?: string;
  startedAt: Date;
  durationMs: number;
  results: AuditResult[];
  errors?: string[];
  /**
   * False when part of the desired state could not be read (a repository was unreachable): images
   * missing from `results` are then kept as they are instead of closing as "no longer desired".
   * Default true.
   */
  complete?: boolean;
  /**
   * The part of the desired state this run could not read (completeness.ts): images last desired there are held
   * as they are (see unknown.ts), never "no longer desired". Absent: everything was read.
   */
  unknown?: UnknownScope;
  /**
   * Credentials this run lacked (an empty secret, a configured credential without its value). On a first run
   * (nothing in the history yet) they turn the per-image alerts into one "setup incomplete" message; the
   * alerts stay owed and go out with the next run.
   */
  setupIncomplete?: string[];
  /** Each repository of the run with the commit it was read at (links in the message). Default: `repository`/`commit`. */
  sources?: NotificationContext['sources'];
}

export interface TrackDriftOptions {
  unverifiedAfterRuns?: number;
  reminderIntervalHours?: number;
  /** How long a run publishing an outbox message keeps other runs from publishing it too. Default 10 min. */
  claimLeaseMinutes?: number;
  /** Days a run summary is kept (TTL). Default 90. */
  runRetentionDays?: number;
}

export interface TrackDriftDeps {
  store: HistoryStore;
  notifier?: Notifier;
  /** Which announcements are worth a message. Without one, every announcement owed is sent. */
  policy?: AlertPolicy;
  clock?: () => Date;
  options?: TrackDriftOptions;
}

export interface TrackDriftResult {
  transitions: Transition[];
  /** Drift status after this run, per image of the results (absent while an image has no verdict yet). */
  drift: Map<string, DriftStatus>;
  /** Absent when this run had nothing to announce (or no notifier). */
  notification?: { sent: boolean; messageIds: string[]; error?: string };
  /** Problems this call ran into (history writes, announcing), beyond `input.errors`; also in the run summary. */
  errors: string[];
  /** Things the operator should fix that did not stop the run (expired ignore entries). */
  warnings: string[];
  /** Images not desired this run that were held as they are because the part of the desired state they came from is unknown. */
  heldUnknown: string[];
}

const MAX_CONFLICT_RETRIES = 5;

export async function trackDrift(input: TrackDriftInput, deps: TrackDriftDeps): Promise<TrackDriftResult> {
  const { store } = deps;
  const now = (deps.clock ?? (() => new Date()))();
  const opts = deps.options ?? {};
  const ctx: DriftContext = {
    now,
    runId: input.runId,
    ...(input.commit !== undefined ? { commit: input.commit } : {}),
    unverifiedAfterRuns: Math.max(1, opts.unverifiedAfterRuns ?? DEFAULT_UNVERIFIED_AFTER_RUNS),
    ...(deps.policy ? { statusRunsCap: deps.policy.statusRunsCap } : {}),
  };
  const warnings = deps.policy?.warnings(now) ?? [];
  const reminderMs = (opts.reminderIntervalHours ?? DEFAULT_REMINDER_INTERVAL_HOURS) * 3_600_000;
  const leaseMs = (opts.claimLeaseMinutes ?? 10) * 60_000;
  const errors = [...(input.errors ?? [])];

  // One result per image (the pipeline already dedupes; be defensive). An image desired only by apps whose
  // revision was assumed (read from the audited tree) says nothing about what is deployed: it neither opens
  // a state ("new", DISAPPEARED) nor closes one ("no longer desired"); its state is held as it is.
  const results = new Map<string, AuditResult>();
  const held = new Set<string>();
  // Apps read at an assumed revision keep what they last synced (Argo CD's ComparisonError, Flux's failed
  // fetch): an image they desired before and the audited tree no longer has is still deployed. Hold it.
  const assumedApps = new Set<string>();
  for (const r of input.results) {
    for (const app of r.assumedApps ?? (r.revisionAssumed ? r.apps : [])) assumedApps.add(app);
    if (r.revisionAssumed) held.add(r.image);
    else if (!results.has(r.image)) results.set(r.image, r);
  }
  const keptByStuckApp = (s: Pick<ImageState, 'apps'>): boolean => s.apps.some((app) => assumedApps.has(app));

  const loaded = await store.loadActiveStates();
  const states = new Map<string, ImageState>(loaded.map((s) => [s.image, s]));
  // An image desired only by unknown apps (completeness.ts) comes from a part that could not be read in full: it
  // continues a tracked state, but does not open one ("new") or reopen one ("desired again").
  for (const [image] of unknownOnly(results, input.unknown)) {
    if (states.get(image)?.tracked) continue;
    results.delete(image);
    held.add(image);
  }

  const work: Array<{ image: string; compute: (prev: ImageState | undefined) => Evolution }> = [];
  for (const [image, result] of results) work.push({ image, compute: (prev) => evolve(prev, result, ctx) });
  const holdsUnknown = unknownHolds(input.unknown);
  const heldUnknown: string[] = [];
  for (const s of loaded) {
    if (input.complete !== false && s.tracked && !results.has(s.image) && !held.has(s.image)) {
      if (keptByStuckApp(s)) continue;
      if (holdsUnknown(s)) {
        heldUnknown.push(s.image);
        continue;
      }
      // Re-checked on the state the write is computed from: a concurrent run may have moved it into the unknown part.
      work.push({ image: s.image, compute: (prev) => (prev && !holdsUnknown(prev) ? untrack(prev, ctx) : { events: [] }) });
    }
  }

  const events: DriftEvent[] = [];
  await mapLimit(work, 16, async ({ image, compute }) => {
    try {
      let prev = states.get(image);
      for (let attempt = 0; ; attempt++) {
        const evo = compute(prev);
        if (!evo.next) {
          if (prev) states.set(image, prev);
          return;
        }
        // The transition and its events go in one item write (the journal); event items follow below.
        const next = withJournal(evo.next, evo.events);
        if (await store.putState(next)) {
          states.set(image, next);
          events.push(...evo.events);
          return;
        }
        if (attempt >= MAX_CONFLICT_RETRIES) throw new Error(`state of ${image} kept changing under this run`);
        // Someone else wrote first (retry of this run, or a concurrent run): start again from what is stored.
        prev = await store.getState(image);
      }
    } catch (err) {
      errors.push(`history: ${image}: ${errorMessage(err)}`);
    }
  });

  events.sort(byEventOrder);
  await storeJournals(store, states, errors);

  const drift = new Map<string, DriftStatus>();
  const counts: RunSummary['counts'] = {};
  for (const image of results.keys()) {
    const s = states.get(image);
    const status = s?.tracked ? s.status : undefined;
    if (status !== undefined) drift.set(image, status);
    const key = status ?? 'UNKNOWN';
    counts[key] = (counts[key] ?? 0) + 1;
  }

  let notification: TrackDriftResult['notification'];
  if (deps.notifier) {
    try {
      const announcing: AnnounceContext = { states, notifier: deps.notifier, store, input, now, reminderMs, leaseMs, warnings, firstRun: loaded.length === 0 };
      if (deps.policy) announcing.policy = deps.policy;
      notification = await announce(announcing);
    } catch (err) {
      notification = { sent: false, messageIds: [], error: errorMessage(err) };
    }
    if (notification?.error) errors.push(`notification: ${notification.error}`);
  }

  const retentionDays = opts.runRetentionDays ?? 90;
  try {
    await store.putRun({
      runId: input.runId,
      repository: input.repository,
      ...(input.commit !== undefined ? { commit: input.commit } : {}),
      startedAt: input.startedAt.toISOString(),
      durationMs: input.durationMs,
      counts,
      images: results.size,
      transitions: events.length,
      errors,
      ...(notification ? { notification } : {}),
      expiresAt: Math.floor(input.startedAt.getTime() / 1000) + retentionDays * 86_400,
    });
  } catch (err) {
    errors.push(`history: run summary: ${errorMessage(err)}`);
  }

  return {
    transitions: events,
    drift,
    errors: errors.slice(input.errors?.length ?? 0),
    warnings,
    heldUnknown: heldUnknown.sort(),
    ...(notification ? { notification } : {}),
  };
}

function eventKey(e: DriftEvent): string {
  return `${e.image}\n${e.at}\n${e.version}\n${e.kind}`;
}

function byEventOrder(a: DriftEvent, b: DriftEvent): number {
  return a.image.localeCompare(b.image) || a.version - b.version || a.kind.localeCompare(b.kind);
}

/** `next` carrying the journal it inherited (events not confirmed stored yet) plus this transition's events. */
function withJournal(next: ImageState, events: DriftEvent[]): ImageState {
  const journal = new Map<string, DriftEvent>();
  for (const e of [...(next.journal ?? []), ...events]) journal.set(eventKey(e), e);
  const out: ImageState = { ...next };
  if (journal.size) out.journal = [...journal.values()];
  else delete out.journal;
  return out;
}

/**
 * Copies every journal (this run's transitions, and any a crashed run left behind) to event items, then
 * clears the journals. Event keys are deterministic, so writing an event twice stores it once.
 */
async function storeJournals(store: HistoryStore, states: Map<string, ImageState>, errors: string[]): Promise<void> {
  const journaled = [...states.values()].filter((s) => (s.journal?.length ?? 0) > 0);
  if (journaled.length === 0) return;
  const pending = journaled.flatMap((s) => s.journal ?? []).sort(byEventOrder);
  try {
    await store.appendEvents(pending);
  } catch (err) {
    // The journals stay: the next run stores these events.
    errors.push(`history: recording ${pending.length} events: ${errorMessage(err)}`);
    return;
  }
  await mapLimit(journaled, 16, async (state) => {
    try {
      const cleared = await store.clearJournal(state);
      const { journal: _stored, ...rest } = state;
      // A state that moved on (concurrent run) carries the journal forward: that writer clears it.
      if (cleared) states.set(state.image, rest);
    } catch (err) {
      // Harmless: the next run writes the same event items again and clears the journal then.
      errors.push(`history: ${state.image}: clearing the journal: ${errorMessage(err)}`);
    }
  });
}

/**
 * What subscribers knew before this change. After an outage they were told UNVERIFIED; once the registry
 * answers again, the status from before the outage is the meaningful "was".
 */
function previousFor(state: ImageState): NotificationChange['previous'] {
  const told = state.notifiedStatus;
  if (told === 'UNVERIFIED' && state.tracked && state.status !== 'UNVERIFIED' && state.statusBeforeUnverified !== undefined) {
    return state.statusBeforeUnverified;
  }
  return told;
}

function changeFor(state: ImageState, pending: PendingAnnouncement, policy: AlertPolicy | undefined): NotificationChange {
  const status = effectiveStatus(state) ?? 'UNVERIFIED';
  const settle = policy && state.tracked && state.status === 'NOT_VISIBLE_ANONYMOUSLY' && pending.kind !== 'resolved' ? policy.settleAdvice(state.image) : undefined;
  return {
    kind: pending.kind,
    ...(settle ? { settle } : {}),
    image: state.image,
    status,
    ...(previousFor(state) !== undefined ? { previous: previousFor(state) } : {}),
    ...(!state.tracked && state.status !== undefined ? { closedStatus: state.status } : {}),
    since: (!state.tracked ? state.untrackedAt : undefined) ?? state.since,
    ...(state.verdict !== undefined ? { verdict: state.verdict } : {}),
    ...(state.evidence !== undefined ? { evidence: state.evidence } : {}),
    ...(state.hint !== undefined ? { hint: state.hint } : {}),
    apps: state.apps,
    locations: state.locations,
    ...(state.lastDigest !== undefined ? { lastDigest: state.lastDigest } : {}),
    ...(state.noVerdictRuns > 0 ? { noVerdictRuns: state.noVerdictRuns } : {}),
    ...(state.missed?.length ? { briefly: state.missed } : {}),
  };
}

interface AnnounceContext {
  states: Map<string, ImageState>;
  notifier: Notifier;
  store: HistoryStore;
  input: TrackDriftInput;
  now: Date;
  reminderMs: number;
  leaseMs: number;
  policy?: AlertPolicy;
  warnings: string[];
  /** Nothing was in the history before this run. */
  firstRun: boolean;
}

interface AnnounceOutcome {
  messageIds: string[];
  failures: string[];
  bookkeeping: string[];
  attempted: boolean;
}

const claimId = (c: { image: string; key: string }): string => `${c.image}\n${c.key}`;
const claimsOf = (m: OutboxMessage): NotificationClaim[] => m.changes.map((c) => ({ image: c.image, key: c.key }));

/** Identity of a message: the announcements it carries. A retried run composing the same ones gets the same id. */
function outboxIdFor(changes: readonly OutboxChange[]): string {
  const material = changes.map(claimId).sort().join('\n\n');
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

/**
 * The outbox. Every owed announcement goes into a message that is stored (deterministic id, claims per
 * announcement) before it is published, published under a lease, marked sent, and then its states are marked
 * notified. A later run finds what is left: a message still pending is published again (same `dedupId`), one
 * sent but not settled gets its states marked. A pending message that certainly never went out and is out of date
 * (the drift ended meanwhile) is superseded, so the fresh announcement can say the image "was briefly" drifting.
 */
async function announce(ctx: AnnounceContext): Promise<TrackDriftResult['notification']> {
  const { store, states } = ctx;
  const outcome: AnnounceOutcome = { messageIds: [], failures: [], bookkeeping: [], attempted: false };
  const covered = new Set<string>();
  const queue: Array<{ message: OutboxMessage; earlier: boolean }> = [];

  for (const message of await store.loadOpenOutbox()) {
    for (const c of message.changes) covered.add(claimId(c));
    // SNS accepted it, but the run stopped before every mark was written ('sent', or a state says it told them).
    if (message.status === 'sent' || message.changes.some((c) => states.get(c.image)?.notifiedBy === message.id)) {
      await settle(ctx, message).catch((err: unknown) => outcome.bookkeeping.push(`marking message ${message.id} notified: ${errorMessage(err)}`));
      continue;
    }
    if (!message.maybeDelivered && message.changes.some((c) => !stillOwed(ctx, c))) {
      await supersede(ctx, message, claimsOf(message)).catch((err: unknown) => outcome.bookkeeping.push(`superseding message ${message.id}: ${errorMessage(err)}`));
      for (const c of message.changes) covered.delete(claimId(c));
      continue;
    }
    queue.push({ message, earlier: true });
  }

  for (const message of await compose(ctx, covered, outcome)) queue.push({ message, earlier: false });

  for (const { message, earlier } of queue) await publishOne(ctx, message, earlier, outcome);

  const problems = [...new Set(outcome.failures), ...outcome.bookkeeping];
  if (!outcome.attempted && problems.length === 0) return undefined;
  return {
    sent: outcome.failures.length === 0,
    messageIds: outcome.messageIds,
    ...(problems.length ? { error: problems.join('; ') } : {}),
  };
}

function stillOwed(ctx: AnnounceContext, change: OutboxChange): boolean {
  const state = ctx.states.get(change.image);
  if (state === undefined) return false;
  const owed = owedFor(ctx, state);
  return owed !== 'settle' && owed?.claim.key === change.key;
}

/**
 * What the policy makes of the announcement a state owes: the announcement to send (possibly worded as another
 * kind), 'settle' for one never worth a message, undefined for nothing now (nothing owed, or held).
 */
function owedFor(ctx: AnnounceContext, state: ImageState): PendingAnnouncement | 'settle' | undefined {
  const pending = pendingAnnouncement(state, ctx.now, ctx.reminderMs);
  if (!pending || !ctx.policy) return pending;
  const decision = ctx.policy.decide(state, pending.kind, ctx.now);
  if (decision.action === 'settle') return 'settle';
  if (decision.action === 'hold') return undefined;
  if (decision.kind === pending.kind) return pending;
  return { kind: decision.kind, claim: { image: state.image, key: `${pad(state.statusVersion)}#${decision.kind}` } };
}

function notificationContext(ctx: AnnounceContext): NotificationContext {
  const { input } = ctx;
  return {
    repository: input.repository,
    ...(input.commit !== undefined ? { commit: input.commit } : {}),
    runId: input.runId,
    at: ctx.now,
    ...(input.sources ? { sources: input.sources } : {}),
    ...(ctx.warnings.length ? { warnings: ctx.warnings } : {}),
  };
}

/** The one "setup incomplete" message of a deployment: stored once (fixed id), so no later run composes it again. */
async function composeSetupIncomplete(ctx: AnnounceContext, problems: string[], outcome: AnnounceOutcome): Promise<OutboxMessage[]> {
  const counts: Partial<Record<DriftStatus, number>> = {};
  for (const state of ctx.states.values()) if (state.tracked && state.status) counts[state.status] = (counts[state.status] ?? 0) + 1;
  const rendered = renderSetupIncomplete(problems, counts, notificationContext(ctx));
  const message: OutboxMessage = {
    id: 'setup-incomplete',
    status: 'pending',
    subject: rendered.subject,
    message: rendered.message,
    attributes: rendered.attributes,
    changes: [],
    runId: ctx.input.runId,
    createdAt: ctx.now.toISOString(),
    attempts: 0,
    maybeDelivered: false,
  };
  try {
    return (await ctx.store.putOutboxMessage(message)) ? [message] : [];
  } catch (err) {
    outcome.bookkeeping.push(`queueing the setup message: ${errorMessage(err)}`);
    return [];
  }
}

/** Renders what is owed and not in an open message yet, and stores it in the outbox with its claims. */
async function compose(ctx: AnnounceContext, covered: Set<string>, outcome: AnnounceOutcome): Promise<OutboxMessage[]> {
  // Before the secret is filled, verdicts on private images are noise: a first run sends one message saying
  // so, and the per-image announcements stay owed for the next run.
  if (ctx.firstRun && ctx.input.setupIncomplete?.length) return composeSetupIncomplete(ctx, ctx.input.setupIncomplete, outcome);
  const due: Array<{ state: ImageState; pending: PendingAnnouncement }> = [];
  const quiet: ImageState[] = [];
  for (const state of ctx.states.values()) {
    // A state whose journal could not be stored waits: marking it notified could drop it from the loaded buckets.
    if (state.journal?.length) continue;
    const pending = owedFor(ctx, state);
    if (pending === 'settle') quiet.push(state);
    else if (pending && !covered.has(claimId(pending.claim))) due.push({ state, pending });
  }
  // Never worth a message under the policy: recorded as told, so that it is not owed any more.
  await mapLimit(quiet, 16, async (state) => {
    await ctx.store.markNotified(state.image, state.statusVersion, { status: effectiveStatus(state) ?? 'UNVERIFIED', at: ctx.now.toISOString(), untracked: !state.tracked });
  }).catch((err: unknown) => outcome.bookkeeping.push(`settling unalerted states: ${errorMessage(err)}`));
  if (due.length === 0) return [];
  const byImage = new Map(due.map((d) => [d.state.image, d]));
  const rendered = renderNotification(
    due.map((d) => changeFor(d.state, d.pending, ctx.policy)),
    notificationContext(ctx),
  );
  const out: OutboxMessage[] = [];
  for (const r of rendered) {
    const changes: OutboxChange[] = r.changes.flatMap((c) => {
      const d = byImage.get(c.image);
      if (!d) return [];
      return [
        {
          image: d.state.image,
          key: d.pending.claim.key,
          statusVersion: d.state.statusVersion,
          kind: d.pending.kind,
          status: effectiveStatus(d.state) ?? 'UNVERIFIED',
          since: d.state.since,
          untracked: !d.state.tracked,
          ...(d.state.missed?.length ? { briefly: d.state.missed } : {}),
        },
      ];
    });
    const message: OutboxMessage = {
      id: outboxIdFor(changes),
      status: 'pending',
      subject: r.subject,
      message: r.message,
      attributes: r.attributes,
      changes,
      runId: ctx.input.runId,
      createdAt: ctx.now.toISOString(),
      attempts: 0,
      maybeDelivered: false,
    };
    try {
      if (!(await ctx.store.putOutboxMessage(message))) {
        // The same announcements were stored by a concurrent or retried run: publish that one (the lease decides who).
        const existing = await ctx.store.getOutboxMessage(message.id);
        if (existing?.status === 'pending') out.push(existing);
        continue;
      }
      const won = await ctx.store.claimForOutbox(claimsOf(message), message.id, ctx.now);
      if (won.some((w) => !w)) {
        // Another message carries some of these (a concurrent run): give ours back; the rest is owed next run.
        await supersede(ctx, message, claimsOf(message).filter((_, i) => won[i]));
        continue;
      }
      out.push(message);
    } catch (err) {
      outcome.bookkeeping.push(`queueing a message: ${errorMessage(err)}`);
    }
  }
  return out;
}

async function publishOne(ctx: AnnounceContext, message: OutboxMessage, earlier: boolean, outcome: AnnounceOutcome): Promise<void> {
  const { store, now } = ctx;
  try {
    // Another run publishing it right now holds the lease.
    if (!(await store.leaseOutboxMessage(message.id, ctx.input.runId, now, ctx.leaseMs))) return;
    if (earlier) {
      // A run that stopped between storing the message and its claims left them unwritten.
      const won = await store.claimForOutbox(claimsOf(message), message.id, now);
      if (won.some((w) => !w)) {
        await supersede(ctx, message, claimsOf(message).filter((_, i) => won[i]));
        return;
      }
    }
  } catch (err) {
    outcome.bookkeeping.push(`preparing message ${message.id}: ${errorMessage(err)}`);
    return;
  }
  outcome.attempted = true;
  let snsMessageId: string;
  try {
    snsMessageId = (await ctx.notifier.publish({ subject: message.subject, message: message.message, attributes: message.attributes, dedupId: message.id })).messageId;
  } catch (err) {
    outcome.failures.push(errorMessage(err));
    // Stays pending: the next run publishes it again. Without SNS's answer it may have gone out already.
    const maybeDelivered = (err as PublishError).maybeDelivered !== false;
    await store.recordPublishFailure(message.id, { error: errorMessage(err), maybeDelivered }).catch((e: unknown) => {
      outcome.bookkeeping.push(`recording the failed publish of ${message.id}: ${errorMessage(e)}`);
    });
    return;
  }
  outcome.messageIds.push(snsMessageId);
  // Sent. Each mark below alone tells a later run that it went out ('sent' on the message, `notifiedBy` on a state);
  // only if all of them fail is it published again (same dedupId).
  await store.markOutboxSent(message.id, snsMessageId, now).catch((err: unknown) => {
    outcome.bookkeeping.push(`recording message ${snsMessageId} as sent: ${errorMessage(err)}`);
  });
  await settle(ctx, message).catch((err: unknown) => {
    outcome.bookkeeping.push(`marking the states of message ${snsMessageId} notified: ${errorMessage(err)}`);
  });
}

/** Marks what subscribers now know on each state, then closes the message. */
async function settle(ctx: AnnounceContext, message: OutboxMessage): Promise<void> {
  const at = ctx.now.toISOString();
  await mapLimit(message.changes, 16, async (c) => {
    if (await ctx.store.markNotified(c.image, c.statusVersion, { status: c.status, at, untracked: c.untracked, by: message.id })) return;
    await recordToldAfterAll(ctx.store, c, at, message.id);
  });
  await ctx.store.closeOutboxMessage(message.id, 'settled', ctx.now);
}

/**
 * A message went out after its image's status had moved on (it may have been delivered before the move, so it was
 * published again): subscribers now believe `change.status`, so the next announcement starts from there.
 */
async function recordToldAfterAll(store: HistoryStore, change: OutboxChange, at: string, by: string): Promise<void> {
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
    const state = await store.getState(change.image);
    if (!state || state.notifiedVersion >= change.statusVersion || state.notifiedBy === by) return;
    const told = (m: MissedDrift) => (m.status === change.status && m.since === change.since) || (change.briefly ?? []).some((b) => b.since === m.since && b.status === m.status);
    const next: ImageState = { ...state, notifiedStatus: change.status, notifiedAt: at, notifiedBy: by, version: state.version + 1 };
    const missed = (state.missed ?? []).filter((m) => !told(m));
    if (missed.length) next.missed = missed;
    else delete next.missed;
    if (announcementKind(next) === undefined) next.notifiedVersion = next.statusVersion;
    if (await store.putState(next)) return;
  }
}

async function supersede(ctx: AnnounceContext, message: OutboxMessage, claims: NotificationClaim[]): Promise<void> {
  await ctx.store.releaseClaims(claims, message.id, ctx.now);
  await ctx.store.closeOutboxMessage(message.id, 'superseded', ctx.now);
}
