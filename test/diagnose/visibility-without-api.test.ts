/**
 * Visibility when the Packages API cannot give it (issue 11: an API host that does not resolve must not cost the
 * audit more than half again). The probe plan then asks anonymously first: that answer is the visibility. The
 * credential goes only where anonymous callers were refused, or where its token does not vouch for it. The verdicts
 * must be those of the run whose API is reachable.
 *
 * Real docker-registry behind the GHCR-like token server (JWT tokens carrying `access` claims), the Packages API
 * fake over loopback with the real Octokit, and a stubbed DNS lookup for the unresolvable host (nothing is sent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker, type RegistryCheckOptions } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, Secret, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import type { ImageCheckResult } from '../../lambdas/engine/model.js';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { unresolvableFetch } from '../support/unresolvable-fetch.js';
import { ref } from '../support/image-ref.js';

const TOKEN = 'ghp_classic_token_with_read_packages';
const EXPIRED = 'ghp_expired_token';

const IMAGES = [
  'ghcr.io/acme/web:v1', // public, exists
  'ghcr.io/acme/web:v2', // public, exists (second tag of the same repository)
  'ghcr.io/acme/web:v9', // public, tag never pushed
  'ghcr.io/acme/auth-api:v1', // private, exists
  'ghcr.io/acme/auth-api:v9', // private, tag never pushed
  'ghcr.io/acme/never-pushed:v1', // no such package
  'ghcr.io/acme/docs:v1', // public, exists (another repository, in the same token batch)
];
const EXPECTED = {
  'ghcr.io/acme/web:v1': 'OK',
  'ghcr.io/acme/web:v2': 'OK',
  'ghcr.io/acme/web:v9': 'TAG_MISSING',
  'ghcr.io/acme/auth-api:v1': 'PRIVATE',
  'ghcr.io/acme/auth-api:v9': 'TAG_MISSING',
  'ghcr.io/acme/never-pushed:v1': 'REPO_MISSING',
  'ghcr.io/acme/docs:v1': 'OK',
};

let registry: LocalRegistry;
let api: GitHubPackagesServer;

beforeAll(async () => {
  registry = await startLocalRegistry({ privateRepositories: ['acme/auth-api'], tokens: [TOKEN] });
  await registry.pushImage('acme/web', 'v1');
  await registry.pushImage('acme/web', 'v2');
  await registry.pushImage('acme/auth-api', 'v1');
  await registry.pushImage('acme/docs', 'v1');
  api = await startGitHubPackagesServer({
    owners: [
      {
        login: 'acme',
        type: 'Organization',
        packages: [
          { name: 'web', visibility: 'public', versions: [{ id: 1, digest: 'sha256:' + '1'.repeat(64), tags: ['v1', 'v2'], updatedAt: '2026-12-01T00:00:00Z' }] },
          { name: 'docs', visibility: 'public', versions: [{ id: 3, digest: 'sha256:' + '3'.repeat(64), tags: ['v1'], updatedAt: '2026-12-01T00:00:00Z' }] },
          { name: 'auth-api', visibility: 'private', versions: [{ id: 2, digest: 'sha256:' + '2'.repeat(64), tags: ['v1'], updatedAt: '2026-12-01T00:00:00Z' }] },
        ],
      },
    ],
    tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }],
  });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await api?.stop();
});

function credentials(token: string): RegistryCredentials {
  return new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'ci', secret: token })] });
}

async function audit(apiReachable: boolean, extra: Partial<RegistryCheckOptions> = {}) {
  const stub = unresolvableFetch();
  try {
    const checker = createImageChecker({
      endpoints: { 'ghcr.io': registry.url },
      credentials: credentials(TOKEN),
      github: apiReachable ? { token: new Secret(TOKEN), baseUrl: api.url } : { token: new Secret(TOKEN), baseUrl: 'https://api.github.invalid', fetch: stub.fetch },
      ...extra,
    });
    const before = registry.tokenRequests.length;
    const results = await checker.check(IMAGES.map(ref));
    return {
      results,
      byImage: Object.fromEntries(results.map((r) => [r.image, r])) as Record<string, ImageCheckResult>,
      statuses: Object.fromEntries(results.map((r) => [r.image, r.status])),
      stats: checker.lastStats(),
      tokenRequests: registry.tokenRequests.slice(before),
      lookups: stub.lookups,
    };
  } finally {
    await stub.close();
  }
}

describe('visibility when the Packages API host does not resolve', () => {
  it('gives the verdicts of the reachable run: OK, TAG_MISSING, PRIVATE, REPO_MISSING', async () => {
    const reachable = await audit(true);
    const unreachable = await audit(false);
    expect(reachable.statuses).toEqual(EXPECTED);
    expect(unreachable.statuses).toEqual(EXPECTED);
    expect(unreachable.lookups).toEqual(['api.github.invalid']);
  });

  it('reads public images anonymously only: the credential token vouches for the credential, no credentialed HEAD', async () => {
    const { byImage, tokenRequests } = await audit(false);
    const web = byImage['ghcr.io/acme/web:v1'];
    expect(web?.evidence.anonymous).toMatchObject({ http: 200, stage: 'manifest' });
    expect(web?.evidence.authenticated).toBeUndefined();
    expect(web?.hint).toMatch(/is available \(digest sha256:[0-9a-f]{64}\), anonymously too \(public; the configured credential.s pull token for it was granted\)\./);
    // The public repository's missing tag: anonymous callers can read the repository, so no credential could pull it.
    const missing = byImage['ghcr.io/acme/web:v9'];
    expect(missing?.evidence.anonymous).toMatchObject({ http: 404, code: 'MANIFEST_UNKNOWN' });
    expect(missing?.evidence.authenticated).toBeUndefined();
    expect(missing?.evidence.tags?.nearest).toContain('v1');
    // The credential's token was asked for (batched), and granted.
    const credentialed = tokenRequests.filter((r) => r.authorization?.startsWith('Basic '));
    expect(credentialed.length).toBeGreaterThan(0);
    expect(credentialed.every((r) => r.outcome === 'granted')).toBe(true);
  });

  it('tells private from missing with the credential where anonymous callers were refused', async () => {
    const { byImage } = await audit(false);
    const secret = byImage['ghcr.io/acme/auth-api:v1'];
    expect(secret?.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED', stage: 'token' });
    expect(secret?.evidence.authenticated).toMatchObject({ http: 200, stage: 'manifest' });
    expect(secret?.hint).toMatch(/exists but is private: anonymous access was refused/);
    const gone = byImage['ghcr.io/acme/never-pushed:v1'];
    expect(gone?.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED' });
    expect(gone?.evidence.authenticated).toMatchObject({ http: 404 });
    expect(byImage['ghcr.io/acme/auth-api:v9']?.evidence.authenticated).toMatchObject({ http: 404, code: 'MANIFEST_UNKNOWN' });
  });

  it('costs fewer registry requests than a credentialed probe plus an anonymous one per repository', async () => {
    const reachable = await audit(true);
    const unreachable = await audit(false);
    const repositories = new Set(IMAGES.map((i) => i.split(':')[0])).size;
    const reachableRequests = reachable.stats?.registryRequests ?? 0;
    const unreachableRequests = unreachable.stats?.registryRequests ?? 0;
    // The plan before: every reference with the credential, then one anonymous probe per repository.
    expect(unreachableRequests).toBeLessThan(reachableRequests + repositories);
  });

  it('still reports AUTH_FAILED for a public image when the configured credential is refused at the token step', async () => {
    const { byImage } = await audit(false, { credentials: credentials(EXPIRED) });
    const web = byImage['ghcr.io/acme/web:v1'];
    expect(web?.status).toBe('AUTH_FAILED');
    expect(web?.evidence.anonymous).toMatchObject({ http: 200 });
    expect(web?.evidence.authenticated).toMatchObject({ http: 401, code: 'UNAUTHORIZED', stage: 'token' });
    const missing = byImage['ghcr.io/acme/web:v9'];
    expect(missing?.status).toBe('TAG_MISSING');
    expect(missing?.hint).toMatch(/was refused as well/);
  });

  it('probes with the credential when its batch token does not grant the repository (JWT access claim)', async () => {
    // A token server that reads only the first scope: batch tokens then cover one repository each.
    registry.setScopesHonoured('first');
    try {
      const { statuses, byImage } = await audit(false);
      expect(statuses).toEqual(EXPECTED);
      // Repositories are batched in the order they come: acme/web first, so the credential's batch token grants
      // acme/web and no other. acme/web is vouched for; acme/docs, public too, gets the credential's own answer.
      expect(byImage['ghcr.io/acme/web:v1']?.evidence.authenticated).toBeUndefined();
      expect(byImage['ghcr.io/acme/docs:v1']?.evidence.anonymous).toMatchObject({ http: 200 });
      expect(byImage['ghcr.io/acme/docs:v1']?.evidence.authenticated).toMatchObject({ http: 200 });
    } finally {
      registry.setScopesHonoured('all');
    }
  });

  it("probes every image both ways with anonymousProbe 'always'", async () => {
    const { byImage, statuses } = await audit(false, { anonymousProbe: 'always' });
    expect(statuses).toEqual(EXPECTED);
    for (const image of ['ghcr.io/acme/web:v1', 'ghcr.io/acme/web:v9', 'ghcr.io/acme/auth-api:v1']) {
      expect(byImage[image]?.evidence.anonymous).toBeDefined();
      expect(byImage[image]?.evidence.authenticated).toBeDefined();
    }
  });
});
