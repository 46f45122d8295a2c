/**
 * Multi-scope token requests (issue 11): one token request for up to 25 repositories of a registry (repeated
 * `scope=`), and the fallback to per-repository tokens whenever a registry does not honour that: a batch refused as
 * a whole, a batch token that does not cover a repository (401 on use), a token server that reads one scope only.
 * Against the real docker-registry, which checks every request's token against its `access` claims, and the
 * GHCR-like token server the other registry tests use. The verdicts must be those of per-repository tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker, type RegistryCheckOptions } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import { SCOPE_BATCH } from '../../lambdas/engine/registry/client.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { ref } from '../support/image-ref.js';

const GOOD = 'ghp_multi_scope_token';
const LIMITED = 'ghp_sees_some_repositories';
/** 30 public repositories: one batch of 25 and one of 5. */
const PUBLIC = Array.from({ length: 30 }, (_, i) => `acme/svc-${String(i).padStart(2, '0')}`);

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry({
    privateRepositories: ['acme/hidden'],
    tokens: [GOOD, { password: LIMITED, repositories: PUBLIC.slice(0, 20) }],
  });
  for (const repo of PUBLIC) await registry.pushImage(repo, 'v1');
  await registry.pushImage(PUBLIC[0] as string, 'v2');
  await registry.pushImage('acme/hidden', 'v1');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
});

function checker(extra: Partial<RegistryCheckOptions> = {}) {
  return createImageChecker({ endpoints: { 'ghcr.io': registry.url }, github: { enabled: false }, ...extra });
}

function credentials(token: string): RegistryCredentials {
  return new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'ci-bot', secret: token })] });
}

/** Statuses by image, and the token requests the run made (scopes per request). */
async function run(images: string[], options: Partial<RegistryCheckOptions> = {}) {
  const before = registry.tokenRequests.length;
  const c = checker(options);
  const results = await c.check(images.map(ref));
  const tokenRequests = registry.tokenRequests.slice(before);
  return {
    statuses: Object.fromEntries(results.map((r) => [r.image, r.status])),
    results,
    tokenRequests,
    stats: c.lastStats(),
  };
}

const images = (repos: readonly string[], tag = 'v1') => repos.map((r) => `ghcr.io/${r}:${tag}`);

describe('multi-scope token requests', () => {
  it('asks for up to 25 repositories in one token request, and the registry accepts the token for each', async () => {
    const { statuses, tokenRequests, stats } = await run([...images(PUBLIC), `ghcr.io/${PUBLIC[0]}:v2`], { credentials: credentials(GOOD) });
    expect(Object.values(statuses).every((s) => s === 'OK')).toBe(true);
    expect(tokenRequests.every((r) => r.outcome === 'granted')).toBe(true);
    // With the credential; then anonymously for visibility (no Packages API here), batched alike.
    const credentialed = tokenRequests.filter((r) => r.authorization?.startsWith('Basic '));
    const anonymous = tokenRequests.filter((r) => !r.authorization);
    expect(credentialed.map((r) => r.scopes.length)).toEqual([SCOPE_BATCH, PUBLIC.length - SCOPE_BATCH]);
    expect(anonymous.map((r) => r.scopes.length)).toEqual([SCOPE_BATCH, PUBLIC.length - SCOPE_BATCH]);
    expect(credentialed[0]?.scopes).toContain(`repository:${PUBLIC[0]}:pull`);
    // Visibility unknown (no Packages API): anonymous HEADs first, one per image (plus the mapped endpoint's /v2/
    // ping); the credential's batch tokens vouch for it, so no credentialed HEAD. No request was refused and repeated.
    expect(stats).toMatchObject({ tokenRequests: 4, registryRequests: 1 + (PUBLIC.length + 1) });
  });

  it('falls back to per-repository tokens when the token server refuses the batch as a whole, with the same verdicts', async () => {
    // Anonymous: the hidden repository makes the GHCR-like token server deny the whole first batch.
    const set = [...images(PUBLIC.slice(0, 10)), 'ghcr.io/acme/hidden:v1', 'ghcr.io/acme/never-pushed:v1'];
    const batched = await run(set);
    const single = await run(set, { registries: { 'ghcr.io': { multiScopeTokens: false } } });
    expect(batched.statuses).toEqual(single.statuses);
    expect(batched.statuses['ghcr.io/acme/hidden:v1']).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(batched.statuses['ghcr.io/acme/never-pushed:v1']).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(batched.statuses[`ghcr.io/${PUBLIC[0]}:v1`]).toBe('OK');
    const hidden = batched.results.find((r) => r.image === 'ghcr.io/acme/hidden:v1');
    expect(hidden?.evidence.anonymous).toMatchObject({ http: 403, code: 'DENIED', stage: 'token' });
    // The refused batch of 12; then sub-batches of 4 (about its square root): the two that hold only public
    // repositories are granted, the one holding acme/hidden and acme/never-pushed is refused and its four
    // repositories ask one at a time (each refusal is that repository's own evidence): 1 + 3 + 4, not 1 + 12.
    expect(batched.tokenRequests[0]).toMatchObject({ outcome: 'DENIED' });
    expect(batched.tokenRequests[0]?.scopes).toHaveLength(12);
    const subBatches = batched.tokenRequests.filter((r) => r.scopes.length === 4);
    expect(subBatches.map((r) => r.outcome).sort()).toEqual(['DENIED', 'granted', 'granted']);
    const own = batched.tokenRequests.filter((r) => r.scopes.length === 1);
    expect(own.map((r) => r.scopes[0]).sort()).toEqual(
      [...PUBLIC.slice(8, 10).map((r) => `repository:${r}:pull`), 'repository:acme/hidden:pull', 'repository:acme/never-pushed:pull'].sort(),
    );
    expect(own.filter((r) => r.outcome === 'DENIED')).toHaveLength(2);
    expect(batched.tokenRequests).toHaveLength(1 + 3 + 4);
  });

  it('falls back when a batch token does not cover a repository (401 on use) and remembers it for the run', async () => {
    // A token server that leaves the hidden repository out of an anonymous token instead of refusing (reported
    // for GHCR too, and what the spec's intersection rule gives): the registry answers 401 for it.
    registry.setAnonymousHidden('empty-token');
    try {
      const set = [...images(PUBLIC.slice(0, 5)), 'ghcr.io/acme/hidden:v1', 'ghcr.io/acme/hidden:v2'];
      const batched = await run(set);
      const single = await run(set, { registries: { 'ghcr.io': { multiScopeTokens: false } } });
      expect(batched.statuses).toEqual(single.statuses);
      expect(batched.statuses['ghcr.io/acme/hidden:v1']).toBe('NOT_VISIBLE_ANONYMOUSLY');
      expect(batched.statuses[`ghcr.io/${PUBLIC[1]}:v1`]).toBe('OK');
      const hidden = batched.results.find((r) => r.image === 'ghcr.io/acme/hidden:v1');
      expect(hidden?.evidence.anonymous).toMatchObject({ http: 401, stage: 'manifest' });
      // One batch for the six repositories; then the hidden repository's own token, asked once although two of
      // its tags were refused under the batch token (remembered: its later requests use its own token).
      expect(batched.tokenRequests[0]?.scopes).toHaveLength(6);
      const own = batched.tokenRequests.slice(1);
      expect(own.map((r) => r.scopes)).toEqual([['repository:acme/hidden:pull']]);
    } finally {
      registry.setAnonymousHidden('deny');
    }
  });

  it('falls back for a credential that may read only some of the repositories (batch refused)', async () => {
    const set = images(PUBLIC.slice(15, 25));
    const batched = await run(set, { credentials: credentials(LIMITED) });
    const single = await run(set, { credentials: credentials(LIMITED), registries: { 'ghcr.io': { multiScopeTokens: false } } });
    expect(batched.statuses).toEqual(single.statuses);
    expect(batched.statuses[`ghcr.io/${PUBLIC[15]}:v1`]).toBe('OK');
    // PUBLIC[20..24] are public but this credential may not read them: the credential is refused, the image is public.
    expect(batched.statuses[`ghcr.io/${PUBLIC[22]}:v1`]).toBe('AUTH_FAILED');
    const credentialed = batched.tokenRequests.filter((r) => r.authorization?.startsWith('Basic '));
    expect(credentialed[0]).toMatchObject({ outcome: 'DENIED' });
    expect(credentialed[0]?.scopes).toHaveLength(10);
    // Then sub-batches of 4, 4 and 2: PUBLIC[15..18] granted (no credentialed HEAD for them); the two holding
    // PUBLIC[20..24] refused, and their repositories ask one at a time: granted for PUBLIC[19], denied for the
    // five this credential may not read (their credentialed probe is that refusal).
    const rest = credentialed.slice(1);
    const subBatches = rest.filter((r) => r.scopes.length > 1).map((r) => `${r.scopes.length} ${r.outcome}`);
    expect(subBatches.sort()).toEqual(['2 DENIED', '4 DENIED', '4 granted']);
    const own = rest.filter((r) => r.scopes.length === 1);
    expect(own.filter((r) => r.outcome === 'granted').map((r) => r.scopes[0])).toEqual([`repository:${PUBLIC[19]}:pull`]);
    expect(own.filter((r) => r.outcome === 'DENIED')).toHaveLength(5);
  });

  it('stops batching for a token server that honours only the first scope, with the same verdicts', async () => {
    registry.setScopesHonoured('first');
    try {
      // Two repositories at a time, so that the give-up is visible: the first batch's token covers its first
      // repository only; the others are refused on use and asked again with their own token, until 8 refusals.
      const set = images(PUBLIC);
      // No anonymous visibility probes here (visibility of ghcr.io not asked), to count the credentialed requests.
      const options: Partial<RegistryCheckOptions> = { credentials: credentials(GOOD), concurrencyPerRegistry: 1, visibilityCheckHosts: [] };
      const batched = await run(set, options);
      expect(Object.values(batched.statuses).every((s) => s === 'OK')).toBe(true);
      expect(batched.tokenRequests.filter((r) => r.scopes.length > 1)).toHaveLength(1);
      const refusedUnderBatch = (batched.stats?.registryRequests ?? 0) - 1 - PUBLIC.length;
      expect(refusedUnderBatch).toBeGreaterThanOrEqual(8);
      expect(refusedUnderBatch).toBeLessThanOrEqual(9);
      // One token per repository after the give-up, plus the one batch.
      expect(batched.tokenRequests).toHaveLength(PUBLIC.length);
    } finally {
      registry.setScopesHonoured('all');
    }
  });
});
