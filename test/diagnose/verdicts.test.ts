import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker, type RegistryCheckOptions } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, Secret, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import type { ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import { startLocalRegistry, type LocalRegistry, type PushedManifest } from '../support/registry.js';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { ref } from '../support/image-ref.js';

const GOOD = 'ghp_good_token_with_read_packages';

let registry: LocalRegistry;
let api: GitHubPackagesServer;
const pushed: Record<string, PushedManifest> = {};

beforeAll(async () => {
  registry = await startLocalRegistry({ privateRepositories: ['acme/secret'], tokens: [GOOD] });
  pushed['web:v1'] = await registry.pushImage('acme/web', 'v1');
  pushed['web:latest'] = await registry.pushImage('acme/web', 'latest');
  pushed['web:3f2a1bc'] = await registry.pushImage('acme/web', '3f2a1bc');
  pushed['secret:v1'] = await registry.pushImage('acme/secret', 'v1');
  pushed['multi:v2'] = await registry.pushIndex('acme/multi', 'v2', ['linux/arm64', 'linux/arm/v7'], { attestation: true });
  pushed['both:v1'] = await registry.pushIndex('acme/both', 'v1', ['linux/amd64', 'linux/arm64'], { attestation: true });
  pushed['auth_api:v1'] = await registry.pushImage('acme/auth_api', 'v1');
  pushed['gone:v2'] = await registry.pushImage('acme/gone', 'v2');
  pushed['gone:v1'] = await registry.pushImage('acme/gone', 'v1');
  await registry.deleteTag('acme/gone', 'v1');

  api = await startGitHubPackagesServer({
    tokens: [{ token: GOOD, scopes: ['read:packages'], sees: 'all' }],
    owners: [
      {
        login: 'acme',
        type: 'Organization',
        packages: [
          {
            name: 'web',
            visibility: 'public',
            versions: [
              { id: 1, digest: pushed['web:v1']!.digest, tags: ['v1'], updatedAt: '2026-11-01T10:00:00Z' },
              { id: 2, digest: pushed['web:latest']!.digest, tags: ['latest'], updatedAt: '2026-11-20T10:00:00Z' },
              { id: 3, digest: pushed['web:3f2a1bc']!.digest, tags: ['3f2a1bc'], updatedAt: '2026-11-20T10:00:01Z' },
            ],
          },
          { name: 'secret', visibility: 'private', versions: [{ id: 10, digest: pushed['secret:v1']!.digest, tags: ['v1'], updatedAt: '2026-11-02T10:00:00Z' }] },
          { name: 'auth_api', visibility: 'public', versions: [{ id: 20, digest: pushed['auth_api:v1']!.digest, tags: ['v1'], updatedAt: '2026-11-02T10:00:00Z' }] },
          { name: 'multi', visibility: 'public', versions: [{ id: 30, digest: pushed['multi:v2']!.digest, tags: ['v2'], updatedAt: '2026-11-02T10:00:00Z' }] },
          { name: 'both', visibility: 'public', versions: [{ id: 40, digest: pushed['both:v1']!.digest, tags: ['v1'], updatedAt: '2026-11-02T10:00:00Z' }] },
          {
            name: 'gone',
            visibility: 'public',
            versions: [
              { id: 50, digest: pushed['gone:v2']!.digest, tags: ['v2'], updatedAt: '2026-11-03T10:00:00Z' },
              { id: 51, digest: pushed['gone:v1']!.digest, tags: ['v1'], updatedAt: '2026-11-04T10:00:00Z', deletedAt: '2026-11-25T08:00:00Z' },
            ],
          },
        ],
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await api?.stop();
});

function credentials(token = GOOD): RegistryCredentials {
  return new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'ci-bot', secret: token })] });
}

function anonymousChecker(extra: Partial<RegistryCheckOptions> = {}) {
  return createImageChecker({ endpoints: { 'ghcr.io': registry.url }, github: { enabled: false }, ...extra });
}

function credentialedChecker(extra: Partial<RegistryCheckOptions> = {}) {
  return createImageChecker({ endpoints: { 'ghcr.io': registry.url }, credentials: credentials(), github: { baseUrl: api.url }, ...extra });
}

async function one(checker: ReturnType<typeof createImageChecker>, image: string) {
  const [result] = await checker.check([ref(image)]);
  if (!result) throw new Error('no result');
  return result;
}

describe('verdicts against a real registry behind a GHCR-like token server', () => {
  it('reports OK for a public image probed anonymously, with its digest', async () => {
    const r = await one(anonymousChecker(), 'ghcr.io/acme/web:v1');
    expect(r.status).toBe('OK');
    expect(r.evidence.anonymous).toMatchObject({ http: 200, stage: 'manifest', digest: pushed['web:v1']!.digest });
    expect(r.evidence.anonymous?.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(r.image).toBe('ghcr.io/acme/web:v1');
  });

  it('reports OK with a credential and the Packages API saying public, without an anonymous probe', async () => {
    const r = await one(credentialedChecker(), 'ghcr.io/acme/web:v1');
    expect(r.status).toBe('OK');
    expect(r.evidence.authenticated).toMatchObject({ http: 200, digest: pushed['web:v1']!.digest });
    expect(r.evidence.packagesApi?.visibility).toBe('public');
    expect(r.evidence.anonymous).toBeUndefined();
  });

  it('reports TAG_MISSING with nearest and most recent tags when the repository exists but the tag does not', async () => {
    const r = await one(credentialedChecker(), 'ghcr.io/acme/web:dev-latest');
    expect(r.status).toBe('TAG_MISSING');
    expect(r.evidence.authenticated).toMatchObject({ http: 404, code: 'MANIFEST_UNKNOWN', stage: 'manifest' });
    expect(r.evidence.tags?.nearest[0]).toBe('latest');
    expect(r.evidence.tags?.recent.slice(0, 2)).toEqual(['3f2a1bc', 'latest']);
    expect(r.evidence.tags?.total).toBe(3);
    expect(r.evidence.packagesApi?.tagFound).toBe(false);
    expect(r.hint).toContain('dev-latest');
    expect(r.hint).toContain('`latest`');
    expect(r.hint).toContain('`3f2a1bc`');
  });

  it('reports TAG_MISSING anonymously for a public repository, hints from tags/list', async () => {
    const r = await one(anonymousChecker(), 'ghcr.io/acme/web:dev-latest');
    expect(r.status).toBe('TAG_MISSING');
    expect(r.evidence.anonymous).toMatchObject({ http: 404, code: 'MANIFEST_UNKNOWN' });
    expect(r.evidence.tags?.nearest).toContain('latest');
  });

  it('says a tag disappeared when a deleted package version carried it', async () => {
    const r = await one(credentialedChecker(), 'ghcr.io/acme/gone:v1');
    expect(r.status).toBe('TAG_MISSING');
    expect(r.evidence.packagesApi?.deletedVersionWithTag).toMatchObject({ id: 51, deletedAt: '2026-11-25T08:00:00Z' });
    expect(r.hint).toMatch(/disappeared/);
  });

  it('reports REPO_MISSING with "did you mean" candidates from the owner\'s packages', async () => {
    const r = await one(credentialedChecker(), 'ghcr.io/acme/auth-api:v1');
    expect(r.status).toBe('REPO_MISSING');
    expect(r.evidence.authenticated?.http).toBe(404);
    expect(r.evidence.packagesApi?.http).toBe(404);
    expect(r.evidence.candidates?.[0]).toBe('ghcr.io/acme/auth_api');
    expect(r.hint).toContain('ghcr.io/acme/auth_api');
    expect(r.hint).toMatch(/separators/);
  });

  it('reports NOT_VISIBLE_ANONYMOUSLY alike for a private and a never-pushed repository without credentials', async () => {
    const checker = anonymousChecker();
    const results = await checker.check([ref('ghcr.io/acme/secret:v1'), ref('ghcr.io/acme/never-pushed:v1')]);
    expect(results.map((r) => r.status)).toEqual(['NOT_VISIBLE_ANONYMOUSLY', 'NOT_VISIBLE_ANONYMOUSLY']);
    for (const r of results) {
      expect(r.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED', stage: 'token' });
      expect(r.hint).toMatch(/classic PAT with read:packages/);
    }
    // The token step answers: no manifest request is sent (only the endpoint's one /v2/ ping). Tokens: the two
    // repositories' joint request, refused as a whole, then one each (each refusal is its own evidence).
    expect(checker.lastStats()).toMatchObject({ tokenRequests: 3, registryRequests: 1 });
  });

  it('reports NOT_VISIBLE_ANONYMOUSLY when GHCR issues an anonymous token and the manifest then answers 401', async () => {
    registry.setAnonymousHidden('empty-token');
    try {
      const checker = anonymousChecker();
      const [r] = await checker.check([ref('ghcr.io/acme/secret:v1')]);
      expect(r?.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
      expect(r?.evidence.anonymous).toMatchObject({ http: 401, stage: 'manifest' });
      // the registry keeps refusing: at most one fresh token after the re-challenge, no loop
      expect(checker.lastStats()?.tokenRequests).toBeLessThanOrEqual(2);
    } finally {
      registry.setAnonymousHidden('deny');
    }
  });

  it('keeps NOT_VISIBLE_ANONYMOUSLY when the Packages API answers 404 to a token not known to see every package', async () => {
    // A second fake whose token sees no private package: 404 for secret.
    const blind = await startGitHubPackagesServer({ tokens: [{ token: 'ghp_sees_nothing', scopes: ['read:packages'], sees: [] }], owners: api.owners });
    const r = await one(anonymousChecker({ github: { baseUrl: blind.url, token: new Secret('ghp_sees_nothing') } }), 'ghcr.io/acme/secret:v1');
    await blind.stop();
    expect(r.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(r.evidence.packagesApi?.http).toBe(404);
    expect(r.hint).toMatch(/cannot see/);
  });

  it('reads a Packages API 404 as REPO_MISSING only when packagesTokenSeesAllPackages is set', async () => {
    const r = await one(anonymousChecker({ github: { baseUrl: api.url, token: new Secret(GOOD), packagesTokenSeesAllPackages: true } }), 'ghcr.io/acme/never-pushed:v1');
    expect(r.status).toBe('REPO_MISSING');
    expect(r.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED' });
    const r2 = await one(anonymousChecker({ github: { baseUrl: api.url, token: new Secret(GOOD) } }), 'ghcr.io/acme/never-pushed:v1');
    expect(r2.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
  });

  it('reports PRIVATE when the credential can pull and the Packages API says private', async () => {
    const r = await one(credentialedChecker(), 'ghcr.io/acme/secret:v1');
    expect(r.status).toBe('PRIVATE');
    expect(r.evidence.authenticated).toMatchObject({ http: 200, digest: pushed['secret:v1']!.digest });
    expect(r.evidence.packagesApi?.visibility).toBe('private');
    expect(r.hint).toMatch(/imagePullSecret/);
    expect(r.hint).toMatch(/read:packages/);
  });

  it('reports PRIVATE from the anonymous probe when no Packages API is available', async () => {
    const r = await one(credentialedChecker({ github: { enabled: false } }), 'ghcr.io/acme/secret:v1');
    expect(r.status).toBe('PRIVATE');
    expect(r.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED', stage: 'token' });
    expect(r.evidence.authenticated?.http).toBe(200);
  });

  it('reports AUTH_FAILED when our credential is rejected although the image is public', async () => {
    const r = await one(createImageChecker({ endpoints: { 'ghcr.io': registry.url }, credentials: credentials('ghp_expired'), github: { enabled: false } }), 'ghcr.io/acme/web:v1');
    expect(r.status).toBe('AUTH_FAILED');
    expect(r.evidence.authenticated).toMatchObject({ http: 401, code: 'UNAUTHORIZED', stage: 'token' });
    expect(r.evidence.anonymous).toMatchObject({ http: 200 });
    expect(r.hint).toMatch(/pull secret/);
  });

  it('reports TAG_MISSING, not AUTH_FAILED, when our credential is rejected and the public repository lacks the tag', async () => {
    const r = await one(createImageChecker({ endpoints: { 'ghcr.io': registry.url }, credentials: credentials('ghp_expired'), github: { enabled: false } }), 'ghcr.io/acme/web:v9');
    expect(r.status).toBe('TAG_MISSING');
    expect(r.evidence.authenticated).toMatchObject({ http: 401, code: 'UNAUTHORIZED', stage: 'token' });
    expect(r.evidence.anonymous).toMatchObject({ http: 404, code: 'MANIFEST_UNKNOWN' });
    expect(r.hint).toMatch(/no tag `v9`/);
    expect(r.hint).toMatch(/was refused as well \(token endpoint HTTP 401 UNAUTHORIZED/);
  });

  it('lists tags anonymously for hints when the credential is rejected and the anonymous probe answers 404', async () => {
    const r = await one(createImageChecker({ endpoints: { 'ghcr.io': registry.url }, credentials: credentials('ghp_expired'), github: { enabled: false } }), 'ghcr.io/acme/web:v9');
    expect(r.status).toBe('TAG_MISSING');
    expect(r.evidence.tags?.nearest[0]).toBe('v1');
    expect(r.evidence.tags?.total).toBe(3);
  });

  it('reports PLATFORM_MISSING for an index without the configured platform, ignoring attestations', async () => {
    const r = await one(anonymousChecker(), 'ghcr.io/acme/multi:v2');
    expect(r.status).toBe('PLATFORM_MISSING');
    expect(r.evidence.anonymous?.platforms).toEqual(['linux/arm64', 'linux/arm/v7']);
    expect(r.evidence.anonymous?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(r.hint).toContain('linux/amd64');
    const ok = await one(anonymousChecker({ platforms: ['linux/arm64', 'linux/arm/v7'] }), 'ghcr.io/acme/multi:v2');
    expect(ok.status).toBe('OK');
  });

  it('reports OK for an index carrying every configured platform', async () => {
    const r = await one(anonymousChecker({ platforms: ['linux/amd64', 'linux/arm64'] }), 'ghcr.io/acme/both:v1');
    expect(r.status).toBe('OK');
    expect(r.evidence.anonymous?.platforms).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('checks a digest reference by digest', async () => {
    const results = await anonymousChecker().check([
      ref(`ghcr.io/acme/web@${pushed['web:latest']!.digest}`),
      ref('ghcr.io/acme/web@sha256:' + '0'.repeat(64)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['OK', 'TAG_MISSING']);
    expect(results[1]?.hint).toMatch(/no manifest sha256:0+/);
  });

  it('reports UNREACHABLE when the registry endpoint does not answer', async () => {
    const r = await one(
      createImageChecker({ endpoints: { 'ghcr.io': 'http://127.0.0.1:9' }, github: { enabled: false }, retry: { attempts: 2, baseDelayMs: 1 } }),
      'ghcr.io/acme/web:v1',
    );
    expect(r.status).toBe('UNREACHABLE');
    expect(r.evidence.anonymous?.stage).toBe('network');
    expect(r.evidence.anonymous?.error).toMatch(/ECONNREFUSED/);
  });
});

describe('probe plan and efficiency', () => {
  it('sends one token request for all repositories and one HEAD per image for present images', async () => {
    const checker = credentialedChecker();
    const results = await checker.check([ref('ghcr.io/acme/web:v1'), ref('ghcr.io/acme/web:latest'), ref('ghcr.io/acme/web:3f2a1bc'), ref('ghcr.io/acme/both:v1')]);
    expect(results.every((r) => r.status === 'OK')).toBe(true);
    const stats = checker.lastStats();
    // Both repositories' scopes in one token request.
    expect(stats?.tokenRequests).toBe(1);
    // one /v2/ ping for the mapped endpoint, 4 HEADs, 1 GET of the index for its platforms
    expect(stats?.registryRequests).toBe(6);
    // One page of the owner's package listing gives both packages' visibility.
    expect(stats?.packagesApiRequests).toBe(1);
  });

  it('deduplicates images by canonical reference and reports progress', async () => {
    const progress: number[] = [];
    const results = await anonymousChecker().check([ref('ghcr.io/acme/web:v1'), ref('ghcr.io/acme/web:v1')], (done) => progress.push(done));
    expect(results).toHaveLength(1);
    expect(progress).toEqual([1]);
  });

  it('reports every HTTP exchange to onExchange without secrets', async () => {
    const events: ExchangeEvent[] = [];
    await credentialedChecker({ onExchange: (e) => events.push(e) }).check([ref('ghcr.io/acme/web:dev-latest')]);
    const stages = new Set(events.map((e) => e.stage));
    expect([...stages].sort()).toEqual(['manifest', 'packages-api', 'ping', 'tags', 'token']);
    expect(events.find((e) => e.stage === 'token')).toMatchObject({ method: 'GET', status: 200 });
    expect(events.find((e) => e.stage === 'manifest' && e.method === 'GET')).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
    const text = JSON.stringify(events);
    expect(text).not.toContain(GOOD);
    expect(text).not.toContain(Buffer.from(`ci-bot:${GOOD}`).toString('base64'));
  });
});
