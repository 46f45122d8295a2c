import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubPackagesClient } from '../../lambdas/engine/registry/github-packages.js';
import { Secret } from '../../lambdas/engine/registry/credentials.js';
import type { ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';

let api: GitHubPackagesServer;
const digest = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

beforeAll(async () => {
  api = await startGitHubPackagesServer({
    tokens: [
      { token: 'classic', scopes: ['read:packages'], sees: 'all' },
      { token: 'no-scope', scopes: [] },
    ],
    owners: [
      {
        login: 'octo',
        type: 'User',
        packages: [
          {
            name: 'tools/cli',
            visibility: 'private',
            versions: Array.from({ length: 130 }, (_, i) => ({ id: i + 1, digest: digest(i + 1), tags: [`v${i + 1}`], updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString() })),
          },
        ],
      },
    ],
  });
});

afterAll(async () => api?.stop());

const client = (token: string, events?: ExchangeEvent[]) =>
  new GitHubPackagesClient({ token: new Secret(token), baseUrl: api.url, ...(events ? { onExchange: (e: ExchangeEvent) => events.push(e) } : {}) });

describe('GitHub Packages API evidence', () => {
  it('falls back from the org endpoint to the user endpoint and reads visibility of a nested package', async () => {
    const events: ExchangeEvent[] = [];
    const pkg = await client('classic', events).getPackage('octo', 'tools/cli');
    expect(pkg).toMatchObject({ http: 200, visibility: 'private', ownerKind: 'user', exists: true });
    expect(events.map((e) => [e.status, new URL(e.url).pathname])).toEqual([
      [404, '/orgs/octo/packages/container/tools%2Fcli'],
      [200, '/users/octo/packages/container/tools%2Fcli'],
    ]);
    expect(JSON.stringify(events)).not.toContain('classic');
  });

  it('pages through versions to find a tag, most recent first', async () => {
    const c = client('classic');
    const found = await c.findVersion('octo', 'user', 'tools/cli', { tag: 'v3' });
    expect(found.tagFound).toBe(true);
    expect(found.recentTags.slice(0, 2)).toEqual(['v130', 'v129']);
    expect(found.allTags).toHaveLength(130);
  });

  it('reads 403 (token without read:packages) as unknown, not as absence', async () => {
    const pkg = await client('no-scope').getPackage('octo', 'tools/cli');
    expect(pkg.http).toBe(403);
    expect(pkg.exists).toBeUndefined();
    expect(pkg.message).toMatch(/read:packages/);
  });

  it('reads 404 as unknown unless the token sees every package', async () => {
    expect((await client('classic').getPackage('octo', 'nope')).exists).toBeUndefined();
    const all = new GitHubPackagesClient({ token: new Secret('classic'), baseUrl: api.url, packagesTokenSeesAllPackages: true });
    expect((await all.getPackage('octo', 'nope')).exists).toBe(false);
  });

  it('lists the owner\'s packages for "did you mean"', async () => {
    expect(await client('classic').ownerPackages('octo')).toEqual(['tools/cli']);
  });
});
