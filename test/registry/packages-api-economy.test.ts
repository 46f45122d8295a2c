/**
 * Packages API economy and the per-host circuit breaker, with the real Octokit over loopback HTTP (the fake
 * Packages API server) and the real registry. An unresolvable API host is simulated by a DNS lookup stub in the
 * connection layer (undici's `connect.lookup`): the name is never sent to a resolver, no packet leaves the machine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker } from '../../lambdas/engine/diagnose/index.js';
import { classifyApiFailure } from '../../lambdas/engine/registry/api-breaker.js';
import { RegistryCredentials, Secret, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import { GitHubPackagesClient, type ListingCache } from '../../lambdas/engine/registry/github-packages.js';
import type { ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import { startGitHubPackagesServer, type FakeOwner, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { unresolvableFetch } from '../support/unresolvable-fetch.js';
import { ref } from '../support/image-ref.js';

const TOKEN = 'ghp_classic_token_with_read_packages';
const UNRESOLVABLE = 'https://api.github.invalid';

const hundredPackages: FakeOwner = {
  login: 'big',
  type: 'Organization',
  packages: Array.from({ length: 100 }, (_, i) => ({ name: `svc-${String(i).padStart(3, '0')}`, visibility: i % 10 === 0 ? ('private' as const) : ('public' as const), versions: [] })),
};
const userOwner: FakeOwner = { login: 'octo', type: 'User', packages: [{ name: 'tools/cli', visibility: 'internal', versions: [] }] };

let api: GitHubPackagesServer;

beforeAll(async () => {
  api = await startGitHubPackagesServer({ owners: [hundredPackages, userOwner], tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }] });
});

afterAll(async () => api?.stop());

describe('visibility from the owner listing', () => {
  it('gives the visibility of 100 packages from one listing page', async () => {
    const client = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: api.url, listingCache: new Map() });
    const before = api.requests.length;
    const looked = await Promise.all(hundredPackages.packages.map((p) => client.listedPackage('big', p.name)));
    expect(looked.every((p) => p?.exists === true && p.ownerKind === 'org' && p.http === 200)).toBe(true);
    expect(looked.filter((p) => p?.visibility === 'private')).toHaveLength(10);
    expect(looked.filter((p) => p?.visibility === 'public')).toHaveLength(90);
    expect(client.requests).toBe(1);
    expect(api.requests.slice(before).map((r) => r.path)).toEqual(['/orgs/big/packages?package_type=container&per_page=100&page=1']);
  });

  it('falls back to the user listing for a user owner and says nothing about packages it does not show', async () => {
    const client = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: api.url, listingCache: new Map() });
    expect(await client.listedPackage('octo', 'tools/cli')).toEqual({ http: 200, ownerKind: 'user', exists: true, visibility: 'internal' });
    expect(await client.listedPackage('octo', 'not-there')).toBeUndefined();
    expect(client.requests).toBe(2); // org listing 404, user listing 200; the second lookup is served from memory
  });

  it('revalidates a listing page seen before with its ETag (304) and keeps its content', async () => {
    const cache: ListingCache = new Map();
    const first = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: api.url, listingCache: cache });
    await first.listedPackage('big', 'svc-001');
    const events: ExchangeEvent[] = [];
    const second = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: api.url, listingCache: cache, onExchange: (e) => events.push(e) });
    expect(await second.listedPackage('big', 'svc-010')).toMatchObject({ exists: true, visibility: 'private' });
    expect(events.map((e) => e.status)).toEqual([304]);
    expect(JSON.stringify([...cache.keys()])).not.toContain(TOKEN);
  });
});

describe('the API host circuit breaker', () => {
  it('costs one failed lookup per run when the API host does not resolve, however many packages are asked', async () => {
    const stub = unresolvableFetch();
    const notes: string[] = [];
    const client = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: UNRESOLVABLE, fetch: stub.fetch, onUnavailable: (n) => notes.push(n) });
    try {
      const owners = Array.from({ length: 12 }, (_, i) => `owner-${i}`);
      const [listed, packages] = await Promise.all([
        Promise.all(owners.map((o) => client.listedPackage(o, 'app'))),
        Promise.all(owners.map((o) => client.getPackage(o, 'app'))),
      ]);
      expect(listed.every((p) => p === undefined)).toBe(true);
      expect(packages.every((p) => p.exists === undefined && p.http === 0)).toBe(true);
      expect(stub.lookups).toEqual(['api.github.invalid']);
      expect(client.requests).toBe(1);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/api\.github\.invalid given up for this run: its name does not resolve \(ENOTFOUND\)/);
      expect(client.unavailable).toMatch(/does not resolve/);
    } finally {
      await stub.close();
    }
  });

  it('stops after one refused connection to a loopback port that is closed', async () => {
    // A port that was just free: nothing listens there (port 1 would be refused by fetch itself as a "bad port").
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const client = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: `http://127.0.0.1:${port}` });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.getPackage('acme', `app-${i}`)));
    expect(results.every((p) => p.exists === undefined)).toBe(true);
    expect(client.requests).toBe(1);
    expect(client.unavailable).toMatch(/refused the connection \(ECONNREFUSED\)/);
  });

  it('stops calling before the rate limit runs out (x-ratelimit-remaining at the reserve)', async () => {
    const limited = await startGitHubPackagesServer({ owners: [userOwner], tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }], rateLimit: { limit: 5 } });
    try {
      const client = new GitHubPackagesClient({ token: new Secret(TOKEN), baseUrl: limited.url, rateLimitReserve: 3 });
      for (let i = 0; i < 6; i++) await client.getPackage('octo', `pkg-${i}`);
      // Each lookup costs two requests (org 404, user 404): remaining 4, 3 → stop at the reserve.
      expect(limited.requests).toHaveLength(2);
      expect(client.unavailable).toMatch(/rate limit is nearly used up \(3 requests left until \d{4}-/);
    } finally {
      await limited.stop();
    }
  });

  it('keeps calling a host that answers 4xx (an answer is not a host failure)', () => {
    const answered = Object.assign(new Error('Not Found'), { status: 404, response: { status: 404 } });
    const serverError = Object.assign(new Error('Bad Gateway'), { status: 502, response: { status: 502 } });
    const dns = Object.assign(new Error('fetch failed'), { status: 500, cause: Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' }) });
    expect(classifyApiFailure(answered)).toBeUndefined();
    expect(classifyApiFailure(serverError)).toBe('server-error');
    expect(classifyApiFailure(dns)).toBe('dns');
  });
});

describe('an audit with an unresolvable API host', () => {
  let registry: LocalRegistry;

  beforeAll(async () => {
    registry = await startLocalRegistry({ tokens: [TOKEN] });
    await registry.pushImage('one/web', 'v1');
    await registry.pushImage('two/api', 'v1');
    await registry.pushImage('three/worker', 'v1');
  }, 60_000);

  afterAll(async () => registry?.stop());

  it('gives verdicts from registry evidence, tries the API host once and notes it once', async () => {
    const stub = unresolvableFetch();
    try {
      const checker = createImageChecker({
        endpoints: { 'ghcr.io': registry.url },
        credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'ci', secret: TOKEN })] }),
        github: { token: new Secret(TOKEN), baseUrl: UNRESOLVABLE, fetch: stub.fetch },
      });
      const results = await checker.check([ref('ghcr.io/one/web:v1'), ref('ghcr.io/two/api:v1'), ref('ghcr.io/two/api:v9'), ref('ghcr.io/three/worker:v1'), ref('ghcr.io/four/gone:v1')]);
      expect(Object.fromEntries(results.map((r) => [r.image, r.status]))).toEqual({
        'ghcr.io/one/web:v1': 'OK',
        'ghcr.io/two/api:v1': 'OK',
        'ghcr.io/two/api:v9': 'TAG_MISSING',
        'ghcr.io/three/worker:v1': 'OK',
        'ghcr.io/four/gone:v1': 'REPO_MISSING',
      });
      expect(stub.lookups).toEqual(['api.github.invalid']);
      const stats = checker.lastStats();
      expect(stats?.packagesApiRequests).toBe(1);
      expect(stats?.notes).toEqual([expect.stringMatching(/^GitHub Packages API at api\.github\.invalid given up for this run: its name does not resolve/)]);
    } finally {
      await stub.close();
    }
  });
});
