/**
 * The Lambda's environment, as the CDK construct writes it and the handler reads it.
 *
 *     const env = readLambdaEnv(process.env);   // throws LambdaEnvError listing every problem
 *     env.config.repositories …                 // the validated AuditorConfig, defaults applied
 *
 * The config itself travels as a file (`IMAGE_DRIFT_CONFIG_FILE`, the construct ships it in a layer
 * at CONFIG_LAYER_FILE): Lambda caps the environment at 4 KB, about 40 repositories. Tests and manual
 * setups may still pass the JSON inline in `IMAGE_DRIFT_CONFIG`.
 * The construct builds the values with `lambdaEnvironment(...)`, so both sides share the names.
 */
import { readFileSync } from 'node:fs';
import * as z from '../zod.js';
import { AuditorConfigSchema, configProblems, type AuditorConfig } from './schema.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metrics.js';

/** Environment variable names. */
export const ENV_CONFIG = 'IMAGE_DRIFT_CONFIG';
/** Path of a file holding the config JSON; used when IMAGE_DRIFT_CONFIG is not set. */
export const ENV_CONFIG_FILE = 'IMAGE_DRIFT_CONFIG_FILE';
/** Where the construct's config layer puts the file: layers are unpacked under /opt. */
export const CONFIG_LAYER_DIR = 'image-drift';
export const CONFIG_LAYER_FILE = `/opt/${CONFIG_LAYER_DIR}/config.json`;
export const ENV_HISTORY_TABLE_NAME = 'HISTORY_TABLE_NAME';
export const ENV_TOPIC_ARN = 'TOPIC_ARN';
export const ENV_SECRET_ARN = 'SECRET_ARN';
export const ENV_POWERTOOLS_SERVICE_NAME = 'POWERTOOLS_SERVICE_NAME';
export const ENV_POWERTOOLS_METRICS_NAMESPACE = 'POWERTOOLS_METRICS_NAMESPACE';

/** Lambda caps the whole environment at 4 KB (keys + values). */
export const LAMBDA_ENV_MAX_BYTES = 4096;

const ConfigJsonSchema = z.pipe(
  z.pipe(
    z.string({ error: 'required: the auditor config as JSON, or IMAGE_DRIFT_CONFIG_FILE naming a file that holds it' }),
    z.transform((text: string, payload): unknown => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        payload.issues.push({ code: 'custom', message: 'is not valid JSON', input: text });
        return z.NEVER;
      }
    }),
  ),
  AuditorConfigSchema,
);

const required = (what: string) => z.string({ error: `required: ${what}` }).check(z.minLength(1, { error: `must not be empty (${what})` }));

export const LambdaEnvSchema = z.pipe(
  z.object({
    [ENV_CONFIG]: ConfigJsonSchema,
    [ENV_HISTORY_TABLE_NAME]: required('the DynamoDB history table name'),
    [ENV_TOPIC_ARN]: required('the SNS alert topic ARN'),
    [ENV_SECRET_ARN]: required('the Secrets Manager secret ARN'),
    [ENV_POWERTOOLS_SERVICE_NAME]: z._default(z.string().check(z.minLength(1)), SERVICE_NAME),
    [ENV_POWERTOOLS_METRICS_NAMESPACE]: z._default(z.string().check(z.minLength(1)), METRICS_NAMESPACE),
  }),
  z.transform((env) => ({
    config: env[ENV_CONFIG],
    historyTableName: env[ENV_HISTORY_TABLE_NAME],
    topicArn: env[ENV_TOPIC_ARN],
    secretArn: env[ENV_SECRET_ARN],
    serviceName: env[ENV_POWERTOOLS_SERVICE_NAME],
    metricsNamespace: env[ENV_POWERTOOLS_METRICS_NAMESPACE],
  })),
);

export type LambdaEnv = z.output<typeof LambdaEnvSchema>;

export class LambdaEnvError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid Lambda environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LambdaEnvError';
  }
}

/**
 * Parses `process.env` for the handler; throws LambdaEnvError naming each bad variable.
 * The config comes from IMAGE_DRIFT_CONFIG, or else from the file IMAGE_DRIFT_CONFIG_FILE names.
 */
export function readLambdaEnv(
  env: Readonly<Record<string, string | undefined>>,
  readText: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): LambdaEnv {
  const file = env[ENV_CONFIG_FILE];
  let inline = env[ENV_CONFIG];
  if (inline === undefined && file) {
    try {
      inline = readText(file);
    } catch (error) {
      throw new LambdaEnvError([`${ENV_CONFIG_FILE}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`]);
    }
  }
  const result = LambdaEnvSchema.safeParse({ ...env, [ENV_CONFIG]: inline });
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
  /** Path of the config file in the function's file system (the construct's layer: CONFIG_LAYER_FILE). */
  configFile: string;
  historyTableName: string;
  topicArn: string;
  secretArn: string;
}

/** The environment map the construct gives the function: names and ARNs, a few hundred bytes whatever the config. */
export function lambdaEnvironment(values: LambdaEnvironmentValues): Record<string, string> {
  return {
    [ENV_CONFIG_FILE]: values.configFile,
    [ENV_HISTORY_TABLE_NAME]: values.historyTableName,
    [ENV_TOPIC_ARN]: values.topicArn,
    [ENV_SECRET_ARN]: values.secretArn,
    [ENV_POWERTOOLS_SERVICE_NAME]: SERVICE_NAME,
    [ENV_POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
  };
}
