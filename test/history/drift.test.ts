import { describe, expect, it } from 'vitest';
import {
  announcementKind,
  classifyVerdict,
  evolve,
  pendingAnnouncement,
  untrack,
  type DriftContext,
} from '../../lambdas/engine/history/drift.js';
import type { ImageState } from '../../lambdas/engine/history/types.js';
import type { Verdict } from '../../lambdas/engine/model.js';
import { result } from './fixtures.js';

const IMG = 'ghcr.io/acme/api:1.0.0';
const t0 = new Date('2026-11-01T00:00:00.000Z');
const ctx = (minutes: number, runId = `run-${minutes}`): DriftContext => ({
  now: new Date(t0.getTime() + minutes * 60_000),
  runId,
  commit: 'a1b2c3d4e5',
  unverifiedAfterRuns: 3,
});

/** Applies a sequence of verdicts, pretending every write succeeds and every announcement is sent. */
function replay(verdicts: Verdict[], options: { announce?: boolean } = {}) {
  let state: ImageState | undefined;
  const events = [];
  const writes: boolean[] = [];
  for (const [i, v] of verdicts.entries()) {
    const evo = evolve(state, result(IMG, v), ctx(i * 15));
    writes.push(evo.next !== undefined);
    if (evo.next) state = evo.next;
    events.push(...evo.events);
    if (state && options.announce) state = markAnnounced(state, ctx(i * 15).now);
  }
  return { state, events, writes };
}

function markAnnounced(s: ImageState, now: Date): ImageState {
  const p = pendingAnnouncement(s, now, 24 * 3_600_000);
  if (!p) return s;
  return {
    ...s,
    notifiedStatus: s.tracked ? s.status : 'UNTRACKED',
    notifiedVersion: s.statusVersion,
    notifiedAt: now.toISOString(),
    version: s.version + 1,
  };
}

describe('classifyVerdict', () => {
  it('calls a missing tag NEVER_PUSHED when the image was never seen present', () => {
    expect(classifyVerdict(result(IMG, 'TAG_MISSING'), undefined)).toBe('NEVER_PUSHED');
    expect(classifyVerdict(result(IMG, 'REPO_MISSING'), { firstSeenPresentAt: undefined })).toBe('NEVER_PUSHED');
  });

  it('calls a missing tag DISAPPEARED when the image was seen present before', () => {
    expect(classifyVerdict(result(IMG, 'TAG_MISSING'), { firstSeenPresentAt: t0.toISOString() })).toBe('DISAPPEARED');
    expect(classifyVerdict(result(IMG, 'REPO_MISSING'), { firstSeenPresentAt: t0.toISOString() })).toBe('DISAPPEARED');
  });

  it('calls a missing tag DISAPPEARED on first sight when a deleted package version carried it', () => {
    const r = result(IMG, 'TAG_MISSING', {
      evidence: { anonymous: { http: 404 }, packagesApi: { deletedVersionWithTag: { id: 42, deletedAt: '2026-10-01T00:00:00Z' } } },
    });
    expect(classifyVerdict(r, undefined)).toBe('DISAPPEARED');
  });

  it('maps OK to PRESENT and the other definite verdicts to drifts of their own kind', () => {
    expect(classifyVerdict(result(IMG, 'OK'), undefined)).toBe('PRESENT');
    for (const v of ['PRIVATE', 'PLATFORM_MISSING', 'INVALID_REFERENCE', 'AUTH_FAILED', 'NOT_VISIBLE_ANONYMOUSLY'] as const) {
      expect(classifyVerdict(result(IMG, v), undefined)).toBe(v);
    }
  });

  it('gives no status for RATE_LIMITED and UNREACHABLE', () => {
    expect(classifyVerdict(result(IMG, 'RATE_LIMITED'), undefined)).toBeUndefined();
    expect(classifyVerdict(result(IMG, 'UNREACHABLE'), { firstSeenPresentAt: t0.toISOString() })).toBeUndefined();
  });
});

describe('evolve', () => {
  it('records NEVER_PUSHED on the first run and owes a "new" announcement', () => {
    const { state, events } = replay(['TAG_MISSING']);
    expect(state?.status).toBe('NEVER_PUSHED');
    expect(events).toEqual([expect.objectContaining({ kind: 'TRACKED', to: 'NEVER_PUSHED', runId: 'run-0', commit: 'a1b2c3d4e5' })]);
    expect(state && announcementKind(state)).toBe('new');
  });

  it('tracks a present image silently on the first run', () => {
    const { state, events } = replay(['OK']);
    expect(state?.status).toBe('PRESENT');
    expect(state?.firstSeenPresentAt).toBe(t0.toISOString());
    expect(events.map((e) => e.kind)).toEqual(['TRACKED']);
    expect(state && announcementKind(state)).toBeUndefined();
  });

  it('goes present → disappeared → present with one event per change and nothing written in between', () => {
    const { state, events, writes } = replay(['OK', 'OK', 'TAG_MISSING', 'TAG_MISSING', 'OK'], { announce: true });
    expect(events.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['TRACKED', undefined, 'PRESENT'],
      ['STATUS_CHANGED', 'PRESENT', 'DISAPPEARED'],
      ['STATUS_CHANGED', 'DISAPPEARED', 'PRESENT'],
    ]);
    expect(writes).toEqual([true, false, true, false, true]);
    expect(state?.status).toBe('PRESENT');
  });

  it('writes nothing when the same verdict, digest, apps and locations come again', () => {
    const first = evolve(undefined, result(IMG, 'OK'), ctx(0));
    const second = evolve(first.next, result(IMG, 'OK'), ctx(15));
    expect(second).toEqual({ events: [] });
  });

  it('never changes state on transient verdicts, and flags UNVERIFIED after 3 runs without a verdict', () => {
    const { state, events, writes } = replay(['OK', 'RATE_LIMITED', 'UNREACHABLE', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(events.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['TRACKED', undefined, 'PRESENT'],
      ['STATUS_CHANGED', 'PRESENT', 'UNVERIFIED'],
    ]);
    expect(events[1]?.reason).toContain('3 consecutive runs');
    // counter capped at the threshold: nothing written once flagged
    expect(writes).toEqual([true, true, true, true, false, false]);
    expect(state?.noVerdictRuns).toBe(3);
    expect(state?.verifiedStatus).toBe('PRESENT');
    expect(state && announcementKind(state)).toBe('unverified');
  });

  it('does not flag UNVERIFIED when a verdict interrupts the streak', () => {
    const { state, events } = replay(['OK', 'RATE_LIMITED', 'RATE_LIMITED', 'OK', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(events.map((e) => e.kind)).toEqual(['TRACKED']);
    expect(state?.status).toBe('PRESENT');
    expect(state?.noVerdictRuns).toBe(2);
  });

  it('keeps a drift across transient verdicts', () => {
    const { state, events } = replay(['OK', 'TAG_MISSING', 'UNREACHABLE', 'TAG_MISSING'], { announce: true });
    expect(events.map((e) => e.to)).toEqual(['PRESENT', 'DISAPPEARED']);
    expect(state?.status).toBe('DISAPPEARED');
    expect(state?.noVerdictRuns).toBe(0);
  });

  it('announces the return from UNVERIFIED to the same PRESENT as verified again, not as resolved', () => {
    const { state } = replay(['OK', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE', 'OK'], { announce: false });
    // nothing announced in this replay: the UNVERIFIED was never told, so coming back is silent
    expect(state && announcementKind(state)).toBeUndefined();
    const told = replay(['OK', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'], { announce: true });
    expect(told.state?.notifiedStatus).toBe('UNVERIFIED');
    expect(told.state).toMatchObject({ statusBeforeUnverified: 'PRESENT', sinceBeforeUnverified: ctx(0).now.toISOString() });
    const back = evolve(told.state, result(IMG, 'OK'), ctx(60));
    expect(back.events).toEqual([expect.objectContaining({ from: 'UNVERIFIED', to: 'PRESENT', reason: 'verified again' })]);
    expect(back.next?.since).toBe(ctx(0).now.toISOString());
    expect(back.next && announcementKind(back.next)).toBe('verified');
  });

  it('announces NEVER_PUSHED → UNVERIFIED → NEVER_PUSHED as verified again, with the drift\'s original since', () => {
    const told = replay(['TAG_MISSING', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'], { announce: true });
    expect(told.state?.notifiedStatus).toBe('UNVERIFIED');
    const back = evolve(told.state, result(IMG, 'TAG_MISSING'), ctx(60));
    expect(back.next?.status).toBe('NEVER_PUSHED');
    expect(back.next?.since).toBe(t0.toISOString());
    expect(back.events).toEqual([
      expect.objectContaining({ kind: 'STATUS_CHANGED', from: 'UNVERIFIED', to: 'NEVER_PUSHED', reason: 'verified again' }),
    ]);
    expect(back.next && pendingAnnouncement(back.next, ctx(60).now, 24 * 3_600_000)?.kind).toBe('verified');
    // once told, it is an ordinary open drift again: reminders count from the verified-again announcement
    const settled = back.next && markAnnounced(back.next, ctx(60).now);
    expect(settled && announcementKind(settled)).toBeUndefined();
    expect(settled?.notifiedStatus).toBe('NEVER_PUSHED');
  });

  it('announces PRESENT → UNVERIFIED → TAG_MISSING as a new DISAPPEARED drift', () => {
    const told = replay(['OK', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'], { announce: true });
    const back = evolve(told.state, result(IMG, 'TAG_MISSING'), ctx(60));
    expect(back.next?.status).toBe('DISAPPEARED');
    expect(back.next?.since).toBe(ctx(60).now.toISOString());
    expect(back.events).toEqual([expect.objectContaining({ from: 'UNVERIFIED', to: 'DISAPPEARED' })]);
    expect(back.events[0]?.reason).not.toBe('verified again');
    expect(back.next && announcementKind(back.next)).toBe('new');
  });

  it('announces NEVER_PUSHED → UNVERIFIED → OK as resolved', () => {
    const told = replay(['TAG_MISSING', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'], { announce: true });
    const back = evolve(told.state, result(IMG, 'OK'), ctx(60));
    expect(back.next?.status).toBe('PRESENT');
    expect(back.next?.since).toBe(ctx(60).now.toISOString());
    expect(back.next && announcementKind(back.next)).toBe('resolved');
  });

  it('keeps DISAPPEARED sticky even when later evidence lacks the deleted version', () => {
    const deleted = result(IMG, 'TAG_MISSING', { evidence: { packagesApi: { deletedVersionWithTag: { id: 7 } } } });
    const a = evolve(undefined, deleted, ctx(0));
    const b = evolve(a.next, result(IMG, 'TAG_MISSING'), ctx(15));
    expect(a.next?.status).toBe('DISAPPEARED');
    expect(b.next).toBeUndefined();
  });

  it('records a digest change as an informational event that owes no announcement', () => {
    const a = evolve(undefined, result(IMG, 'OK', { digest: 'sha256:' + '1'.repeat(64) }), ctx(0));
    const b = evolve(a.next, result(IMG, 'OK', { digest: 'sha256:' + '2'.repeat(64) }), ctx(15));
    expect(b.events).toEqual([
      expect.objectContaining({ kind: 'DIGEST_CHANGED', previousDigest: 'sha256:' + '1'.repeat(64), digest: 'sha256:' + '2'.repeat(64) }),
    ]);
    expect(b.next?.lastDigest).toBe('sha256:' + '2'.repeat(64));
    expect(b.next?.lastDigestAt).toBe(ctx(15).now.toISOString());
    expect(b.next && announcementKind(b.next)).toBeUndefined();
    expect(b.next?.statusVersion).toBe(1);
  });

  it('writes the state when the image moves to another file line, without an event', () => {
    const a = evolve(undefined, result(IMG, 'OK'), ctx(0));
    const b = evolve(a.next, result(IMG, 'OK', { line: 30 }), ctx(15));
    expect(b.events).toEqual([]);
    expect(b.next?.locations).toEqual([{ file: 'apps/web/deployment.yaml', line: 30 }]);
  });

  it('creates the state of a new image whose first verdict is transient, without a status', () => {
    const a = evolve(undefined, result(IMG, 'UNREACHABLE'), ctx(0));
    expect(a.next?.status).toBeUndefined();
    expect(a.next?.noVerdictRuns).toBe(1);
    expect(a.events).toEqual([expect.objectContaining({ kind: 'TRACKED', verdict: 'UNREACHABLE' })]);
    expect(a.next && announcementKind(a.next)).toBeUndefined();
  });

  it('still owes a drift that came and went unannounced, as "was briefly", with its period', () => {
    // The DISAPPEARED announcement never went out (SNS down); the image is back before the next run.
    const a = evolve(undefined, result(IMG, 'OK'), ctx(0));
    const b = evolve(a.next, result(IMG, 'TAG_MISSING'), ctx(15));
    expect(b.next && announcementKind(b.next)).toBe('new');
    const c = evolve(b.next, result(IMG, 'OK'), ctx(30));
    expect(c.next && announcementKind(c.next)).toBe('briefly');
    expect(c.next?.missed).toEqual([
      { status: 'DISAPPEARED', since: ctx(15).now.toISOString(), until: ctx(30).now.toISOString(), verdict: 'TAG_MISSING' },
    ]);
  });

  it('carries an unannounced drift into the announcement of the next one', () => {
    const a = evolve(undefined, result(IMG, 'TAG_MISSING'), ctx(0));
    const b = evolve(a.next, result(IMG, 'PRIVATE'), ctx(15));
    expect(b.next && announcementKind(b.next)).toBe('new');
    expect(b.next?.missed?.map((m) => m.status)).toEqual(['NEVER_PUSHED']);
  });

  it('keeps nothing to say about a drift that was announced before it ended', () => {
    const a = evolve(undefined, result(IMG, 'TAG_MISSING'), ctx(0));
    const told = { ...a.next!, notifiedStatus: 'NEVER_PUSHED' as const, notifiedVersion: a.next!.statusVersion };
    const b = evolve(told, result(IMG, 'OK'), ctx(15));
    expect(b.next?.missed).toBeUndefined();
    expect(b.next && announcementKind(b.next)).toBe('resolved');
  });
});

describe('evolve between drifts', () => {
  it('announces a change from one drift to another as new, naming what was told before', () => {
    const { state } = replay(['PRIVATE'], { announce: true });
    const next = evolve(state, result(IMG, 'AUTH_FAILED'), ctx(15));
    expect(next.events).toEqual([expect.objectContaining({ kind: 'STATUS_CHANGED', from: 'PRIVATE', to: 'AUTH_FAILED' })]);
    expect(next.next && announcementKind(next.next)).toBe('new');
    expect(next.next?.notifiedStatus).toBe('PRIVATE');
  });

  it('turns NEVER_PUSHED into DISAPPEARED when a deleted package version shows the tag existed', () => {
    const { state } = replay(['TAG_MISSING'], { announce: true });
    const deleted = result(IMG, 'TAG_MISSING', { evidence: { packagesApi: { deletedVersionWithTag: { id: 9 } } } });
    const next = evolve(state, deleted, ctx(15));
    expect(next.events).toEqual([expect.objectContaining({ from: 'NEVER_PUSHED', to: 'DISAPPEARED', reason: 'a deleted package version carried the tag' })]);
  });

  it('flags UNVERIFIED at once when the threshold is one run', () => {
    const evo = evolve(undefined, result(IMG, 'RATE_LIMITED'), { ...ctx(0), unverifiedAfterRuns: 1 });
    expect(evo.next?.status).toBe('UNVERIFIED');
    expect(evo.events).toEqual([expect.objectContaining({ kind: 'TRACKED', to: 'UNVERIFIED' })]);
    expect(evo.next && announcementKind(evo.next)).toBe('unverified');
  });

  it('does not remind about a drift whose first announcement never went out', () => {
    const { state } = replay(['TAG_MISSING'], { announce: false });
    const due = pendingAnnouncement(state as ImageState, new Date(t0.getTime() + 5 * 86_400_000), 86_400_000);
    expect(due?.kind).toBe('new');
  });
});

describe('stored evidence', () => {
  it('caps long tag, package and candidate lists so state items stay small', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const evo = evolve(
      undefined,
      result(IMG, 'TAG_MISSING', {
        evidence: {
          anonymous: { http: 404, message: 'x'.repeat(50_000) },
          tags: { nearest: many, recent: many, total: 5000 },
          packagesApi: { ownerPackages: many },
          candidates: many,
        },
      }),
      ctx(0),
    );
    const e = evo.next?.evidence;
    expect(e?.tags?.nearest).toHaveLength(20);
    expect(e?.tags?.total).toBe(5000);
    expect(e?.packagesApi?.ownerPackages).toHaveLength(20);
    expect(e?.candidates).toHaveLength(20);
    expect(e?.anonymous?.message).toHaveLength(1000);
    expect(JSON.stringify(evo.events[0]?.evidence).length).toBeLessThan(3000);
  });
});

describe('untrack', () => {
  it('closes an announced drift as "no longer desired", not as resolved', () => {
    const { state } = replay(['OK', 'TAG_MISSING'], { announce: true });
    const u = untrack(state as ImageState, ctx(30));
    expect(u.events).toEqual([expect.objectContaining({ kind: 'UNTRACKED', from: 'DISAPPEARED', reason: expect.stringContaining('no longer desired') })]);
    expect(u.next?.tracked).toBe(false);
    expect(u.next && announcementKind(u.next)).toBe('no-longer-desired');
  });

  it('stops tracking a present image silently', () => {
    const { state } = replay(['OK']);
    const u = untrack(state as ImageState, ctx(30));
    expect(u.events.map((e) => e.kind)).toEqual(['UNTRACKED']);
    expect(u.next && announcementKind(u.next)).toBeUndefined();
  });

  it('tracks an image again when it comes back, remembering it was seen present', () => {
    const { state } = replay(['OK'], { announce: true });
    const u = untrack(state as ImageState, ctx(30));
    const back = evolve(u.next, result(IMG, 'TAG_MISSING'), ctx(45));
    expect(back.next?.tracked).toBe(true);
    expect(back.next?.status).toBe('DISAPPEARED');
    expect(back.events).toEqual([expect.objectContaining({ kind: 'TRACKED', from: 'PRESENT', to: 'DISAPPEARED' })]);
    expect(back.next && announcementKind(back.next)).toBe('new');
  });

  it('does nothing for an image that is already untracked', () => {
    const { state } = replay(['OK']);
    const u = untrack(state as ImageState, ctx(30));
    expect(untrack(u.next as ImageState, ctx(45))).toEqual({ events: [] });
  });
});

describe('pendingAnnouncement', () => {
  const DAY = 24 * 3_600_000;
  it('owes a reminder every 24 hours while a drift stays open, keyed by the last notification', () => {
    const { state } = replay(['TAG_MISSING'], { announce: true });
    const s = state as ImageState;
    expect(pendingAnnouncement(s, new Date(t0.getTime() + DAY - 1), DAY)).toBeUndefined();
    const due = pendingAnnouncement(s, new Date(t0.getTime() + DAY), DAY);
    expect(due?.kind).toBe('reminder');
    expect(due?.claim.key).toContain(s.notifiedAt);
  });

  it('never reminds about UNVERIFIED or a present image', () => {
    const unverified = replay(['OK', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'], { announce: true }).state as ImageState;
    expect(pendingAnnouncement(unverified, new Date(t0.getTime() + 10 * DAY), DAY)).toBeUndefined();
    const present = replay(['OK'], { announce: true }).state as ImageState;
    expect(pendingAnnouncement(present, new Date(t0.getTime() + 10 * DAY), DAY)).toBeUndefined();
  });

  it('gives the same claim key to two runs that owe the same change', () => {
    const a = replay(['OK', 'TAG_MISSING'], { announce: false }).state as ImageState;
    const k1 = pendingAnnouncement(a, ctx(100).now, DAY)?.claim;
    const k2 = pendingAnnouncement({ ...a }, ctx(200).now, DAY)?.claim;
    expect(k1).toEqual(k2);
    expect(k1?.key).toMatch(/#new$/);
  });
});
