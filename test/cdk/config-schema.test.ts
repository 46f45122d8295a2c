import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  AuditorConfigSchema,
  ConfigError,
  DEFAULT_ALERT_ON,
  DEFAULT_FAIL_ON,
  STARTER_CONFIG_YAML,
  buildConfigJsonSchema,
  deployProblems,
  formatConfigError,
  loadConfigFile,
  parseConfig,
  parseConfigText,
  scheduleProblem,
} from '../../lambdas/engine/config/schema.js';

const COMMITTED_SCHEMA = fileURLToPath(new URL('../../docs/config.schema.json', import.meta.url));
const REPO = { repositories: [{ repo: 'acme/gitops' }] };

/** The problems reported for one config, without the heading. */
function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'image-drift-config-')), name);
  writeFileSync(path, text);
  return path;
}

describe('AuditorConfigSchema defaults', () => {
  it('fills every default into an empty file', () => {
    expect(parseConfig({})).toEqual({
      repositories: [],
      schedule: 'rate(1 hour)',
      scheduleTimeZone: 'UTC',
      notificationEmails: [],
      registries: {},
      platforms: ['linux/amd64'],
      reminderIntervalHours: 168,
      unverifiedAfterRuns: 3,
      failOn: ['NEVER_PUSHED', 'DISAPPEARED', 'TAG_MISSING', 'REPO_MISSING', 'INVALID_REFERENCE'],
      alertOn: [...DEFAULT_ALERT_ON],
      notVisibleAlertAfterRuns: 3,
      ignore: [],
      github: {},
      sources: [],
      exclude: [],
      historyRetentionDays: 90,
    });
    expect(DEFAULT_FAIL_ON).toEqual(parseConfig({}).failOn);
  });

  it('keeps a complete, valid config as written', () => {
    const input = {
      ...REPO,
      schedule: 'cron(0/15 8-17 ? * MON-FRI *)',
      scheduleTimeZone: 'America/Argentina/Buenos_Aires',
      notificationEmails: ['ops@example.com'],
      registries: {
        'ghcr.io': { credential: { type: 'github-token', secretKey: 'ghcr', env: 'GHCR_TOKEN' }, allowedRealmHosts: ['ghcr.io'] },
        'localhost:5000': { endpoint: 'http://127.0.0.1:5000', credential: { type: 'basic', env: 'LOCAL_REGISTRY' } },
      },
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      reminderIntervalHours: 0,
      unverifiedAfterRuns: 5,
      failOn: ['PRIVATE', 'PLATFORM_MISSING', 'UNVERIFIED'],
      alertOn: ['NEVER_PUSHED', 'PULL_SECRET_MISSING'],
      notVisibleAlertAfterRuns: 0,
      ignore: [{ image: 'ghcr.io/acme/legacy-*', app: 'legacy', path: 'clusters/dev/**', reason: 'retired, OPS-123', until: '2027-03-31' }],
      github: { baseUrl: 'https://github.example.com/api/v3', packagesTokenSeesAllPackages: true },
      sources: [{ repo: 'acme/api@main', images: ['ghcr.io/acme/api', 'ghcr.io/acme/api-*'] }],
      exclude: ['test/', '**/docker-compose.test.yml'],
      concurrency: 4,
      lambda: { memoryMb: 1024, timeoutSeconds: 900 },
      historyRetentionDays: 365,
    };
    expect(parseConfig(input)).toEqual(input);
  });
});

describe('AuditorConfigSchema messages name the field and the fix', () => {
  it.each([
    [{ repositories: [{ repo: 'gitops' }] }, 'repositories[0].repo: must be a GitHub repository as "owner/name" (got "gitops")'],
    [{ exclude: ['a\\b'] }, 'exclude[0]: must be a repository-relative glob with "/" separators and no ".." (got "a\\\\b")'],
    [{ ignore: [{ image: 'ghcr.io/a/*' }] }, 'ignore[0].reason: required: say why this image is not alerted on (it appears in the warnings once the entry expires)'],
    [{ ignore: [{ image: 'ghcr.io/a/*', reason: 'x', until: '2027-02-30' }] }, 'ignore[0].until: is not a calendar date (got "2027-02-30")'],
    [{ alertOn: ['BROKEN'] }, expect.stringMatching(/^alertOn\[0\]: must be a verdict or drift state, one of /)],
    [{ repositories: [{}] }, 'repositories[0].repo: required: the GitHub repository as "owner/name"'],
    [{ repositories: [{ repo: 'a/b', ref: '' }] }, 'repositories[0].ref: must not be empty; leave it out to read the default branch'],
    [{ repositories: [{ repo: 'a/b', paths: ['apps/../secrets'] }] }, 'repositories[0].paths[0]: must be a repository-relative POSIX path without ".." or a leading "/"'],
    [{ repositories: [{ repo: 'a/b', paths: [] }] }, 'repositories[0].paths: list at least one path, or leave "paths" out to read the whole repository'],
    [{ repositories: [{ repo: 'a/b', branch: 'main' }] }, 'repositories[0]: unknown key "branch"'],
    [{ schedule: 'every hour' }, 'schedule: must be "rate(N minutes|hours|days)" or a six-field "cron(min hour day-of-month month day-of-week year)"'],
    [{ schedule: 42 }, 'schedule: must be a string such as "rate(1 hour)"'],
    [{ scheduleTimeZone: 'Mars/Olympus_Mons' }, 'scheduleTimeZone: must be an IANA time zone name such as "Europe/Berlin" or "UTC" (got "Mars/Olympus_Mons")'],
    [{ scheduleTimeZone: 'europe/berlin' }, 'scheduleTimeZone: must be an IANA time zone name such as "Europe/Berlin" or "UTC" (got "europe/berlin")'],
    [{ notificationEmails: ['ops'] }, 'notificationEmails[0]: must be an e-mail address (got "ops")'],
    [{ registries: { 'GHCR.IO': {} } }, 'registries["GHCR.IO"]: registry keys are lower-case hosts with an optional port, e.g. "ghcr.io" or "localhost:5000" (got "GHCR.IO")'],
    [{ registries: { 'index.docker.io': {} } }, 'registries["index.docker.io"]: write "docker.io" instead of "index.docker.io"; set "endpoint" to change the API host'],
    [{ registries: { 'ghcr.io': { endpoint: 'ghcr.io' } } }, 'registries["ghcr.io"].endpoint: must be an http(s) URL, e.g. "https://registry-1.docker.io"'],
    [{ registries: { 'ghcr.io': { credential: { type: 'token' } } } }, 'registries["ghcr.io"].credential.type: must be one of github-token, basic, dockerhub'],
    [{ registries: { 'ghcr.io': { credential: { type: 'basic', env: 'MY-VAR' } } } }, 'registries["ghcr.io"].credential.env: must be an environment variable name (got "MY-VAR")'],
    [{ registries: { 'ghcr.io': { credential: { type: 'basic', password: 'x' } } } }, 'registries["ghcr.io"].credential: unknown key "password"'],
    [{ registries: { 'ghcr.io': { allowedRealmHosts: ['https://ghcr.io/token'] } } }, 'registries["ghcr.io"].allowedRealmHosts[0]: must be a lower-case host name (got "https://ghcr.io/token")'],
    [{ platforms: ['amd64'] }, 'platforms[0]: must be "os/arch" or "os/arch/variant", e.g. "linux/arm64" (got "amd64")'],
    [{ platforms: [] }, 'platforms: list at least one platform, e.g. ["linux/amd64"]'],
    [{ reminderIntervalHours: -1 }, 'reminderIntervalHours: must be 0 (no reminders) or more'],
    [{ unverifiedAfterRuns: 0 }, 'unverifiedAfterRuns: must be at least 1'],
    [{ unverifiedAfterRuns: 2.5 }, 'unverifiedAfterRuns: must be a whole number of runs'],
    [{ failOn: ['MISSING'] }, expect.stringMatching(/^failOn\[0\]: must be a verdict or drift state, one of OK, TAG_MISSING, .* \(got "MISSING"\)$/)],
    [{ github: { baseUrl: 'github.example.com' } }, 'github.baseUrl: must be an http(s) URL, e.g. "https://github.example.com/api/v3"'],
    [{ github: { packagesTokenSeesAllPackages: 'yes' } }, 'github.packagesTokenSeesAllPackages: must be true or false'],
    [{ concurrency: 0 }, 'concurrency: must be at least 1'],
    [{ lambda: { memoryMb: 64 } }, 'lambda.memoryMb: must be at least 128 (MB)'],
    [{ lambda: { timeoutSeconds: 3600 } }, 'lambda.timeoutSeconds: must be at most 900 (seconds): the Lambda limit'],
    [{ historyRetentionDays: 0 }, 'historyRetentionDays: must be at least 1'],
    [{ notifications: [] }, '(top level): unknown key "notifications"'],
  ])('%j', (input, expected) => {
    expect(problems(input)).toEqual([expected]);
  });

  it('lists every problem at once, under a heading naming the source', () => {
    const result = AuditorConfigSchema.safeParse({ schedule: 'rate(2 hour)', platforms: ['x'] });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(formatConfigError(result.error, 'image-drift.config.yaml')).toBe(
      [
        'Invalid configuration in image-drift.config.yaml:',
        '  - schedule: write "rate(2 hours)": EventBridge wants the plural unit for values above 1',
        '  - platforms[0]: must be "os/arch" or "os/arch/variant", e.g. "linux/arm64" (got "x")',
      ].join('\n'),
    );
  });

  it('asks for a repository only when deploying', () => {
    expect(deployProblems(parseConfig({}))).toEqual([
      'repositories: list at least one repository to deploy the auditor, e.g. [{ repo: "my-org/gitops" }]',
    ]);
    expect(deployProblems(parseConfig(REPO))).toEqual([]);
  });
});

describe('schedule expressions', () => {
  it.each(['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(12 hours)', 'rate(1 day)', 'rate(7 days)', 'cron(0 6 * * ? *)', 'cron(0/15 8-17 ? * MON-FRI *)', 'cron(0 12 L * ? 2027)', 'cron(0 10 ? * 6#3 *)', 'cron(30 2 1,15 JAN-JUN ? *)'])(
    'accepts %s',
    (expression) => {
      expect(scheduleProblem(expression)).toBeUndefined();
    },
  );

  it.each([
    ['rate(1 hours)', 'write "rate(1 hour)": EventBridge wants the singular unit for 1'],
    ['rate(0 minutes)', 'the rate value must be a positive whole number'],
    ['rate(1 week)', 'a rate must look like "rate(1 hour)", "rate(15 minutes)" or "rate(2 days)"'],
    ['cron(0 6 * * *)', 'a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found 5; e.g. "cron(0 6 * * ? *)"'],
    ['cron(0 6 * * * *)', 'exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?", e.g. "cron(0 6 * * ? *)"'],
    ['cron(60 6 * * ? *)', 'cron minutes field "60": "60" is not a valid value (0-59)'],
    ['cron(0 6 ? FOO * *)', 'cron month field "FOO": "FOO" is not a valid value (1-12 or JAN-DEC)'],
    ['cron(0 ? * * ? *)', 'cron hours field "?": "?" is only allowed in day-of-month and day-of-week'],
    [' rate(1 hour)', 'remove the leading or trailing spaces'],
  ])('rejects %s', (expression, message) => {
    expect(scheduleProblem(expression)).toBe(message);
  });
});

describe('STARTER_CONFIG_YAML', () => {
  it('parses, validates and is deployable once its example repository is replaced', () => {
    const config = parseConfigText(STARTER_CONFIG_YAML, 'image-drift.config.yaml');
    expect(config.repositories).toEqual([{ repo: 'my-org/gitops' }]);
    expect(config.registries['ghcr.io']?.credential).toEqual({ type: 'github-token', env: 'GITHUB_TOKEN' });
    expect(deployProblems(config)).toEqual([]);
  });

  it('states the same defaults as the schema', () => {
    const starter = parseConfigText(STARTER_CONFIG_YAML, 'image-drift.config.yaml');
    const defaults = parseConfig({});
    for (const key of ['schedule', 'platforms', 'reminderIntervalHours', 'unverifiedAfterRuns', 'failOn', 'historyRetentionDays'] as const) {
      expect(starter[key], key).toEqual(defaults[key]);
    }
  });
});

describe('loadConfigFile', () => {
  it('reads YAML and JSON files', async () => {
    const yamlPath = tempFile('image-drift.config.yaml', 'repositories:\n  - repo: acme/gitops\n');
    const jsonPath = tempFile('image-drift.config.json', JSON.stringify({ repositories: [{ repo: 'acme/gitops' }], schedule: 'rate(2 hours)' }));
    expect((await loadConfigFile(yamlPath)).repositories).toEqual([{ repo: 'acme/gitops' }]);
    expect((await loadConfigFile(jsonPath)).schedule).toBe('rate(2 hours)');
  });

  it('names the file in validation errors', async () => {
    const path = tempFile('image-drift.config.yaml', 'repositories:\n  - repo: nope\n');
    await expect(loadConfigFile(path)).rejects.toThrow(`Invalid configuration in ${path}:\n  - repositories[0].repo: must be a GitHub repository as "owner/name" (got "nope")`);
  });

  it('names the file in syntax errors, including duplicate keys', async () => {
    const broken = tempFile('image-drift.config.yaml', 'repositories: [\n');
    await expect(loadConfigFile(broken)).rejects.toThrow(new RegExp(`^Cannot parse ${broken}: `));
    const duplicate = tempFile('image-drift.config.yaml', 'schedule: rate(1 hour)\nschedule: rate(2 hours)\n');
    await expect(loadConfigFile(duplicate)).rejects.toThrow(/Map keys must be unique/);
    const badJson = tempFile('image-drift.config.json', '{"repositories": }');
    await expect(loadConfigFile(badJson)).rejects.toThrow(new RegExp(`^Cannot parse ${badJson}: `));
  });

  it('rejects a file whose top level is not a mapping', async () => {
    const path = tempFile('image-drift.config.yaml', '- repo: acme/gitops\n');
    await expect(loadConfigFile(path)).rejects.toThrow(`Invalid configuration in ${path}: the file must hold a mapping (key: value pairs) at the top level`);
  });

  it('says when the file does not exist', async () => {
    await expect(loadConfigFile('/nonexistent/image-drift.config.yaml')).rejects.toThrow('Cannot read config file /nonexistent/image-drift.config.yaml: file not found');
  });
});

describe('docs/config.schema.json', () => {
  it('equals a fresh generation (run npx tsx bin/generate-config-schema.ts when this fails)', () => {
    expect(readFileSync(COMMITTED_SCHEMA, 'utf8')).toBe(buildConfigJsonSchema());
  });

  it('accepts the starter config and rejects unknown keys, as a JSON Schema validator sees it', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(COMMITTED_SCHEMA, 'utf8')) as object);
    expect(validate(parseYaml(STARTER_CONFIG_YAML))).toBe(true);
    expect(validate({ repositories: [{ repo: 'acme/gitops' }], repos: [] })).toBe(false);
    expect(validate({ repositories: [{ repo: 'not a repo' }] })).toBe(false);
  });
});
