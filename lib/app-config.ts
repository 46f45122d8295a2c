/**
 * Where the CDK app gets its auditor config, in order of precedence (highest last):
 *
 * 1. cdk.json context key `imageDrift` (an object: the config itself);
 * 2. a config file, when `imageDrift.configFile` is given (in the object, or `-c imageDrift.configFile=path`):
 *    the file REPLACES the cdk.json object (it is not merged with the example there);
 * 3. single top-level keys from the command line: `-c imageDrift.<key>=<value>`. A value that parses
 *    as JSON is used as JSON (`-c 'imageDrift.notificationEmails=["ops@example.com"]'`,
 *    `-c imageDrift.historyRetentionDays=30`); anything else is a string (`-c 'imageDrift.schedule=rate(6 hours)'`).
 *
 * The result is validated with the same zod schema as the CLI's, plus what deploying needs.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  AuditorConfigSchema,
  ConfigError,
  deployProblems,
  parseConfig,
  parseConfigText,
  type AuditorConfig,
} from '../lambdas/engine/config/schema.js';

export const CONTEXT_KEY = 'imageDrift';
export const CONFIG_FILE_KEY = 'configFile';

/** Reads one context value (`app.node.tryGetContext`). */
export type ContextReader = (key: string) => unknown;

/** Top-level config keys that may be overridden one by one with `-c imageDrift.<key>=…`. */
const OVERRIDABLE_KEYS = Object.keys(AuditorConfigSchema.shape).filter((key) => key !== '$schema');

export function resolveAppConfig(getContext: ContextReader, cwd = process.cwd()): AuditorConfig {
  const base = getContext(CONTEXT_KEY);
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base))) {
    throw new ConfigError(`context "${CONTEXT_KEY}" must be an object (the auditor config); got ${JSON.stringify(base)}`);
  }
  const { [CONFIG_FILE_KEY]: fileInObject, ...inline } = (base ?? {}) as Record<string, unknown>;
  const fileOption = getContext(`${CONTEXT_KEY}.${CONFIG_FILE_KEY}`) ?? fileInObject;

  let config: Record<string, unknown>;
  let source: string;
  if (fileOption !== undefined) {
    if (typeof fileOption !== 'string' || fileOption === '') {
      throw new ConfigError(`${CONTEXT_KEY}.${CONFIG_FILE_KEY} must be a file path`);
    }
    const path = isAbsolute(fileOption) ? fileOption : resolve(cwd, fileOption);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`Cannot read config file ${path}: ${code === 'ENOENT' ? 'file not found' : String(error)}`);
    }
    const { $schema: _schema, ...fromFile } = parseConfigText(text, path);
    config = { ...fromFile };
    source = path;
  } else if (base !== undefined) {
    config = inline;
    source = `cdk.json context "${CONTEXT_KEY}"`;
  } else {
    throw new ConfigError(
      `No auditor config: set the context key "${CONTEXT_KEY}" in cdk.json, or pass -c ${CONTEXT_KEY}.${CONFIG_FILE_KEY}=image-drift.config.yaml`,
    );
  }

  const overridden: string[] = [];
  for (const key of OVERRIDABLE_KEYS) {
    const value = getContext(`${CONTEXT_KEY}.${key}`);
    if (value === undefined) continue;
    config[key] = typeof value === 'string' ? parseContextValue(value) : value;
    overridden.push(key);
  }
  if (overridden.length > 0) source += ` with -c overrides (${overridden.join(', ')})`;

  const parsed = parseConfig(config, source);
  const problems = deployProblems(parsed);
  if (problems.length > 0) {
    throw new ConfigError([`Cannot deploy the configuration from ${source}:`, ...problems.map((p) => `  - ${p}`)].join('\n'), problems);
  }
  return parsed;
}

function parseContextValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
