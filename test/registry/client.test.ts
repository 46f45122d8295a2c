import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../lambdas/engine/registry/client.js';
import { makeCredential } from '../../lambdas/engine/registry/credentials.js';
import { parseEndpointMap, resolveEndpoint } from '../../lambdas/engine/registry/endpoints.js';
import { RegistryError } from '../../lambdas/engine/registry/errors.js';
import { TokenService } from '../../lambdas/engine/registry/auth/bearer.js';
import { MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES } from '../../lambdas/engine/registry/manifests.js';
import { parseRetryAfter } from '../../lambdas/engine/registry/retry.js';
import { Transport, type ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

const TOKEN = 'ghp_client_test';
let registry: LocalRegistry;
let proxy: FaultProxy;
let indexDigest: string;

beforeAll(async () => {
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  indexDigest = (await registry.pushIndex('team/app', 'v1', ['linux/amd64', 'linux/arm64'])).digest;
  for (const t of ['a1', 'a2', 'b1', 'b2', 'c1']) await registry.pushImage('team/paged', t);
  proxy = await startFaultProxy(registry.url);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

function client(opts: { host?: string; endpoint?: string; credential?: boolean; tagPageSize?: number; events?: ExchangeEvent[] } = {}) {
  const transport = new Transport({ ...(opts.events ? { onExchange: (e: ExchangeEvent) => opts.events?.push(e) } : {}) });
  const host = opts.host ?? 'ghcr.io';
  const c = new RegistryClient({
    endpoint: resolveEndpoint(host, parseEndpointMap({ [host]: opts.endpoint ?? registry.url })),
    ...(opts.credential ? { credential: makeCredential({ host, username: 'bot', secret: TOKEN }) } : {}),
    transport,
    tokens: new TokenService(transport),
    ...(opts.tagPageSize ? { tagPageSize: opts.tagPageSize } : {}),
    headOnly: host === 'docker.io',
  });
  return { c, transport };
}

describe('manifest Accept header', () => {
  it('lists the OCI index, OCI manifest, Docker manifest list and Docker v2 types', () => {
    expect(MANIFEST_MEDIA_TYPES).toEqual([
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]);
    expect(MANIFEST_ACCEPT.split(', ')).toHaveLength(4);
  });

  it('finds an index that a request without the index type would see as missing (regression)', async () => {
    // What a naive client sees: the registry hides the index behind a 404 MANIFEST_UNKNOWN.
    const tokenRes = await request(`${registry.tokenUrl}?service=ghcr-test&scope=repository:team/app:pull`);
    const { token } = (await tokenRes.body.json()) as { token: string };
    const naive = await request(`${registry.url}/v2/team/app/manifests/v1`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    const body = await naive.body.text();
    expect(naive.statusCode).toBe(404);
    expect(body).toMatch(/OCI index found, but accept header does not support OCI indexes/i);

    const { c, transport } = client();
    const found = await c.headManifest('team/app', 'v1', 'anonymous');
    await transport.close();
    expect(found).toEqual({ digest: indexDigest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  });
});

describe('tags/list', () => {
  it('follows Link pagination to the last page', async () => {
    // docker-registry 2.8 does not paginate tags/list; the proxy slices the real list as the spec describes.
    proxy.paginateTags(2);
    const events: ExchangeEvent[] = [];
    const { c, transport } = client({ endpoint: proxy.url, tagPageSize: 2, events });
    try {
      const tags = await c.listTags('team/paged', 'anonymous');
      expect(tags).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    } finally {
      proxy.paginateTags(undefined);
      await transport.close();
    }
    const pages = events.filter((e) => e.stage === 'tags');
    expect(pages).toHaveLength(3);
    expect(pages[1]?.url).toContain('last=a2');
    expect(pages[2]?.url).toContain('last=b2');
  });

  it('follows Link even when the registry pages without being asked to', async () => {
    proxy.paginateTags(2);
    const { c, transport } = client({ host: 'registry.example.com', endpoint: proxy.url });
    try {
      expect(await c.listTags('team/paged', 'anonymous')).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    } finally {
      proxy.paginateTags(undefined);
      await transport.close();
    }
  });

  it('asks ghcr.io for n=10000', async () => {
    const events: ExchangeEvent[] = [];
    const { c, transport } = client({ events });
    await c.listTags('team/paged', 'anonymous');
    await transport.close();
    expect(events.find((e) => e.stage === 'tags')?.url).toContain('n=10000');
  });

  it('reports NAME_UNKNOWN for a repository that does not exist', async () => {
    const { c, transport } = client({ credential: true });
    const err = await c.listTags('team/none', 'authenticated').catch((e: unknown) => e);
    await transport.close();
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 404, code: 'NAME_UNKNOWN', stage: 'tags', kind: 'http' });
  });
});

describe('authentication flow', () => {
  it('sends the credential only to the token endpoint as Basic and bearer tokens to the registry', async () => {
    const before = registry.tokenRequests.length;
    const { c, transport } = client({ endpoint: proxy.url, credential: true });
    await c.headManifest('team/app', 'v1', 'authenticated');
    await c.headManifest('team/app', 'nope', 'authenticated').catch(() => undefined);
    await transport.close();
    const tokenReqs = registry.tokenRequests.slice(before);
    expect(tokenReqs).toHaveLength(1);
    expect(tokenReqs[0]?.authorization).toBe(`Basic ${Buffer.from(`bot:${TOKEN}`).toString('base64')}`);
    expect(tokenReqs[0]?.scopes).toEqual(['repository:team/app:pull']);
    const registrySchemes = proxy.requests.map((r) => r.authScheme);
    expect(registrySchemes).not.toContain('Basic');
    expect(proxy.requests.find((r) => r.path === '/v2/')?.authScheme).toBeUndefined();
  });

  it('caches tokens per repository and credential identity, and builds the scope itself', async () => {
    const before = registry.tokenRequests.length;
    const { c, transport } = client({ credential: true });
    await Promise.all([
      c.headManifest('team/app', 'v1', 'authenticated'),
      c.headManifest('team/app', 'v1', 'authenticated'),
      c.headManifest('team/paged', 'a1', 'authenticated'),
      c.headManifest('team/paged', 'a1', 'anonymous'),
    ]);
    await transport.close();
    const scopes = registry.tokenRequests.slice(before).map((r) => `${r.scopes.join(' ')} ${r.authorization ? 'basic' : 'anonymous'}`);
    expect(scopes.sort()).toEqual(['repository:team/app:pull basic', 'repository:team/paged:pull anonymous', 'repository:team/paged:pull basic']);
  });
});

describe('Docker Hub', () => {
  it('maps docker.io to registry-1.docker.io', () => {
    expect(resolveEndpoint('docker.io', new Map()).baseUrl).toBe('https://registry-1.docker.io');
    expect(resolveEndpoint('index.docker.io', new Map()).host).toBe('docker.io');
  });

  it('sends HEAD only: no GET after a 404, no index GET', async () => {
    const events: ExchangeEvent[] = [];
    const checker = createImageChecker({ endpoints: { 'docker.io': registry.url }, github: { enabled: false }, onExchange: (e) => events.push(e) });
    const refs = ['docker.io/team/app:v1', 'docker.io/team/app:missing'].map((t) => {
      const p = parseImageReference(t);
      if (!p.ok) throw new Error(t);
      return p.ref;
    });
    const results = await checker.check(refs);
    expect(results.map((r) => r.status)).toEqual(['OK', 'TAG_MISSING']);
    expect(events.filter((e) => e.stage === 'manifest').map((e) => e.method)).toEqual(['HEAD', 'HEAD']);
  });
});

describe('Retry-After parsing', () => {
  it('reads the header in seconds or as a date, and GHCR message text with Go duration units', () => {
    expect(parseRetryAfter({ 'retry-after': '3' }, '')).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': new Date(10_000).toUTCString() }, '', 4_000)).toBe(6000);
    const ghcr = (m: string) => JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: m }] });
    expect(parseRetryAfter({}, ghcr('retry-after: 664.276µs, allowed: 44000/minute'))).toBe(1);
    expect(parseRetryAfter({}, ghcr('retry-after: 250ms, allowed: 44000/minute'))).toBe(250);
    expect(parseRetryAfter({}, ghcr('retry-after: 1.5s, allowed: 44000/minute'))).toBe(1500);
    expect(parseRetryAfter({}, ghcr('retry-after: 2, allowed: 44000/minute'))).toBe(2000);
    expect(parseRetryAfter({}, ghcr('too many requests'))).toBeUndefined();
  });
});

describe('concurrency', () => {
  const refs = ['a1', 'a2', 'b1', 'b2', 'c1'].flatMap((t) => [t, `${t}-x`]).map((t) => {
    const p = parseImageReference(`ghcr.io/team/paged:${t}`);
    if (!p.ok) throw new Error(t);
    return p.ref;
  });
  const peakWith = async (concurrencyPerRegistry: number) => {
    proxy.setLatency(20);
    proxy.resetPeak();
    try {
      const checker = createImageChecker({ endpoints: { 'ghcr.io': proxy.url }, github: { enabled: false }, concurrencyPerRegistry });
      const results = await checker.check(refs);
      expect(results.filter((r) => r.status === 'OK')).toHaveLength(5);
      return proxy.peakInFlight();
    } finally {
      proxy.setLatency(0);
    }
  };

  it('keeps at most concurrencyPerRegistry requests in flight against one registry', async () => {
    expect(await peakWith(2)).toBeLessThanOrEqual(2);
    // and the limit is what holds it down: a wider limit is used
    expect(await peakWith(8)).toBeGreaterThan(2);
  });
});
