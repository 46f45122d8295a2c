import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadRegistryCredentials, makeCredential } from '../../lambdas/engine/registry/credentials.js';

function dockerConfig(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ida-docker-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  return dir;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('loadRegistryCredentials', () => {
  it('reads auths from $DOCKER_CONFIG/config.json: base64 auth, username/password, identitytoken', async () => {
    const dir = dockerConfig({
      auths: {
        'ghcr.io': { auth: b64('octo:ghp_from_docker_config') },
        'https://index.docker.io/v1/': { username: 'hubuser', password: 'dckr_pat_x' },
        'registry.example.com': { identitytoken: 'refresh-xyz' },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
    });
    const creds = await loadRegistryCredentials({ env: { DOCKER_CONFIG: dir, GITHUB_TOKEN: 'ghp_env' } });
    expect(creds.forHost('ghcr.io')).toMatchObject({ username: 'octo', source: 'docker-config', kind: 'basic' });
    expect(creds.forHost('ghcr.io')?.secret.reveal()).toBe('ghp_from_docker_config');
    expect(creds.forHost('docker.io')).toMatchObject({ username: 'hubuser' });
    expect(creds.forHost('index.docker.io')?.secret.reveal()).toBe('dckr_pat_x');
    expect(creds.forHost('registry.example.com')).toMatchObject({ kind: 'identity-token' });
    // gcr.io lives in a credential helper: nothing static, the helper is run on demand.
    expect(creds.forHost('gcr.io')).toBeUndefined();
    expect(creds.sourceFor('gcr.io')).toBe('docker-credential-gcloud');
    // GITHUB_TOKEN still serves the GitHub API.
    expect(creds.githubApiToken()?.reveal()).toBe('ghp_env');
  });

  it('uses GITHUB_TOKEN or GH_TOKEN for ghcr.io when no Docker config entry covers it', async () => {
    const creds = await loadRegistryCredentials({ env: { GH_TOKEN: 'ghp_gh' }, homeDir: mkdtempSync(join(tmpdir(), 'ida-home-')) });
    expect(creds.forHost('ghcr.io')).toMatchObject({ source: 'env:GH_TOKEN' });
    expect(creds.forHost('ghcr.io')?.secret.reveal()).toBe('ghp_gh');
    expect(creds.githubApiToken()?.reveal()).toBe('ghp_gh');
  });

  it('is anonymous everywhere without config or environment', async () => {
    const creds = await loadRegistryCredentials({ env: {}, homeDir: mkdtempSync(join(tmpdir(), 'ida-home-')) });
    expect(creds.hosts()).toEqual([]);
    expect(creds.githubApiToken()).toBeUndefined();
  });

  it('fails clearly on an explicit config path that cannot be read, or invalid JSON', async () => {
    await expect(loadRegistryCredentials({ env: {}, dockerConfigPath: '/nonexistent/config.json' })).rejects.toThrow(/cannot read Docker config/);
    const dir = mkdtempSync(join(tmpdir(), 'ida-bad-'));
    writeFileSync(join(dir, 'config.json'), '{not json');
    await expect(loadRegistryCredentials({ env: { DOCKER_CONFIG: dir } })).rejects.toThrow(/not valid JSON/);
  });

  it('never shows a secret in JSON, inspect or string form', async () => {
    const dir = dockerConfig({ auths: { 'ghcr.io': { auth: b64('octo:ghp_SECRET_1') } } });
    const creds = await loadRegistryCredentials({ env: { DOCKER_CONFIG: dir, GITHUB_TOKEN: 'ghp_SECRET_2' } });
    const cred = creds.forHost('ghcr.io');
    const renderings = [
      JSON.stringify(creds),
      JSON.stringify(cred),
      JSON.stringify({ nested: { cred } }),
      inspect(creds, { depth: 5 }),
      inspect(cred, { depth: 5 }),
      String(cred?.secret),
      `${cred?.secret}`,
      inspect(makeCredential({ host: 'x.io', username: 'u', secret: 'ghp_SECRET_3' }), { depth: 5, showHidden: true }),
    ];
    for (const text of renderings) expect(text).not.toMatch(/SECRET_\d/);
    expect(JSON.stringify(cred)).toContain('[redacted]');
  });
});
