import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { loadAuditorSecret, type SecretValueReader } from '../../lambdas/engine/config/load-secret.js';
import {
  CONFIG_LAYER_FILE,
  ENV_CONFIG,
  ENV_CONFIG_FILE,
  ENV_HISTORY_TABLE_NAME,
  LAMBDA_ENV_MAX_BYTES,
  ENV_SECRET_ARN,
  ENV_TOPIC_ARN,
  LambdaEnvError,
  lambdaEnvironment,
  readLambdaEnv,
  serializeConfigForLambda,
} from '../../lambdas/engine/config/runtime-env.js';
import { parseConfig } from '../../lambdas/engine/config/schema.js';
import {
  CredentialError,
  GITHUB_TOKEN_USERNAME,
  credentialFromEnv,
  credentialFromSecret,
  parseAuditorSecret,
} from '../../lambdas/engine/config/secret.js';

const CONFIG = parseConfig({
  $schema: '../docs/config.schema.json',
  repositories: [{ repo: 'acme/gitops' }],
  registries: { 'ghcr.io': { credential: { type: 'github-token' } } },
});
const ARNS = {
  historyTableName: 'ImageDriftAuditor-History',
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:creds-AbCdEf',
};

describe('readLambdaEnv', () => {
  it('reads back what the construct writes: the config from the layer file it names, with the Powertools names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-drift-env-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, serializeConfigForLambda(CONFIG));
    const environment = lambdaEnvironment({ configFile: file, ...ARNS });
    expect(environment).not.toHaveProperty(ENV_CONFIG);
    const env = readLambdaEnv(environment);
    const { $schema: _dropped, ...withoutSchema } = CONFIG;
    expect(env).toEqual({ config: withoutSchema, ...ARNS, serviceName: 'image-drift-auditor', metricsNamespace: 'ImageDrift' });
  });

  it('keeps the environment small whatever the config: 100 repositories still leave most of the 4 KB free', () => {
    const environment = lambdaEnvironment({ configFile: CONFIG_LAYER_FILE, ...ARNS });
    expect(Buffer.byteLength(JSON.stringify(environment))).toBeLessThan(LAMBDA_ENV_MAX_BYTES / 4);
  });

  it('names the config file when it cannot be read, and prefers an inline IMAGE_DRIFT_CONFIG', () => {
    const base = { [ENV_HISTORY_TABLE_NAME]: 't', [ENV_TOPIC_ARN]: 'a', [ENV_SECRET_ARN]: 's' };
    expect(() => readLambdaEnv({ ...base, [ENV_CONFIG_FILE]: '/nonexistent/config.json' })).toThrow(
      /IMAGE_DRIFT_CONFIG_FILE: cannot read \/nonexistent\/config\.json: ENOENT/,
    );
    const inline = readLambdaEnv({ ...base, [ENV_CONFIG_FILE]: '/nonexistent/config.json', [ENV_CONFIG]: serializeConfigForLambda(CONFIG) });
    expect(inline.config.repositories).toEqual([{ repo: 'acme/gitops' }]);
  });

  it('drops $schema from the config JSON and adds nothing secret', () => {
    const json = serializeConfigForLambda(CONFIG);
    expect(JSON.parse(json)).not.toHaveProperty('$schema');
    expect(json).toContain('"credential":{"type":"github-token"}');
  });

  it('names every missing variable', () => {
    expect(() => readLambdaEnv({})).toThrow(LambdaEnvError);
    expect(() => readLambdaEnv({})).toThrow(
      [
        'Invalid Lambda environment:',
        `  - ${ENV_CONFIG}: required: the auditor config as JSON, or ${ENV_CONFIG_FILE} naming a file that holds it`,
        `  - ${ENV_HISTORY_TABLE_NAME}: required: the DynamoDB history table name`,
        `  - ${ENV_TOPIC_ARN}: required: the SNS alert topic ARN`,
        `  - ${ENV_SECRET_ARN}: required: the Secrets Manager secret ARN`,
      ].join('\n'),
    );
  });

  it('says when the config is not JSON, and where a config value is wrong', () => {
    const base = { [ENV_HISTORY_TABLE_NAME]: 't', [ENV_TOPIC_ARN]: 'a', [ENV_SECRET_ARN]: 's' };
    expect(() => readLambdaEnv({ ...base, [ENV_CONFIG]: '{oops' })).toThrow(`${ENV_CONFIG}: is not valid JSON`);
    expect(() => readLambdaEnv({ ...base, [ENV_CONFIG]: '{"schedule":"hourly"}' })).toThrow(`${ENV_CONFIG}.schedule: must be "rate(`);
  });
});

describe('auditor secret', () => {
  it('treats an empty secret, as deployed, as no credentials', () => {
    expect(parseAuditorSecret('{}')).toEqual({});
    expect(parseAuditorSecret('')).toEqual({});
    expect(parseAuditorSecret(undefined)).toEqual({});
  });

  it('accepts the documented shape', () => {
    const text = JSON.stringify({ githubToken: 'ghp_abc', registries: { 'ghcr.io': { username: 'x', password: 'ghp_def' } } });
    expect(parseAuditorSecret(text)).toEqual({ githubToken: 'ghp_abc', registries: { 'ghcr.io': { username: 'x', password: 'ghp_def' } } });
  });

  it('reports a wrong shape by key, never echoing a credential', () => {
    const text = JSON.stringify({ githubtoken: 'ghp_SECRET1', registries: { 'docker.io': { username: 'me', pasword: 'SECRET2' } } });
    let message = '';
    try {
      parseAuditorSecret(text, 'secret arn:x');
    } catch (error) {
      expect(error).toBeInstanceOf(CredentialError);
      message = (error as Error).message;
    }
    expect(message).toContain('secret arn:x does not have the expected shape');
    expect(message).toContain('unknown key(s) githubtoken');
    expect(message).toContain('registries.docker.io.password: required: the password or token');
    expect(message).not.toMatch(/SECRET1|SECRET2/);
  });

  it('reports invalid JSON without quoting it', () => {
    expect(() => parseAuditorSecret('ghp_SECRET3')).toThrow(/^the auditor secret is not valid JSON; expected \{"githubToken"/);
    expect(() => parseAuditorSecret('ghp_SECRET3')).not.toThrow(/SECRET3/);
  });
});

describe('credentialFromSecret', () => {
  const secret = {
    githubToken: 'ghp_top',
    registries: { 'ghcr.io': { password: 'ghp_registry' }, hub: { username: 'me', password: 'dckr_pat' }, 'quay.io': { password: 'p' } },
  };

  it('prefers the registries entry named by the host, then falls back to githubToken for github-token', () => {
    expect(credentialFromSecret('ghcr.io', { type: 'github-token' }, secret)).toEqual({ username: GITHUB_TOKEN_USERNAME, password: 'ghp_registry' });
    expect(credentialFromSecret('ghcr.example.com', { type: 'github-token' }, secret)).toEqual({ username: GITHUB_TOKEN_USERNAME, password: 'ghp_top' });
  });

  it('looks up secretKey instead of the host when given', () => {
    expect(credentialFromSecret('docker.io', { type: 'dockerhub', secretKey: 'hub' }, secret)).toEqual({ username: 'me', password: 'dckr_pat' });
  });

  it('returns nothing when the secret has no entry, and refuses basic credentials without a username', () => {
    expect(credentialFromSecret('docker.io', { type: 'dockerhub' }, secret)).toBeUndefined();
    expect(() => credentialFromSecret('quay.io', { type: 'basic' }, secret)).toThrow('secret registries.quay.io needs a "username" for a basic credential');
  });
});

describe('credentialFromEnv', () => {
  it('reads a github token from GITHUB_TOKEN unless another variable is named', () => {
    expect(credentialFromEnv('ghcr.io', { type: 'github-token' }, { GITHUB_TOKEN: 'ghp_1' })).toEqual({ username: GITHUB_TOKEN_USERNAME, password: 'ghp_1' });
    expect(credentialFromEnv('ghcr.io', { type: 'github-token', env: 'GHCR' }, { GITHUB_TOKEN: 'ghp_1', GHCR: 'ghp_2' })?.password).toBe('ghp_2');
    expect(credentialFromEnv('ghcr.io', { type: 'github-token' }, {})).toBeUndefined();
  });

  it('splits "username:password" at the first colon and rejects other forms without echoing them', () => {
    expect(credentialFromEnv('docker.io', { type: 'dockerhub', env: 'HUB' }, { HUB: 'me:pa:ss' })).toEqual({ username: 'me', password: 'pa:ss' });
    expect(() => credentialFromEnv('docker.io', { type: 'dockerhub', env: 'HUB' }, { HUB: 'SECRET4' })).toThrow(
      'HUB (credential for docker.io) must hold "username:password"',
    );
    expect(credentialFromEnv('docker.io', { type: 'basic' }, { HUB: 'me:x' })).toBeUndefined();
  });
});

describe('loadAuditorSecret', () => {
  it('asks Secrets Manager for the secret by ARN and validates it', async () => {
    const asked: string[] = [];
    const client: SecretValueReader = {
      send: async (command: GetSecretValueCommand) => {
        asked.push(command.input.SecretId ?? '');
        return { SecretString: '{"githubToken":"ghp_x"}' };
      },
    };
    expect(await loadAuditorSecret(client, ARNS.secretArn)).toEqual({ githubToken: 'ghp_x' });
    expect(asked).toEqual([ARNS.secretArn]);
  });

  it('wraps an AWS error with the secret ARN', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    const client: SecretValueReader = { send: async () => Promise.reject(denied) };
    await expect(loadAuditorSecret(client, ARNS.secretArn)).rejects.toThrow(
      `cannot read secret ${ARNS.secretArn}: AccessDeniedException: User is not authorized`,
    );
  });
});
