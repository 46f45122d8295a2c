import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/engine/config/schema.js';
import { resolveAppConfig } from '../../lib/app-config.js';
import { readCdkJson } from './support.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A context reader over a flat map, as `app.node.tryGetContext` sees cdk.json plus `-c key=value`. */
const reader = (context: Record<string, unknown>) => (key: string) => context[key];

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'image-drift-app-')), name);
  writeFileSync(path, text);
  return path;
}

describe('resolveAppConfig', () => {
  it('accepts the example context committed in cdk.json', () => {
    const config = resolveAppConfig(reader(readCdkJson().context));
    expect(config.repositories).toEqual([{ repo: 'argoproj/argocd-example-apps', ref: 'master' }]);
    expect(config.schedule).toBe('rate(1 hour)');
  });

  it('reads -c imageDrift.configFile=path instead of the cdk.json object (no merge with the example)', () => {
    const path = tempFile('image-drift.config.yaml', 'repositories:\n  - repo: acme/gitops\nplatforms: [linux/arm64]\n');
    const config = resolveAppConfig(
      reader({ imageDrift: { repositories: [{ repo: 'example/sample' }], notificationEmails: ['x@example.com'] }, 'imageDrift.configFile': path }),
    );
    expect(config.repositories).toEqual([{ repo: 'acme/gitops' }]);
    expect(config.platforms).toEqual(['linux/arm64']);
    expect(config.notificationEmails).toEqual([]);
  });

  it('resolves a relative configFile against the working directory, and reads JSON files', () => {
    const path = tempFile('image-drift.config.json', JSON.stringify({ repositories: [{ repo: 'acme/gitops' }] }));
    const config = resolveAppConfig(reader({ imageDrift: { configFile: 'image-drift.config.json' } }), join(path, '..'));
    expect(config.repositories).toEqual([{ repo: 'acme/gitops' }]);
  });

  it('applies single -c imageDrift.<key> overrides, as JSON when they parse and as strings otherwise', () => {
    const config = resolveAppConfig(
      reader({
        imageDrift: { repositories: [{ repo: 'acme/gitops' }] },
        'imageDrift.schedule': 'rate(6 hours)',
        'imageDrift.notificationEmails': '["ops@example.com"]',
        'imageDrift.historyRetentionDays': '30',
      }),
    );
    expect(config.schedule).toBe('rate(6 hours)');
    expect(config.notificationEmails).toEqual(['ops@example.com']);
    expect(config.historyRetentionDays).toBe(30);
  });

  it('names the source and each bad field when the config is invalid', () => {
    const run = () =>
      resolveAppConfig(reader({ imageDrift: { repositories: [{ repo: 'acme/gitops' }] }, 'imageDrift.schedule': 'rate(5 minute)' }));
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      'Invalid configuration in cdk.json context "imageDrift" with -c overrides (schedule):\n  - schedule: write "rate(5 minutes)": EventBridge wants the plural unit for values above 1',
    );
  });

  it('refuses to deploy a valid config that lists no repository', () => {
    expect(() => resolveAppConfig(reader({ imageDrift: {} }))).toThrow(/Cannot deploy the configuration from cdk\.json context "imageDrift":\n {2}- repositories: list at least one/);
  });

  it('says how to provide a config when there is none', () => {
    expect(() => resolveAppConfig(reader({}))).toThrow(/set the context key "imageDrift" in cdk\.json, or pass -c imageDrift\.configFile=/);
  });

  it('names a config file that does not exist', () => {
    expect(() => resolveAppConfig(reader({ 'imageDrift.configFile': '/nonexistent/image-drift.config.yaml' }))).toThrow(
      'Cannot read config file /nonexistent/image-drift.config.yaml: file not found',
    );
  });
});

describe('bin/app.ts', () => {
  it('exits 1 with the validation message, before synthesizing, when the context config is invalid', async () => {
    const context = { imageDrift: { repositories: [{ repo: 'not-a-repo' }] } };
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'image-drift-out-')) },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('repositories[0].repo: must be a GitHub repository as "owner/name" (got "not-a-repo")');
  });
});
