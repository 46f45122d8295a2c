import { describe, expect, it } from 'vitest';
import { trackDrift } from '../../lambdas/engine/history/index.js';
import { SnsNotifier } from '../../lambdas/engine/notify/sns.js';
import type { Notifier } from '../../lambdas/engine/notify/types.js';
import { localSnsClient, startFakeSns } from '../support/sns.js';
import { result, uniqueImage } from './fixtures.js';
import { COMMIT, historyHarness, useLocalAwsServers } from './harness.js';

const servers = useLocalAwsServers();

describe('trackDrift against DynamoDB (dynalite) and SNS (fauxqs)', () => {
  it('sends exactly one message per change for present → disappeared → resolved, none in between', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage('api');
    const perRun: number[] = [];
    const sequence = ['OK', 'OK', 'TAG_MISSING', 'TAG_MISSING', 'OK', 'OK'] as const;
    const messages = [];
    for (const [i, v] of sequence.entries()) {
      await h.run(`run-${i}`, [result(img, v, { apps: ['payments'], file: 'apps/payments/deploy.yaml', line: 21 })]);
      const got = await h.published();
      perRun.push(got.length);
      messages.push(...got);
      h.advanceMinutes(15);
    }
    expect(perRun).toEqual([0, 0, 1, 0, 1, 0]);
    const [disappeared, resolved] = messages;
    expect(disappeared?.subject).toBe(`1 image disappeared · org/gitops@${COMMIT.slice(0, 7)}`);
    expect(disappeared?.text).toContain(img);
    expect(disappeared?.text).toContain('== payments (1) ==');
    expect(disappeared?.text).toContain('DISAPPEARED (was PRESENT)');
    expect(disappeared?.text).toContain('HTTP 404');
    expect(disappeared?.text).toContain('MANIFEST_UNKNOWN');
    expect(disappeared?.text).toContain('apps/payments/deploy.yaml:21');
    expect(disappeared?.text).toContain('Fix:      Push the tag');
    expect(disappeared?.attributes['severity']).toEqual({ Type: 'String', Value: 'high' });
    expect(disappeared?.attributes['repository']?.Value).toBe('org/gitops');
    expect(JSON.parse(disappeared?.attributes['verdicts']?.Value ?? '[]')).toEqual(['TAG_MISSING']);
    expect(disappeared?.payload.changes).toEqual([expect.objectContaining({ kind: 'new', image: img, status: 'DISAPPEARED' })]);
    expect(resolved?.subject).toBe(`1 drift resolved · org/gitops@${COMMIT.slice(0, 7)}`);
    expect(resolved?.attributes['severity']?.Value).toBe('low');

    const events = await h.store.listEvents({ image: img });
    expect(events.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['STATUS_CHANGED', 'DISAPPEARED', 'PRESENT'],
      ['STATUS_CHANGED', 'PRESENT', 'DISAPPEARED'],
      ['TRACKED', undefined, 'PRESENT'],
    ]);
    h.close();
  });

  it('announces NEVER_PUSHED on the first run', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const [a, b] = [uniqueImage('a'), uniqueImage('b')];
    const out = await h.run('first', [result(a, 'TAG_MISSING'), result(b, 'REPO_MISSING')]);
    expect(out.drift.get(a)).toBe('NEVER_PUSHED');
    expect(out.drift.get(b)).toBe('NEVER_PUSHED');
    const got = await h.published();
    expect(got).toHaveLength(1);
    expect(got[0]?.subject).toBe(`2 images never pushed · org/gitops@${COMMIT.slice(0, 7)}`);
    expect(out.notification).toEqual({ sent: true, messageIds: [got[0]?.messageId] });
    h.close();
  });

  it('records and sends nothing the second time the same run id comes in', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    const first = await h.run('evt-1', [result(img, 'TAG_MISSING')]);
    const again = await h.run('evt-1', [result(img, 'TAG_MISSING')]);
    expect(first.transitions).toHaveLength(1);
    expect(again.transitions).toEqual([]);
    expect(again.notification).toBeUndefined();
    expect(await h.published()).toHaveLength(1);
    expect(await h.store.listEvents({ image: img })).toHaveLength(1);
    expect((await h.store.listRuns()).map((r) => r.runId)).toEqual(['evt-1']);
    h.close();
  });

  it('sends one message between two concurrent runs that see the same change', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('seed', [result(img, 'OK')]);
    h.advanceMinutes(15);
    const [a, b] = await Promise.all([h.run('run-a', [result(img, 'TAG_MISSING')]), h.run('run-b', [result(img, 'TAG_MISSING')])]);
    expect(a.transitions.length + b.transitions.length).toBe(1);
    expect(await h.published()).toHaveLength(1);
    expect((await h.store.listEvents({ image: img })).filter((e) => e.to === 'DISAPPEARED')).toHaveLength(1);
    h.close();
  });

  it('records the change once when a run read the state before a concurrent run changed it', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('seed', [result(img, 'OK')]);
    h.advanceMinutes(15);
    // Run A reads the states, then waits until run B has recorded and announced the change.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const base = h.store;
    const stale = Object.create(base) as typeof base;
    stale.loadActiveStates = async () => {
      const states = await base.loadActiveStates();
      await gate;
      return states;
    };
    const a = trackDrift(
      { runId: 'run-a', repository: 'org/gitops', startedAt: h.now(), durationMs: 1, results: [result(img, 'TAG_MISSING')] },
      { store: stale, notifier: h.notifier, clock: h.now },
    );
    const b = await h.run('run-b', [result(img, 'TAG_MISSING')]);
    release();
    const aOut = await a;
    expect(b.transitions).toHaveLength(1);
    expect(aOut.transitions).toEqual([]);
    expect(aOut.notification).toBeUndefined();
    expect(await h.published()).toHaveLength(1);
    h.close();
  });

  it('announces once when a concurrent run finds the change while the first is still publishing', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('seed', [result(img, 'OK')]);
    h.advanceMinutes(15);
    // Run B records the change and claims it, then its publish waits until run A has finished.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let claimed!: () => void;
    const publishing = new Promise<void>((r) => (claimed = r));
    const slow: Notifier = {
      publish: async (m) => {
        claimed();
        await gate;
        return h.notifier.publish(m);
      },
    };
    const b = h.run('run-b', [result(img, 'TAG_MISSING')], { notifier: slow });
    await publishing;
    const a = await h.run('run-a', [result(img, 'TAG_MISSING')]);
    release();
    const bOut = await b;
    expect(a.transitions).toEqual([]);
    expect(a.notification).toBeUndefined();
    expect(bOut.notification?.sent).toBe(true);
    expect(await h.published()).toHaveLength(1);
    h.close();
  });

  it('announces each of many changes once when concurrent runs interleave', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const images = Array.from({ length: 8 }, () => uniqueImage('many'));
    await h.run('seed', images.map((i) => result(i, 'OK')));
    h.advanceMinutes(15);
    const runs = await Promise.all(['x', 'y', 'z'].map((id) => h.run(id, images.map((i) => result(i, 'TAG_MISSING')))));
    expect(runs.reduce((n, r) => n + r.transitions.length, 0)).toBe(8);
    const announced = (await h.published()).flatMap((m) => m.payload.changes.map((c) => c.image)).sort();
    expect(announced).toEqual([...images].sort());
    h.close();
  });

  it('never transitions on RATE_LIMITED or UNREACHABLE', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const [present, missing] = [uniqueImage('p'), uniqueImage('m')];
    await h.run('r0', [result(present, 'OK'), result(missing, 'TAG_MISSING')]);
    await h.published();
    for (const [i, v] of (['RATE_LIMITED', 'UNREACHABLE'] as const).entries()) {
      h.advanceMinutes(15);
      const out = await h.run(`r${i + 1}`, [result(present, v), result(missing, v)]);
      expect(out.transitions).toEqual([]);
      expect(out.drift.get(present)).toBe('PRESENT');
      expect(out.drift.get(missing)).toBe('NEVER_PUSHED');
    }
    expect(await h.published()).toEqual([]);
    h.close();
  });

  it('flags UNVERIFIED after 3 runs without a verdict and alerts it once', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('r0', [result(img, 'OK')]);
    const perRun: number[] = [];
    let last;
    for (let i = 1; i <= 6; i++) {
      h.advanceMinutes(15);
      last = await h.run(`r${i}`, [result(img, 'UNREACHABLE')]);
      perRun.push((await h.published()).length);
    }
    expect(perRun).toEqual([0, 0, 1, 0, 0, 0]);
    expect(last?.drift.get(img)).toBe('UNVERIFIED');
    const [state] = await h.store.listOpenDrifts();
    expect(state).toMatchObject({ image: img, status: 'UNVERIFIED', noVerdictRuns: 3, verifiedStatus: 'PRESENT' });
    h.advanceMinutes(15);
    await h.run('r7', [result(img, 'OK')]);
    const back = await h.published();
    // PRESENT before the outage and PRESENT after: verified again, not a drift resolved
    expect(back.map((m) => m.payload.changes[0]?.kind)).toEqual(['verified']);
    expect(back[0]?.payload.changes[0]).toMatchObject({ status: 'PRESENT', previous: 'PRESENT' });
    expect(await h.store.getState(img)).toMatchObject({ status: 'PRESENT', statusBeforeUnverified: 'PRESENT' });
    h.close();
  });

  it('reminds every 24 hours while a drift stays open', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint, { reminderIntervalHours: 24 });
    const img = uniqueImage();
    const steps = [0, 15, 24 * 60 - 15, 15, 60, 23 * 60 - 15, 15];
    const subjects: Array<string | null> = [];
    for (const [i, minutes] of steps.entries()) {
      h.advanceMinutes(minutes);
      await h.run(`r${i}`, [result(img, 'TAG_MISSING')]);
      const got = await h.published();
      subjects.push(got.length ? (got[0]?.subject ?? null) : null);
      expect(got.length).toBeLessThanOrEqual(1);
    }
    // t=0 new; 15m nothing; 24h00 reminder; 24h15 and 25h15 nothing; 48h00 (24 h after the reminder) reminder; 48h15 nothing
    expect(subjects.map((s) => (s ? s.split(' · ')[0] : null))).toEqual([
      '1 image never pushed',
      null,
      '1 drift still open',
      null,
      null,
      '1 drift still open',
      null,
    ]);
    h.close();
  });

  it('closes the drift of an image that left the desired state as "no longer desired", once', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const [gone, stays] = [uniqueImage('gone'), uniqueImage('stays')];
    await h.run('r0', [result(gone, 'TAG_MISSING'), result(stays, 'TAG_MISSING')]);
    await h.published();
    h.advanceMinutes(15);
    const out = await h.run('r1', [result(stays, 'TAG_MISSING')]);
    expect(out.transitions).toEqual([expect.objectContaining({ image: gone, kind: 'UNTRACKED', from: 'NEVER_PUSHED' })]);
    const [msg, ...rest] = await h.published();
    expect(rest).toEqual([]);
    expect(msg?.payload.changes).toEqual([expect.objectContaining({ kind: 'no-longer-desired', image: gone })]);
    expect(msg?.subject).toMatch(/^1 drift closed: no longer desired/);
    expect(msg?.text).toContain('not a fix');
    expect(msg?.text).not.toContain('RESOLVED');
    expect((await h.store.listOpenDrifts()).map((s) => s.image)).toEqual([stays]);
    h.advanceMinutes(15);
    await h.run('r2', [result(stays, 'TAG_MISSING')]);
    expect(await h.published()).toEqual([]);
    h.close();
  });

  it('keeps images that are missing from an incomplete run tracked', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const [a, b] = [uniqueImage('a'), uniqueImage('b')];
    await h.run('r0', [result(a, 'TAG_MISSING'), result(b, 'OK')]);
    await h.published();
    h.advanceMinutes(15);
    const partial = await h.run('r1', [result(b, 'OK')], { complete: false, errors: ['github: org/infra unreadable'] });
    expect(partial.transitions).toEqual([]);
    expect(await h.published()).toEqual([]);
    expect((await h.store.listOpenDrifts()).map((s) => s.image)).toEqual([a]);
    h.close();
  });

  it('keeps an announcement whose publish failed and sends it on a later run', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const fake = await startFakeSns(() => ({ ok: false, status: 500, code: 'InternalError', message: 'boom', type: 'Receiver' }));
    const sns = localSnsClient(fake.endpoint, 2);
    const failing = new SnsNotifier({ client: sns, topicArn: h.topicArn, attempts: 2, baseDelayMs: 5 });
    const img = uniqueImage();
    const first = await h.run('r0', [result(img, 'TAG_MISSING')], { notifier: failing });
    expect(first.transitions).toHaveLength(1);
    expect(first.notification?.sent).toBe(false);
    expect(first.notification?.error).toContain('InternalError');
    // SDK attempts (2) × our attempts (2)
    expect(fake.requests.filter((r) => r.action === 'Publish')).toHaveLength(4);
    const [run] = await h.store.listRuns({ limit: 1 });
    expect(run?.notification?.sent).toBe(false);
    expect(run?.errors.join('\n')).toContain('notification');

    h.advanceMinutes(15);
    const second = await h.run('r1', [result(img, 'TAG_MISSING')]);
    expect(second.transitions).toEqual([]);
    expect(second.notification?.sent).toBe(true);
    const got = await h.published();
    expect(got.map((m) => m.payload.changes.map((c) => [c.kind, c.image]))).toEqual([[['new', img]]]);
    h.advanceMinutes(15);
    await h.run('r2', [result(img, 'TAG_MISSING')]);
    expect(await h.published()).toEqual([]);
    sns.destroy();
    await fake.stop();
    h.close();
  });

  it('does not retry a publish that cannot succeed (topic not found)', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const fake = await startFakeSns(() => ({ ok: false, status: 404, code: 'NotFound', message: 'Topic does not exist' }));
    const sns = localSnsClient(fake.endpoint, 3);
    const notifier = new SnsNotifier({ client: sns, topicArn: h.topicArn, attempts: 3, baseDelayMs: 5 });
    const out = await h.run('r0', [result(uniqueImage(), 'TAG_MISSING')], { notifier });
    expect(out.notification?.sent).toBe(false);
    expect(fake.requests).toHaveLength(1);
    sns.destroy();
    await fake.stop();
    h.close();
  });

  it('splits a run with many changes into messages SNS accepts, each change in exactly one', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const longPath = 'clusters/production/eu-west-1/tenants/team-platform/apps/'.repeat(3);
    const images = Array.from({ length: 30 }, () => uniqueImage('big'));
    const results = images.map((img) => ({
      ...result(img, 'TAG_MISSING', { apps: ['app-a', 'app-b'] }),
      hint: 'Push the tag to the registry or correct the reference. '.repeat(18),
      locations: Array.from({ length: 10 }, (_, i) => ({ file: `${longPath}deploy-${i}.yaml`, line: i + 1 })),
    }));
    const out = await h.run('big', results);
    expect(out.notification?.sent).toBe(true);
    const got = await h.published();
    expect(got.length).toBeGreaterThan(1);
    expect(out.notification?.messageIds).toHaveLength(got.length);
    for (const [i, m] of got.entries()) {
      expect(Buffer.byteLength(m.message)).toBeLessThan(256 * 1024);
      expect(m.subject?.length).toBeLessThan(100);
      expect(m.payload.part.total).toBe(got.length);
      expect(new Set(got.map((g) => g.payload.part.index)).size).toBe(got.length);
      expect(i).toBeLessThan(got.length);
    }
    const announced = got.flatMap((m) => m.payload.changes.map((c) => c.image)).sort();
    expect(announced).toEqual([...images].sort());
    h.close();
  });
});

describe('history queries', () => {
  it('lists events by image, app, time range and status, open drifts and recent runs', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const [api, web] = [uniqueImage('api'), uniqueImage('web')];
    await h.run('q0', [result(api, 'OK', { apps: ['payments'] }), result(web, 'OK', { apps: ['shop'] })], { notifier: null });
    h.advanceMinutes(60 * 24 * 40); // next month
    const mid = h.now();
    await h.run('q1', [result(api, 'TAG_MISSING', { apps: ['payments'] }), result(web, 'OK', { apps: ['shop'] })], { notifier: null, errors: ['registry ghcr.io slow'] });
    h.advanceMinutes(15);
    await h.run('q2', [result(api, 'TAG_MISSING', { apps: ['payments'] }), result(web, 'PRIVATE', { apps: ['shop'] })], { notifier: null });

    expect((await h.store.listEvents({ image: api })).map((e) => e.to)).toEqual(['DISAPPEARED', 'PRESENT']);
    expect((await h.store.listEvents({ app: 'shop' })).map((e) => [e.image, e.to])).toEqual([
      [web, 'PRIVATE'],
      [web, 'PRESENT'],
    ]);
    expect((await h.store.listEvents({ since: mid })).map((e) => e.to)).toEqual(['PRIVATE', 'DISAPPEARED']);
    expect((await h.store.listEvents({ until: new Date(mid.getTime() - 1) })).map((e) => e.to)).toEqual(['PRESENT', 'PRESENT']);
    expect((await h.store.listEvents({ status: 'DISAPPEARED' })).map((e) => e.image)).toEqual([api]);
    expect(await h.store.listEvents({ limit: 1 })).toHaveLength(1);
    expect((await h.store.listOpenDrifts()).map((s) => [s.image, s.status]).sort()).toEqual(
      [
        [api, 'DISAPPEARED'],
        [web, 'PRIVATE'],
      ].sort(),
    );
    const runs = await h.store.listRuns({ limit: 2 });
    expect(runs.map((r) => r.runId)).toEqual(['q2', 'q1']);
    expect(runs[0]).toMatchObject({ repository: 'org/gitops', commit: COMMIT, counts: { DISAPPEARED: 1, PRIVATE: 1 }, images: 2, transitions: 1 });
    expect(runs[1]?.errors).toEqual(['registry ghcr.io slow']);
    expect(runs[0]?.expiresAt).toBe(Math.floor(h.now().getTime() / 1000) + 90 * 86_400);
    h.close();
  });
});
