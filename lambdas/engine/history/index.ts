/**
 * Drift tracking: turns one run's AuditResults into state transitions, records them,
 * and announces what subscribers have not been told yet. Storage and publishing come in as
 * interfaces (HistoryStore, Notifier); this module imports no AWS code.
 *
 * Guarantees:
 * - a transition is recorded once: every state write is conditional on the version that was read;
 *   a conflicting (retried or concurrent) run re-reads and recomputes;
 * - an announcement is published once: it is claimed (conditional write) before publishing, and its
 *   "notified" mark lives on the state apart from the status, so a failed publish is retried by a later run.
 */
import type { AuditResult, DriftStatus } from '../model.js';
import type { NotificationChange, Notifier } from '../notify/types.js';
import { renderNotification } from '../notify/render.js';
import {
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
import type { DriftEvent, HistoryStore, ImageState, RunSummary, Transition } from './types.js';
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
}

export interface TrackDriftOptions {
  unverifiedAfterRuns?: number;
  reminderIntervalHours?: number;
  /** How long a claimed but unsettled announcement blocks other runs (crash safety). Default 10 min. */
  claimLeaseMinutes?: number;
  /** Days a run summary is kept (TTL). Default 90. */
  runRetentionDays?: number;
}

export interface TrackDriftDeps {
  store: HistoryStore;
  notifier?: Notifier;
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
  };
  const reminderMs = (opts.reminderIntervalHours ?? DEFAULT_REMINDER_INTERVAL_HOURS) * 3_600_000;
  const leaseMs = (opts.claimLeaseMinutes ?? 10) * 60_000;
  const errors = [...(input.errors ?? [])];

  // One result per image (the pipeline already dedupes; be defensive).
  const results = new Map<string, AuditResult>();
  for (const r of input.results) if (!results.has(r.image)) results.set(r.image, r);

  const loaded = await store.loadActiveStates();
  const states = new Map<string, ImageState>(loaded.map((s) => [s.image, s]));

  const work: Array<{ image: string; compute: (prev: ImageState | undefined) => Evolution }> = [];
  for (const [image, result] of results) work.push({ image, compute: (prev) => evolve(prev, result, ctx) });
  for (const s of loaded) {
    if (input.complete !== false && s.tracked && !results.has(s.image)) {
      work.push({ image: s.image, compute: (prev) => (prev ? untrack(prev, ctx) : { events: [] }) });
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
      notification = await announce([...states.values()], deps.notifier, store, input, now, reminderMs, leaseMs);
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

  return { transitions: events, drift, errors: errors.slice(input.errors?.length ?? 0), ...(notification ? { notification } : {}) };
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

function changeFor(state: ImageState, pending: PendingAnnouncement): NotificationChange {
  const status = effectiveStatus(state) ?? 'UNVERIFIED';
  return {
    kind: pending.kind,
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
  };
}

async function announce(
  states: ImageState[],
  notifier: Notifier,
  store: HistoryStore,
  input: TrackDriftInput,
  now: Date,
  reminderMs: number,
  leaseMs: number,
): Promise<TrackDriftResult['notification']> {
  const due: Array<{ state: ImageState; pending: PendingAnnouncement }> = [];
  for (const state of states) {
    const pending = pendingAnnouncement(state, now, reminderMs);
    if (pending) due.push({ state, pending });
  }
  if (due.length === 0) return undefined;

  // Claim before publishing: a concurrent or retried run that owes the same announcement loses the claim.
  const won = await store.claimNotifications(
    due.map((d) => d.pending.claim),
    input.runId,
    now,
    leaseMs,
  );
  const ours = due.filter((_, i) => won[i] === true);
  if (ours.length === 0) return undefined;

  const byImage = new Map(ours.map((d) => [d.state.image, d]));
  const messages = renderNotification(
    ours.map((d) => changeFor(d.state, d.pending)),
    { repository: input.repository, ...(input.commit !== undefined ? { commit: input.commit } : {}), runId: input.runId, at: now },
  );

  const messageIds: string[] = [];
  const failures: string[] = [];
  const bookkeeping: string[] = [];
  for (const message of messages) {
    const carried = message.changes.flatMap((c) => {
      const d = byImage.get(c.image);
      return d ? [d] : [];
    });
    const claims = carried.map((d) => d.pending.claim);
    let messageId: string;
    try {
      messageId = (await notifier.publish(message)).messageId;
    } catch (err) {
      const error = errorMessage(err);
      failures.push(error);
      // Release the claims: the states still owe this announcement, so a later run sends it.
      // (If releasing fails too, the claims expire after the lease.)
      await store.settleClaims(claims, input.runId, now, { status: 'released', error }).catch((e: unknown) => {
        bookkeeping.push(`releasing claims: ${errorMessage(e)}`);
      });
      continue;
    }
    messageIds.push(messageId);
    // Sent: the message counts as sent even if the bookkeeping below fails. Mark the states first (that is
    // what stops a later run from owing it); an unsettled claim still blocks others for the lease.
    try {
      await mapLimit(carried, 16, async ({ state }) => {
        const status = effectiveStatus(state) ?? 'UNVERIFIED';
        await store.markNotified(state.image, state.statusVersion, {
          status,
          at: now.toISOString(),
          untracked: !state.tracked,
        });
      });
      await store.settleClaims(claims, input.runId, now, { status: 'sent', messageIds: [messageId] });
    } catch (err) {
      bookkeeping.push(`recording message ${messageId} as sent: ${errorMessage(err)}`);
    }
  }
  const problems = [...new Set(failures), ...bookkeeping];
  return {
    sent: failures.length === 0,
    messageIds,
    ...(problems.length ? { error: problems.join('; ') } : {}),
  };
}
