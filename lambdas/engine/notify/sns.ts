/**
 * SNS adapter: publishes rendered notifications with MessageStructure 'json' and the `dedupId` attribute (plus
 * MessageDeduplicationId on a FIFO topic). It retries only failures after which the message certainly did not go
 * out; a reply that never came is not retried here (that would be a duplicate if SNS had accepted it): the outbox
 * republishes it on a later run, with the same dedupId. Give it a client with maxAttempts 1, or the SDK retries
 * lost replies itself.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { DEDUP_ATTRIBUTE, type OutgoingMessage, type Notifier, type PublishError } from './types.js';

export interface SnsNotifierOptions {
  client: SNSClient;
  topicArn: string;
  /** Our own attempts on top of the SDK's retries. Default 3. */
  attempts?: number;
  /** Base delay between our attempts. Default 500 ms. */
  baseDelayMs?: number;
}

/** Errors that another attempt cannot fix. */
const PERMANENT = new Set([
  'InvalidParameterException',
  'InvalidParameterValueException',
  'NotFoundException',
  'AuthorizationErrorException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'InvalidSecurityException',
]);

export class SnsNotifier implements Notifier {
  private readonly client: SNSClient;
  private readonly topicArn: string;
  private readonly attempts: number;
  private readonly baseDelayMs: number;

  constructor(options: SnsNotifierOptions) {
    this.client = options.client;
    this.topicArn = options.topicArn;
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 500;
  }

  async publish(message: OutgoingMessage): Promise<{ messageId: string }> {
    const fifo = this.topicArn.endsWith('.fifo');
    let lastError: PublishError | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const out = await this.client.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Subject: message.subject,
            Message: message.message,
            MessageStructure: 'json',
            MessageAttributes: {
              ...message.attributes,
              ...(message.dedupId ? { [DEDUP_ATTRIBUTE]: { DataType: 'String', StringValue: message.dedupId } } : {}),
            },
            ...(fifo && message.dedupId ? { MessageGroupId: 'image-drift', MessageDeduplicationId: message.dedupId } : {}),
          }),
        );
        return { messageId: out.MessageId ?? '' };
      } catch (err) {
        const error: PublishError = err instanceof Error ? err : new Error(String(err));
        error.maybeDelivered = maybeDelivered(err);
        lastError = error;
        if (error.maybeDelivered || PERMANENT.has(error.name) || attempt === this.attempts) break;
        await new Promise((r) => setTimeout(r, this.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
    throw lastError ?? new Error('publish failed');
  }
}

/** Errors raised before a connection existed: the request never left. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CredentialsProviderError']);

/** False when SNS answered (with an error) or the request never left; true when the answer was lost. */
function maybeDelivered(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number }; code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (typeof e.$metadata?.httpStatusCode === 'number') return false;
  for (const code of [e.code, e.name, e.cause?.code]) if (typeof code === 'string' && NOT_SENT.has(code)) return false;
  return true;
}
