/**
 * The alert policy over a real history table (dynalite) and a real topic (fauxqs → SQS): what on-call
 * receives for pull secrets, NOT_VISIBLE_ANONYMOUSLY, ignore entries, reminders, a first run without
 * credentials, and that a run sends one digest, never one message per image.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type AuditorConfigInput } from '../../lambdas/engine/config/schema.js';
import type { AuditResult } from '../../lambdas/engine/model.js';
import { AlertPolicy } from '../../lambdas/engine/notify/policy.js';
import { result, uniqueImage } from '../history/fixtures.js';
import { historyHarness, useLocalAwsServers } from '../history/harness.js';

const servers = useLocalAwsServers();

function policy(config: Partial<AuditorConfigInput> = {}): AlertPolicy {
  return new AlertPolicy(parseConfig({ ...config }));
}

function privateImage(image: string, workloadsWithout: string[], secrets: string[] = []): AuditResult {
  return { ...result(image, 'PRIVATE'), pullAccess: { secrets, workloadsWithout } };
}

describe('alert policy: pull secrets', () => {
  it('a private image every workload pulls with a secret alerts nothing; one pulled without any secret alerts as PULL_SECRET_MISSING, and adding the secret resolves it', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy();
    const pulled = uniqueImage('pulled');
    const unpulled = uniqueImage('unpulled');
    await h.run('r1', [privateImage(pulled, [], ['ghcr-pull']), privateImage(unpulled, ['web: Deployment/team/web (ServiceAccount default)'])], { policy: p });
    const first = await h.published();
    expect(first).toHaveLength(1);
    expect(first[0]?.payload.changes.map((c) => [c.kind, c.image, c.status])).toEqual([['new', unpulled, 'PULL_SECRET_MISSING']]);
    expect(first[0]?.subject).toMatch(/^1 image pulled without a pull secret · org\/gitops@a1b2c3d$/);
    expect(first[0]?.text).toContain('Status:   PULL_SECRET_MISSING since 2026-11-02 08:00 UTC');

    h.advanceMinutes(60);
    await h.run('r2', [privateImage(pulled, [], ['ghcr-pull']), privateImage(unpulled, [], ['ghcr-pull'])], { policy: p });
    const second = await h.published();
    expect(second.map((m) => m.payload.changes.map((c) => [c.kind, c.status]))).toEqual([[['resolved', 'PRIVATE']]]);
    expect(second[0]?.text).toContain('PRIVATE (was PULL_SECRET_MISSING)');

    h.advanceMinutes(60);
    await h.run('r3', [privateImage(pulled, [], ['ghcr-pull']), privateImage(unpulled, [], ['ghcr-pull'])], { policy: p });
    expect(await h.published()).toEqual([]);
    h.close();
  });
});

describe('alert policy: NOT_VISIBLE_ANONYMOUSLY', () => {
  it('alerts only once it stayed unsettled for notVisibleAlertAfterRuns runs, and names the credential that settles it', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy({ notVisibleAlertAfterRuns: 3 });
    const hidden = uniqueImage('hidden');
    const runs: number[] = [];
    for (let run = 1; run <= 4; run++) {
      await h.run(`r${run}`, [result(hidden, 'NOT_VISIBLE_ANONYMOUSLY')], { policy: p });
      runs.push((await h.published()).length);
      h.advanceMinutes(60);
    }
    expect(runs).toEqual([0, 0, 1, 0]);
    const [state] = (await h.store.listOpenDrifts()).filter((s) => s.image === hidden);
    expect(state?.statusRuns).toBe(3);
    h.close();
  });

  it('the alert says which credential settles it', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy({ notVisibleAlertAfterRuns: 1, registries: { 'ghcr.io': { credential: { type: 'github-token' } } } });
    await h.run('r1', [result(uniqueImage('hidden'), 'NOT_VISIBLE_ANONYMOUSLY')], { policy: p });
    const [message] = await h.published();
    expect(message?.text).toContain('Settle:   The github-token credential configured for ghcr.io (secret key githubToken) cannot see it');
    h.close();
  });

  it('0 runs means never', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy({ notVisibleAlertAfterRuns: 0 });
    const hidden = uniqueImage('hidden');
    for (let run = 1; run <= 3; run++) {
      await h.run(`r${run}`, [result(hidden, 'NOT_VISIBLE_ANONYMOUSLY')], { policy: p });
      h.advanceMinutes(60);
    }
    expect(await h.published()).toEqual([]);
    h.close();
  });
});

describe('alert policy: alertOn', () => {
  it('a status outside alertOn is recorded but never alerted, and its end is not announced either', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy({ alertOn: ['NEVER_PUSHED'] });
    const image = uniqueImage('armless');
    const missing = uniqueImage('missing');
    const out = await h.run('r1', [result(image, 'PLATFORM_MISSING'), result(missing, 'TAG_MISSING')], { policy: p });
    expect(out.drift.get(image)).toBe('PLATFORM_MISSING');
    const first = await h.published();
    expect(first.map((m) => m.payload.changes.map((c) => c.image))).toEqual([[missing]]);
    h.advanceMinutes(60);
    await h.run('r2', [result(image, 'OK'), result(missing, 'TAG_MISSING')], { policy: p });
    expect(await h.published()).toEqual([]);
    h.close();
  });
});

describe('alert policy: ignore', () => {
  it('an ignored image alerts nothing until the entry expires; then every run warns and the alert goes out once', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint, { reminderIntervalHours: 168 });
    // The harness clock starts on 2026-11-02.
    const p = policy({ ignore: [{ image: 'ghcr.io/acme/legacy-*', app: 'web', reason: 'retired with ticket OPS-12', until: '2026-11-03' }] });
    const legacy = uniqueImage('legacy');
    const other = uniqueImage('other');
    const out = await h.run('r1', [result(legacy, 'TAG_MISSING'), result(other, 'TAG_MISSING', { apps: ['api'] }), result(legacy.replace('legacy', 'legacy-b'), 'TAG_MISSING', { apps: ['api'] })], { policy: p });
    expect(out.warnings).toEqual([]);
    const first = await h.published();
    expect(first).toHaveLength(1);
    // The app filter: only the legacy image of app web is ignored.
    expect(first[0]?.payload.changes.map((c) => c.image).sort()).toEqual([other, legacy.replace('legacy', 'legacy-b')].sort());

    h.advanceMinutes(60 * 24 * 2); // 2026-11-04: past the end of 2026-11-03
    const later = await h.run('r2', [result(legacy, 'TAG_MISSING'), result(other, 'TAG_MISSING', { apps: ['api'] }), result(legacy.replace('legacy', 'legacy-b'), 'TAG_MISSING', { apps: ['api'] })], { policy: p });
    expect(later.warnings).toEqual([expect.stringMatching(/^ignore\[0\] \(ghcr\.io\/acme\/legacy-\*, app web\) expired on 2026-11-03: its images alert again\. Reason given: retired with ticket OPS-12$/)]);
    const second = await h.published();
    expect(second.map((m) => m.payload.changes.map((c) => [c.kind, c.image]))).toEqual([[['new', legacy]]]);
    expect(second[0]?.text).toContain('== Configuration warnings ==');
    h.close();
  });
});

describe('alert policy: reminders and digests', () => {
  it('one run with many new drifts sends one digest message', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const images = Array.from({ length: 12 }, (_, i) => uniqueImage(`digest${i}`));
    await h.run('r1', images.map((image) => result(image, 'TAG_MISSING')), { policy: policy() });
    const messages = await h.published();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.payload.changes).toHaveLength(12);
    expect(messages[0]?.subject).toMatch(/^12 images never pushed · org\/gitops@a1b2c3d$/);
    h.close();
  });

  it('reminds weekly by default, all open alerts in one message, and never with 0', async () => {
    const weekly = await historyHarness(servers.ddb, servers.snsEndpoint, { reminderIntervalHours: parseConfig({}).reminderIntervalHours });
    const never = await historyHarness(servers.ddb, servers.snsEndpoint, { reminderIntervalHours: parseConfig({ reminderIntervalHours: 0 }).reminderIntervalHours });
    for (const h of [weekly, never]) {
      const images = [uniqueImage('a'), uniqueImage('b')];
      const results = images.map((image) => result(image, 'TAG_MISSING'));
      await h.run('r1', results, { policy: policy() });
      expect(await h.published()).toHaveLength(1);
      const sent: number[] = [];
      for (const hours of [24, 24 * 6, 24]) {
        h.advanceMinutes(hours * 60);
        await h.run(`r-${hours}-${sent.length}`, results, { policy: policy() });
        const got = await h.published();
        sent.push(got.length);
        if (got.length) expect(got[0]?.payload.changes.map((c) => c.kind)).toEqual(['reminder', 'reminder']);
      }
      expect(sent).toEqual(h === weekly ? [0, 1, 0] : [0, 0, 0]);
      h.close();
    }
  });
});

describe('alert policy: a first run without credentials', () => {
  it('sends one "setup incomplete" message instead of a storm, and the next run sends the alerts owed once', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const p = policy();
    const results = [uniqueImage('x'), uniqueImage('y'), uniqueImage('z')].map((image) => result(image, 'TAG_MISSING'));
    const problems = ['the auditor secret is empty: no githubToken and no registries credentials; private images can only be probed anonymously'];
    await h.run('r1', results, { policy: p, setupIncomplete: problems });
    const first = await h.published();
    expect(first).toHaveLength(1);
    expect(first[0]?.subject).toBe('Setup incomplete: credentials missing · org/gitops@a1b2c3d');
    expect(first[0]?.text).toContain(problems[0]);
    expect(first[0]?.text).toContain('Images seen: NEVER_PUSHED 3.');

    h.advanceMinutes(60);
    await h.run('r2', results, { policy: p, setupIncomplete: problems });
    const second = await h.published();
    expect(second.map((m) => m.payload.changes.length)).toEqual([3]);

    h.advanceMinutes(60);
    await h.run('r3', results, { policy: p, setupIncomplete: problems });
    expect(await h.published()).toEqual([]);
    h.close();
  });
});
