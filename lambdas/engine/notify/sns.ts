/** SNS adapter: publishes rendered notifications with MessageStructure 'json'. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { NotificationMessage, Notifier } from './types.js';

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

  async publish(message: NotificationMessage): Promise<{ messageId: string }> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const out = await this.client.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Subject: message.subject,
            Message: message.message,
            MessageStructure: 'json',
            MessageAttributes: message.attributes,
          }),
        );
        return { messageId: out.MessageId ?? '' };
      } catch (err) {
        lastError = err;
        const name = err instanceof Error ? err.name : '';
        if (PERMANENT.has(name) || attempt === this.attempts) break;
        await new Promise((r) => setTimeout(r, this.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}
