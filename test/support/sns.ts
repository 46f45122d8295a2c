/**
 * SNS for tests, always on 127.0.0.1:
 * - startFauxqs(): fauxqs 1.9.2, a real SNS+SQS endpoint; subscribe an SQS queue to read what was published.
 * - startFakeSns(): a FAKE that speaks the SNS Query protocol (form-encoded POST, XML replies, as in
 *   /work/shared/docs/local-components.md §3), for injecting failures the real emulator cannot produce.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface FauxqsHandle {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startFauxqs(): Promise<FauxqsHandle> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  return { endpoint, stop: () => app.close() };
}

export function localSnsClient(endpoint: string, maxAttempts = 3): SNSClient {
  return new SNSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts });
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials });
}

/** What an SQS subscriber received: the SNS envelope of one publish. */
export interface ReceivedNotification {
  messageId: string;
  subject: string | null;
  /** The Message field as published (MessageStructure json: the {default, email, sqs...} document). */
  message: string;
  attributes: Record<string, { Type: string; Value: string }>;
}

/** Creates a topic with an SQS queue subscribed; drain() returns and deletes everything received so far. */
export async function topicWithQueue(endpoint: string, name = `drift-${randomUUID().slice(0, 8)}`) {
  const sns = localSnsClient(endpoint);
  const sqs = localSqsClient(endpoint);
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn ?? '';
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-q` }))).QueueUrl ?? '';
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attrs.Attributes?.['QueueArn'] ?? '';
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
  return {
    topicArn,
    sns,
    async drain(): Promise<ReceivedNotification[]> {
      const out: ReceivedNotification[] = [];
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        const msgs = r.Messages ?? [];
        if (msgs.length === 0) return out;
        for (const m of msgs) {
          const env = JSON.parse(m.Body ?? '{}') as {
            MessageId: string;
            Subject: string | null;
            Message: string;
            MessageAttributes?: Record<string, { Type: string; Value: string }>;
          };
          out.push({ messageId: env.MessageId, subject: env.Subject, message: env.Message, attributes: env.MessageAttributes ?? {} });
        }
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      }
    },
    close() {
      sns.destroy();
      sqs.destroy();
    },
  };
}

export interface FakeSnsRequest {
  action: string;
  params: URLSearchParams;
}

export type FakeSnsReply =
  | { ok: true }
  | { ok: false; status: number; code: string; message: string; type?: 'Sender' | 'Receiver' };

/**
 * A FAKE SNS endpoint speaking the Query protocol. `reply` decides each answer; every request is recorded.
 */
export async function startFakeSns(reply: (req: FakeSnsRequest, index: number) => FakeSnsReply) {
  const requests: FakeSnsRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const request = { action: params.get('Action') ?? '', params };
      const index = requests.push(request) - 1;
      const r = reply(request, index);
      const requestId = randomUUID();
      if (r.ok) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
        );
      } else {
        res.writeHead(r.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${r.type ?? 'Sender'}</Type><Code>${r.code}</Code><Message>${r.message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
