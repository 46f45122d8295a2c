/**
 * The Lambda's environment, as the CDK construct writes it and the handler reads it.
 *
 *     const env = readLambdaEnv(process.env);   // throws LambdaEnvError listing every problem
 *     env.config.repositories …                 // the validated AuditorConfig, defaults applied
 *
 * The construct builds the values with `lambdaEnvironment(...)`, so both sides share the names.
 */
import { z } from 'zod';
import { AuditorConfigSchema, configProblems, type AuditorConfig } from './schema.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metrics.js';

/** Environment variable names. */
export const ENV_CONFIG = 'IMAGE_DRIFT_CONFIG';
export const ENV_HISTORY_TABLE_NAME = 'HISTORY_TABLE_NAME';
export const ENV_TOPIC_ARN = 'TOPIC_ARN';
export const ENV_SECRET_ARN = 'SECRET_ARN';
export const ENV_POWERTOOLS_SERVICE_NAME = 'POWERTOOLS_SERVICE_NAME';
export const ENV_POWERTOOLS_METRICS_NAMESPACE = 'POWERTOOLS_METRICS_NAMESPACE';

/** Lambda caps the whole environment at 4 KB (keys + values). */
export const LAMBDA_ENV_MAX_BYTES = 4096;

const ConfigJsonSchema = z
  .string({ error: 'required: the auditor config as JSON' })
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(AuditorConfigSchema);

const required = (what: string) => z.string({ error: `required: ${what}` }).min(1, { error: `must not be empty (${what})` });

export const LambdaEnvSchema = z
  .object({
    [ENV_CONFIG]: ConfigJsonSchema,
    [ENV_HISTORY_TABLE_NAME]: required('the DynamoDB history table name'),
    [ENV_TOPIC_ARN]: required('the SNS alert topic ARN'),
    [ENV_SECRET_ARN]: required('the Secrets Manager secret ARN'),
    [ENV_POWERTOOLS_SERVICE_NAME]: z.string().min(1).default(SERVICE_NAME),
    [ENV_POWERTOOLS_METRICS_NAMESPACE]: z.string().min(1).default(METRICS_NAMESPACE),
  })
  .transform((env) => ({
    config: env[ENV_CONFIG],
    historyTableName: env[ENV_HISTORY_TABLE_NAME],
    topicArn: env[ENV_TOPIC_ARN],
    secretArn: env[ENV_SECRET_ARN],
    serviceName: env[ENV_POWERTOOLS_SERVICE_NAME],
    metricsNamespace: env[ENV_POWERTOOLS_METRICS_NAMESPACE],
  }));

export type LambdaEnv = z.output<typeof LambdaEnvSchema>;

export class LambdaEnvError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid Lambda environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LambdaEnvError';
  }
}

/** Parses `process.env` for the handler; throws LambdaEnvError naming each bad variable. */
export function readLambdaEnv(env: Readonly<Record<string, string | undefined>>): LambdaEnv {
  const result = LambdaEnvSchema.safeParse(env);
  if (!result.success) {
    // Paths start with the variable name; config problems continue into the config (IMAGE_DRIFT_CONFIG.schedule: …).
    throw new LambdaEnvError(configProblems(result.error));
  }
  return result.data;
}

/** The config as the Lambda receives it: compact JSON, `$schema` dropped. Holds no secrets (only their names). */
export function serializeConfigForLambda(config: AuditorConfig): string {
  const { $schema: _schema, ...rest } = config;
  return JSON.stringify(rest);
}

export interface LambdaEnvironmentValues {
  config: AuditorConfig;
  historyTableName: string;
  topicArn: string;
  secretArn: string;
}

/** The environment map the construct gives the function. */
export function lambdaEnvironment(values: LambdaEnvironmentValues): Record<string, string> {
  return {
    [ENV_CONFIG]: serializeConfigForLambda(values.config),
    [ENV_HISTORY_TABLE_NAME]: values.historyTableName,
    [ENV_TOPIC_ARN]: values.topicArn,
    [ENV_SECRET_ARN]: values.secretArn,
    [ENV_POWERTOOLS_SERVICE_NAME]: SERVICE_NAME,
    [ENV_POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
  };
}
