/**
 * PLACEHOLDER written by the infrastructure work so that the CDK stack can bundle and be tested
 * before the real handler exists. The lead replaces this file: the real handler builds the engine
 * from readLambdaEnv(process.env), runs the audit with the EventBridge event id as run id, and
 * emits ImagesWithoutVerdict / RunsFailed (lambdas/engine/config/metrics.ts).
 */
import { readLambdaEnv } from '../engine/config/runtime-env.js';

export interface ScheduledEvent {
  id?: string;
}

export async function handler(event: ScheduledEvent): Promise<{ runId: string; repositories: number }> {
  const env = readLambdaEnv(process.env);
  const runId = event.id ?? `manual-${new Date().toISOString()}`;
  return { runId, repositories: env.config.repositories.length };
}
