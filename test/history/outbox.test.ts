/**
 * Alert delivery through the outbox, against dynalite and fauxqs (SNS → SQS) through the real AWS SDK, with a
 * loopback fault proxy in front of SNS: lost replies, an invocation that dies after SNS accepted, bookkeeping
 * that fails after a publish, and an SNS outage during which a drift starts and ends.
 */
import { PutItemCommand, type BatchWriteItemCommandInput, type PutItemCommandInput, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { pendingAnnouncement } from '../../lambdas/engine/history/drift.js';
import { SnsNotifier } from '../../lambdas/engine/notify/sns.js';
import type { Notifier } from '../../lambdas/engine/notify/types.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { localSnsClient } from '../support/sns.js';
import { result, uniqueImage } from './fixtures.js';
import { historyHarness, useLocalAwsServers, type Published } from './harness.js';

const servers = useLocalAwsServers();

function dedupIds(messages: Published[]): string[] {
  return messages.map((m) => m.attributes['dedupId']?.Value ?? '(none)');
}

/** A notifier whose SNS requests go through a fault proxy; one SDK attempt, as the Lambda configures it. */
async function notifierThroughProxy(topicArn: string) {
  const proxy = await startFaultProxy(servers.snsEndpoint);
  const client = localSnsClient(proxy.url, 1);
  const notifier = new SnsNotifier({ client, topicArn, baseDelayMs: 5 });
  return {
    proxy,
    notifier,
    publishes: () => proxy.requests.filter((r) => r.method === 'POST').length,
    async stop() {
      client.destroy();
      await proxy.stop();
    },
  };
}

describe('the alert outbox', () => {
  it('a lost SNS reply: one copy in that run, one more from the next run with the same dedupId, then none', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const sns = await notifierThroughProxy(h.topicArn);
    sns.proxy.inject({ kind: 'drop-reply' }, { match: (r) => r.method === 'POST' });
    const img = uniqueImage();

    const first = await h.run('r1', [result(img, 'TAG_MISSING')], { notifier: sns.notifier });
    expect(first.notification?.sent).toBe(false);
    const delivered = await h.published();
    // SNS delivered it; without its reply nothing is retried within the run (each retry would be a duplicate).
    expect(delivered).toHaveLength(1);
    expect(sns.publishes()).toBe(1);

    h.advanceMinutes(15);
    const second = await h.run('r2', [result(img, 'TAG_MISSING')], { notifier: sns.notifier });
    expect(second.notification?.sent).toBe(true);
    const again = await h.published();
    expect(again).toHaveLength(1);
    expect(again[0]?.message).toBe(delivered[0]?.message);
    expect(dedupIds([...delivered, ...again])).toEqual([dedupIds(delivered)[0], dedupIds(delivered)[0]]);
    expect(dedupIds(delivered)[0]).toMatch(/^[0-9a-f]{32}$/);

    h.advanceMinutes(15);
    await h.run('r3', [result(img, 'TAG_MISSING')], { notifier: sns.notifier });
    expect(await h.published()).toEqual([]);
    expect(await h.store.getState(img)).toMatchObject({ notifiedStatus: 'NEVER_PUSHED' });
    await sns.stop();
    h.close();
  });

  it('an invocation that dies after SNS accepted: its retry sends nothing, a later run republishes once with the same dedupId', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    let accepted!: () => void;
    const acceptedOnce = new Promise<void>((r) => (accepted = r));
    const dying: Notifier = {
      publish: async (m) => {
        await h.notifier.publish(m);
        accepted();
        // Lambda's timeout ends the invocation here: nothing after the publish is recorded.
        return new Promise<never>(() => undefined);
      },
    };
    void h.run('r1', [result(img, 'TAG_MISSING')], { notifier: dying });
    await acceptedOnce;
    const delivered = await h.published();
    expect(delivered).toHaveLength(1);

    // EventBridge retries the invocation at once: the message is leased to the dead attempt, nothing is sent.
    const retry = await h.run('r1', [result(img, 'TAG_MISSING')]);
    expect(retry.transitions).toEqual([]);
    expect(await h.published()).toEqual([]);

    h.advanceMinutes(60);
    await h.run('r2', [result(img, 'TAG_MISSING')]);
    const again = await h.published();
    expect(again).toHaveLength(1);
    expect(dedupIds(again)).toEqual(dedupIds(delivered));
    expect(dedupIds(delivered)[0]).toMatch(/^[0-9a-f]{32}$/);

    h.advanceMinutes(60);
    await h.run('r3', [result(img, 'TAG_MISSING')]);
    expect(await h.published()).toEqual([]);
    h.close();
  });

  it('recording "sent" fails after a publish: another mark proves the delivery, so nothing is sent twice', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    let failNextWrite = false;
    servers.ddb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as Partial<UpdateItemCommandInput & PutItemCommandInput & BatchWriteItemCommandInput>;
        const write = input.UpdateExpression !== undefined || input.Item !== undefined || input.RequestItems !== undefined;
        if (failNextWrite && write && input.TableName === h.tableName) {
          failNextWrite = false;
          throw Object.assign(new Error('injected: the write after the publish failed'), { name: 'InternalServerError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failWriteAfterPublish' },
    );
    try {
      const marking: Notifier = {
        publish: async (m) => {
          const out = await h.notifier.publish(m);
          failNextWrite = true;
          return out;
        },
      };
      const first = await h.run('r1', [result(img, 'TAG_MISSING')], { notifier: marking });
      expect(first.notification?.error).toContain('as sent');
      expect(await h.published()).toHaveLength(1);
      for (const runId of ['r2', 'r3']) {
        h.advanceMinutes(60);
        await h.run(runId, [result(img, 'TAG_MISSING')]);
        expect(await h.published()).toEqual([]);
      }
      expect(await h.store.getState(img)).toMatchObject({ notifiedStatus: 'NEVER_PUSHED' });
    } finally {
      servers.ddb.middlewareStack.remove('failWriteAfterPublish');
    }
    h.close();
  });

  it('every write after a publish fails: the next run republishes it once, with the same dedupId', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    let writesFail = false;
    servers.ddb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as Partial<UpdateItemCommandInput & PutItemCommandInput>;
        if (writesFail && (input.UpdateExpression !== undefined || input.Item !== undefined) && input.TableName === h.tableName) {
          throw Object.assign(new Error('injected: DynamoDB is down'), { name: 'InternalServerError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failAllWritesAfterPublish' },
    );
    try {
      const publishThenOutage: Notifier = {
        publish: async (m) => {
          const out = await h.notifier.publish(m);
          writesFail = true;
          return out;
        },
      };
      await h.run('r1', [result(img, 'TAG_MISSING')], { notifier: publishThenOutage });
      writesFail = false;
      const delivered = await h.published();
      h.advanceMinutes(60);
      await h.run('r2', [result(img, 'TAG_MISSING')]);
      const again = await h.published();
      h.advanceMinutes(60);
      await h.run('r3', [result(img, 'TAG_MISSING')]);
      expect(await h.published()).toEqual([]);
      expect(delivered).toHaveLength(1);
      expect(again).toHaveLength(1);
      expect(dedupIds(again)).toEqual(dedupIds(delivered));
      expect(dedupIds(delivered)[0]).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      servers.ddb.middlewareStack.remove('failAllWritesAfterPublish');
    }
    h.close();
  });

  it('a drift that starts and ends while SNS is down is announced once SNS is back, as "was briefly"', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const sns = await notifierThroughProxy(h.topicArn);
    sns.proxy.inject({ kind: 'status', status: 503, body: '<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>down</Message></Error></ErrorResponse>', headers: { 'content-type': 'text/xml' } }, { times: Infinity });
    const img = uniqueImage();
    await h.run('r0', [result(img, 'OK')]);
    h.advanceMinutes(60);
    const down1 = await h.run('r1', [result(img, 'TAG_MISSING')], { notifier: sns.notifier });
    expect(down1.notification?.sent).toBe(false);
    h.advanceMinutes(60);
    const down2 = await h.run('r2', [result(img, 'OK')], { notifier: sns.notifier });
    expect(down2.notification?.sent).toBe(false);
    expect(await h.published()).toEqual([]);

    h.advanceMinutes(60);
    const back = await h.run('r3', [result(img, 'OK')]);
    expect(back.notification?.sent).toBe(true);
    const got = await h.published();
    expect(got.map((m) => m.payload.changes.map((c) => [c.kind, c.image, c.status]))).toEqual([[['briefly', img, 'PRESENT']]]);
    expect(got[0]?.subject).toMatch(/^1 drift came and went · /);
    expect(got[0]?.text).toMatch(/Was briefly DISAPPEARED from 2026-11-02 09:00 UTC to 2026-11-02 10:00 UTC/);
    h.advanceMinutes(60);
    await h.run('r4', [result(img, 'OK')]);
    expect(await h.published()).toEqual([]);
    await sns.stop();
    h.close();
  });

  it('takes over a claim left by the version before the outbox once its lease is over', async () => {
    const h = await historyHarness(servers.ddb, servers.snsEndpoint);
    const img = uniqueImage();
    await h.run('r1', [result(img, 'TAG_MISSING')], { notifier: null });
    const state = await h.store.getState(img);
    const key = state && pendingAnnouncement(state, h.now(), 86_400_000)?.claim.key;
    expect(key).toBeDefined();
    // A run of the earlier version claimed it and died before publishing.
    await servers.ddb.send(
      new PutItemCommand({
        TableName: h.tableName,
        Item: {
          pk: { S: `IMG#${img}` },
          sk: { S: `NOTE#${key}` },
          type: { S: 'claim' },
          claimStatus: { S: 'claimed' },
          runId: { S: 'old' },
          claimedAt: { S: h.now().toISOString() },
        },
      }),
    );
    h.advanceMinutes(5);
    await h.run('r2', [result(img, 'TAG_MISSING')]);
    expect(await h.published()).toEqual([]);
    h.advanceMinutes(10);
    await h.run('r3', [result(img, 'TAG_MISSING')]);
    expect((await h.published()).map((m) => m.payload.changes.map((c) => c.kind))).toEqual([['new']]);
    h.close();
  });
});
