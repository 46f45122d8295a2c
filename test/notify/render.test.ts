import { describe, expect, it } from 'vitest';
import { renderNotification, SNS_MAX_MESSAGE_BYTES } from '../../lambdas/engine/notify/render.js';
import type { NotificationChange, NotificationContext } from '../../lambdas/engine/notify/types.js';

const ctx: NotificationContext = {
  repository: 'org/gitops',
  commit: 'a1b2c3d4e5f6',
  runId: 'evt-123',
  at: new Date('2026-11-28T07:40:00Z'),
};

function change(image: string, over: Partial<NotificationChange> = {}): NotificationChange {
  return {
    kind: 'new',
    image,
    status: 'NEVER_PUSHED',
    since: '2026-11-28T07:40:00.000Z',
    verdict: 'TAG_MISSING',
    evidence: { anonymous: { http: 404, code: 'MANIFEST_UNKNOWN', stage: 'manifest', message: 'manifest unknown' } },
    hint: 'Push ghcr.io/acme/api:1.2.3 or fix the tag in the manifest.',
    apps: ['payments'],
    locations: [{ file: 'apps/payments/deployment.yaml', line: 14 }],
    ...over,
  };
}

describe('renderNotification', () => {
  it('renders nothing for a run without changes', () => {
    expect(renderNotification([], ctx)).toEqual([]);
  });

  it('says what happened in the subject, with repository and short commit', () => {
    const [m] = renderNotification([change('ghcr.io/acme/a:1'), change('ghcr.io/acme/b:1')], ctx);
    expect(m?.subject).toBe('2 images never pushed · org/gitops@a1b2c3d');
  });

  it('summarises mixed changes in the subject', () => {
    const [m] = renderNotification(
      [
        change('ghcr.io/acme/a:1'),
        change('ghcr.io/acme/b:1', { status: 'DISAPPEARED', previous: 'PRESENT' }),
        change('ghcr.io/acme/c:1', { kind: 'resolved', status: 'PRESENT', previous: 'DISAPPEARED' }),
        change('ghcr.io/acme/d:1', { kind: 'reminder', status: 'PRIVATE', previous: 'PRIVATE', verdict: 'PRIVATE' }),
      ],
      ctx,
    );
    expect(m?.subject).toBe('2 new drifts, 1 still open, 1 resolved · org/gitops@a1b2c3d');
    expect(m?.attributes['severity']).toEqual({ DataType: 'String', StringValue: 'high' });
    expect(JSON.parse(m?.attributes['kinds']?.StringValue ?? '')).toEqual(['new', 'reminder', 'resolved']);
    expect(JSON.parse(m?.attributes['verdicts']?.StringValue ?? '')).toEqual(['PRIVATE', 'TAG_MISSING']);
    expect(m?.attributes['verdicts']?.DataType).toBe('String.Array');
  });

  it('keeps the subject under 100 characters for long repository names', () => {
    const [m] = renderNotification([change('x/y:1')], { ...ctx, repository: 'a-very-long-organisation-name/' + 'g'.repeat(120) });
    expect(m?.subject.length).toBeLessThan(100);
    expect(m?.subject.startsWith('1 image never pushed')).toBe(true);
  });

  it('groups entries by app, with status, evidence, file:line and the fix', () => {
    const [m] = renderNotification(
      [
        change('ghcr.io/acme/shared:2', { apps: ['web', 'payments'], status: 'DISAPPEARED', previous: 'PRESENT' }),
        change('ghcr.io/acme/web:1', { apps: ['web'], evidence: { anonymous: { http: 200, digest: 'sha256:abc' } }, verdict: 'PLATFORM_MISSING', status: 'PLATFORM_MISSING' }),
      ],
      ctx,
    );
    const text = m?.text ?? '';
    const payments = text.indexOf('== payments (1) ==');
    const web = text.indexOf('== web (2) ==');
    expect(payments).toBeGreaterThan(0);
    expect(web).toBeGreaterThan(payments);
    expect(text.split('ghcr.io/acme/shared:2').length - 1).toBe(2);
    expect(text).toContain('NEW  ghcr.io/acme/shared:2');
    expect(text).toContain('Status:   DISAPPEARED (was PRESENT) since 2026-11-28 07:40 UTC');
    expect(text).toContain('Evidence: verdict TAG_MISSING · HTTP 404 · MANIFEST_UNKNOWN · at manifest');
    expect(text).toContain('Where:    apps/payments/deployment.yaml:14');
    expect(text).toContain('Fix:      Push ghcr.io/acme/api:1.2.3');
    expect(text).toContain('digest sha256:abc');
  });

  it('tells how long a reminded drift has been open and which platforms a PLATFORM_MISSING image has', () => {
    const [m] = renderNotification(
      [
        change('quay.io/acme/legacy:0.9', {
          kind: 'reminder',
          status: 'PLATFORM_MISSING',
          previous: 'PLATFORM_MISSING',
          verdict: 'PLATFORM_MISSING',
          since: '2026-11-25T07:40:00.000Z',
          evidence: { anonymous: { http: 200, platforms: ['linux/amd64'] } },
        }),
      ],
      ctx,
    );
    expect(m?.subject).toBe('1 drift still open · org/gitops@a1b2c3d');
    expect(m?.text).toContain('PLATFORM_MISSING since 2026-11-25 07:40 UTC (open 3 days)');
    expect(m?.text).toContain('Platforms in the image: linux/amd64');
    expect(m?.attributes['severity']?.StringValue).toBe('medium');
  });

  it('says "no longer desired" and not "resolved" for an image that left the desired state', () => {
    const [m] = renderNotification([change('x/y:1', { kind: 'no-longer-desired', status: 'UNTRACKED', previous: 'DISAPPEARED', closedStatus: 'DISAPPEARED' })], ctx);
    expect(m?.subject).toBe('1 drift closed: no longer desired · org/gitops@a1b2c3d');
    expect(m?.text).toContain('NO LONGER DESIRED  x/y:1');
    expect(m?.text).toContain('DISAPPEARED closed: the image is no longer in the desired state (not a fix)');
    expect(m?.text).not.toMatch(/RESOLVED/);
    expect(m?.attributes['severity']?.StringValue).toBe('low');
  });

  it('says "verified again" for images whose status the registry confirms after an outage', () => {
    const [m] = renderNotification(
      [
        change('x/y:1', { kind: 'verified', previous: 'NEVER_PUSHED', since: '2026-11-20T09:15:00.000Z' }),
        change('x/z:1', { kind: 'verified', status: 'PRESENT', previous: 'PRESENT', verdict: 'OK', hint: undefined }),
      ],
      ctx,
    );
    expect(m?.subject).toBe('2 images verified again · org/gitops@a1b2c3d');
    expect(m?.text).toContain('VERIFIED AGAIN  x/y:1');
    expect(m?.text).toContain('NEVER_PUSHED since 2026-11-20 09:15 UTC, unchanged: the registry answers again');
    expect(m?.text).not.toMatch(/RESOLVED|NEW  /);
    expect(m?.attributes['severity']?.StringValue).toBe('low');
    expect(JSON.parse(m?.attributes['kinds']?.StringValue ?? '')).toEqual(['verified']);
    expect(m?.payload.summary).toEqual({ verified: 2 });
    const [mixed] = renderNotification([change('a/b:1'), change('x/y:1', { kind: 'verified' })], ctx);
    expect(mixed?.subject).toBe('1 new drift, 1 verified again · org/gitops@a1b2c3d');
  });

  it('builds a MessageStructure json body with text for email and JSON for machines', () => {
    const [m] = renderNotification([change('x/y:1')], ctx);
    const doc = JSON.parse(m?.message ?? '') as Record<string, string>;
    expect(Object.keys(doc).sort()).toEqual(['default', 'email', 'https', 'lambda', 'sqs']);
    expect(doc['email']).toBe(m?.text);
    const payload = JSON.parse(doc['sqs'] ?? '');
    expect(payload).toMatchObject({
      schema: 'image-drift-auditor/notification@1',
      repository: 'org/gitops',
      commit: 'a1b2c3d4e5f6',
      runId: 'evt-123',
      part: { index: 1, total: 1 },
      summary: { new: 1 },
      changes: [{ kind: 'new', image: 'x/y:1', status: 'NEVER_PUSHED', evidence: { http: 404, code: 'MANIFEST_UNKNOWN' } }],
    });
    expect(doc['lambda']).toBe(doc['sqs']);
  });

  it('bounds evidence: long tag and package lists never reach the message', () => {
    const [m] = renderNotification(
      [
        change('x/y:1', {
          evidence: {
            anonymous: { http: 404, message: 'm'.repeat(10_000) },
            tags: { nearest: Array.from({ length: 500 }, (_, i) => `v${i}`), recent: Array.from({ length: 5000 }, (_, i) => `r${i}`) },
            packagesApi: { ownerPackages: Array.from({ length: 5000 }, (_, i) => `pkg-${i}`) },
          },
        }),
      ],
      ctx,
    );
    expect(m?.bytes).toBeLessThan(10_000);
    expect(m?.text).toContain('Nearest tags: v0, v1, v2, v3, v4');
    expect(m?.message).not.toContain('pkg-1');
  });

  it('splits under the byte budget, numbering parts, with every change in exactly one message', () => {
    const changes = Array.from({ length: 60 }, (_, i) => change(`ghcr.io/acme/svc-${String(i).padStart(2, '0')}:1`));
    const messages = renderNotification(changes, ctx, { maxBytes: 20_000 });
    expect(messages.length).toBeGreaterThan(2);
    for (const [i, m] of messages.entries()) {
      expect(m.bytes).toBeLessThanOrEqual(20_000);
      expect(m.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(m.message) + Buffer.byteLength(m.subject));
      expect(m.subject.endsWith(`(${i + 1}/${messages.length})`)).toBe(true);
      expect(m.payload.part).toEqual({ index: i + 1, total: messages.length });
      expect(m.text).toContain(`part ${i + 1} of ${messages.length}`);
    }
    const all = messages.flatMap((m) => m.changes.map((c) => c.image));
    expect(all).toEqual(changes.map((c) => c.image));
  });

  it('stays under the SNS limit by default for a very large run', () => {
    const changes = Array.from({ length: 400 }, (_, i) =>
      change(`ghcr.io/acme/svc-${i}:1`, {
        hint: 'Long hint with non-ASCII — “quotes” and ünïcödé. '.repeat(40),
        locations: Array.from({ length: 30 }, (_, j) => ({ file: `clusters/prod/apps/svc-${i}/overlay-${j}/kustomization.yaml`, line: j })),
      }),
    );
    const messages = renderNotification(changes, ctx);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.bytes).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    expect(messages.reduce((n, m) => n + m.changes.length, 0)).toBe(400);
  });
});
