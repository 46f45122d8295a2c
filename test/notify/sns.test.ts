import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderNotification } from '../../lambdas/engine/notify/render.js';
import { SnsNotifier } from '../../lambdas/engine/notify/sns.js';
import type { NotificationChange } from '../../lambdas/engine/notify/types.js';
import { localSnsClient, startFakeSns, startFauxqs, topicWithQueue, type FauxqsHandle } from '../support/sns.js';

let fauxqs: FauxqsHandle;
beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});

const change: NotificationChange = {
  kind: 'new',
  image: 'ghcr.io/acme/api:1.2.3',
  status: 'DISAPPEARED',
  previous: 'PRESENT',
  since: '2026-11-28T07:40:00.000Z',
  verdict: 'TAG_MISSING',
  evidence: { anonymous: { http: 404, code: 'MANIFEST_UNKNOWN' } },
  hint: 'Push the tag again.',
  apps: ['payments'],
  locations: [{ file: 'apps/payments/deployment.yaml', line: 14 }],
};
const [message] = renderNotification([change], { repository: 'org/gitops', commit: 'a1b2c3d4', runId: 'evt-1', at: new Date('2026-11-28T07:40:00Z') });

describe('SnsNotifier', () => {
  it('publishes to a real SNS endpoint and an SQS subscriber receives subject, body and attributes', async () => {
    const topic = await topicWithQueue(fauxqs.endpoint);
    const notifier = new SnsNotifier({ client: topic.sns, topicArn: topic.topicArn });
    const { messageId } = await notifier.publish(message!);
    const [got, ...rest] = await topic.drain();
    expect(rest).toEqual([]);
    expect(got?.messageId).toBe(messageId);
    expect(got?.subject).toBe('1 image disappeared · org/gitops@a1b2c3d');
    expect(JSON.parse(got?.message ?? '').email).toContain('ghcr.io/acme/api:1.2.3');
    expect(got?.attributes['severity']).toEqual({ Type: 'String', Value: 'high' });
    expect(got?.attributes['repository']).toEqual({ Type: 'String', Value: 'org/gitops' });
    topic.close();
  });

  it('sends MessageStructure json with the message attributes on the wire', async () => {
    const fake = await startFakeSns(() => ({ ok: true }));
    const client = localSnsClient(fake.endpoint, 1);
    await new SnsNotifier({ client, topicArn: 'arn:aws:sns:us-east-1:000000000000:drift' }).publish(message!);
    const [req] = fake.requests;
    expect(req?.action).toBe('Publish');
    expect(req?.params.get('MessageStructure')).toBe('json');
    expect(req?.params.get('TopicArn')).toBe('arn:aws:sns:us-east-1:000000000000:drift');
    const names = [...(req?.params.entries() ?? [])].filter(([k]) => /^MessageAttributes\.entry\.\d+\.Name$/.test(k)).map(([, v]) => v);
    expect(names.sort()).toEqual(['kinds', 'repository', 'severity', 'statuses', 'verdicts']);
    client.destroy();
    await fake.stop();
  });

  it('retries a throttled publish on its own, beyond the SDK retries', async () => {
    const fake = await startFakeSns((_, i) => (i < 2 ? { ok: false, status: 400, code: 'Throttling', message: 'Rate exceeded' } : { ok: true }));
    // SDK retries off: every attempt seen here is ours.
    const client = localSnsClient(fake.endpoint, 1);
    const notifier = new SnsNotifier({ client, topicArn: 'arn:aws:sns:us-east-1:000000000000:drift', attempts: 3, baseDelayMs: 5 });
    const { messageId } = await notifier.publish(message!);
    expect(messageId).not.toBe('');
    expect(fake.requests).toHaveLength(3);
    client.destroy();
    await fake.stop();
  });

  it('gives up after its attempts and surfaces the SNS error', async () => {
    const fake = await startFakeSns(() => ({ ok: false, status: 503, code: 'ServiceUnavailable', message: 'down', type: 'Receiver' }));
    const client = localSnsClient(fake.endpoint, 1);
    const notifier = new SnsNotifier({ client, topicArn: 'arn:aws:sns:us-east-1:000000000000:drift', attempts: 2, baseDelayMs: 5 });
    await expect(notifier.publish(message!)).rejects.toThrow(/down/);
    expect(fake.requests).toHaveLength(2);
    client.destroy();
    await fake.stop();
  });

  it('sends the dedupId attribute, and MessageDeduplicationId with a group on a FIFO topic', async () => {
    const fake = await startFakeSns(() => ({ ok: true }));
    const client = localSnsClient(fake.endpoint, 1);
    await new SnsNotifier({ client, topicArn: 'arn:aws:sns:us-east-1:000000000000:drift.fifo' }).publish({ ...message!, dedupId: 'abc123' });
    await new SnsNotifier({ client, topicArn: 'arn:aws:sns:us-east-1:000000000000:drift' }).publish({ ...message!, dedupId: 'abc123' });
    const [fifo, standard] = fake.requests;
    const attribute = (params: URLSearchParams | undefined, name: string) => {
      const entry = [...(params?.entries() ?? [])].find(([k, v]) => /^MessageAttributes\.entry\.\d+\.Name$/.test(k) && v === name)?.[0];
      return entry ? params?.get(entry.replace(/Name$/, 'Value.StringValue')) : undefined;
    };
    expect(attribute(fifo?.params, 'dedupId')).toBe('abc123');
    expect(fifo?.params.get('MessageDeduplicationId')).toBe('abc123');
    expect(fifo?.params.get('MessageGroupId')).toBe('image-drift');
    expect(attribute(standard?.params, 'dedupId')).toBe('abc123');
    expect(standard?.params.get('MessageDeduplicationId')).toBeNull();
    client.destroy();
    await fake.stop();
  });

  it('does not retry a publish whose reply was lost (SNS may have delivered it), and says so on the error', async () => {
    const { startFaultProxy } = await import('../support/fault-proxy.js');
    const topic = await topicWithQueue(fauxqs.endpoint);
    const proxy = await startFaultProxy(fauxqs.endpoint);
    proxy.inject({ kind: 'drop-reply' }, { times: Infinity });
    const client = localSnsClient(proxy.url, 1);
    const notifier = new SnsNotifier({ client, topicArn: topic.topicArn, attempts: 3, baseDelayMs: 5 });
    const error = await notifier.publish(message!).catch((e: unknown) => e);
    expect(error).toMatchObject({ maybeDelivered: true });
    expect(proxy.requests).toHaveLength(1);
    expect(await topic.drain()).toHaveLength(1);
    client.destroy();
    await proxy.stop();
    topic.close();
  });
});
