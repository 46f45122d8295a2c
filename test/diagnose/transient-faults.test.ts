import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createImageChecker } from '../../lambdas/engine/diagnose/index.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import { RegistryCredentials, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import type { ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import type { ImageReference, Verdict } from '../../lambdas/engine/model.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';

const TOKEN = 'ghp_fault_test_token';
const NEVER: Verdict[] = ['TAG_MISSING', 'REPO_MISSING', 'PRIVATE'];

function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(text);
  return p.ref;
}

let registry: LocalRegistry;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startLocalRegistry({ tokens: [TOKEN] });
  await registry.pushImage('acme/web', 'v1');
  await registry.pushImage('acme/web', 'v2');
  await registry.pushIndex('acme/multi', 'v1', ['linux/amd64', 'linux/arm64']);
  proxy = await startFaultProxy(registry.url);
}, 60_000);

afterEach(() => proxy.clear());

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

function checker(withCredential: boolean, onExchange?: (e: ExchangeEvent) => void) {
  return createImageChecker({
    endpoints: { 'ghcr.io': proxy.url },
    github: { enabled: false },
    retry: { attempts: 3, baseDelayMs: 2, maxDelayMs: 10, maxRetryAfterMs: 2_000 },
    requestTimeoutMs: 300,
    ...(withCredential ? { credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'u', secret: TOKEN })] }) } : {}),
    ...(onExchange ? { onExchange } : {}),
  });
}

const manifestRequests = (r: { path: string }) => r.path.includes('/manifests/');
const PERSISTENT: Array<[string, Fault]> = [
  ['503', { kind: 'status', status: 503 }],
  ['502', { kind: 'status', status: 502 }],
  ['connection reset', { kind: 'reset' }],
  ['429 with Retry-After header', { kind: 'rate-limit', header: '0' }],
  ['429 with retry-after in the message text', { kind: 'rate-limit', messageText: '1ms' }],
  ['delay beyond the request timeout', { kind: 'delay', ms: 1_000 }],
];

describe('transient faults never look like missing or private images', () => {
  for (const [name, fault] of PERSISTENT) {
    for (const withCredential of [false, true]) {
      it(`persistent ${name} on manifests (${withCredential ? 'credential' : 'anonymous'}) gives RATE_LIMITED or UNREACHABLE`, async () => {
        proxy.inject(fault, { times: Number.POSITIVE_INFINITY, match: manifestRequests });
        const results = await checker(withCredential).check([ref('ghcr.io/acme/web:v1'), ref('ghcr.io/acme/multi:v1'), ref('ghcr.io/acme/web:nope')]);
        for (const r of results) {
          expect(NEVER).not.toContain(r.status);
          expect(['RATE_LIMITED', 'UNREACHABLE']).toContain(r.status);
        }
        const expected = fault.kind === 'rate-limit' ? 'RATE_LIMITED' : 'UNREACHABLE';
        expect(results[0]?.status).toBe(expected);
      });
    }
  }

  it('work cut off by the overall deadline is UNREACHABLE, not missing', async () => {
    proxy.inject({ kind: 'delay', ms: 2_000 }, { times: Number.POSITIVE_INFINITY, match: manifestRequests });
    const results = await createImageChecker({
      endpoints: { 'ghcr.io': proxy.url },
      github: { enabled: false },
      deadlineMs: 300,
      requestTimeoutMs: 5_000,
    }).check([ref('ghcr.io/acme/web:v1'), ref('ghcr.io/acme/web:nope')]);
    expect(results.map((r) => r.status)).toEqual(['UNREACHABLE', 'UNREACHABLE']);
  });

  it('a persistent fault on the /v2/ ping gives UNREACHABLE', async () => {
    proxy.inject({ kind: 'status', status: 500 }, { times: Number.POSITIVE_INFINITY, match: (r) => r.path === '/v2/' });
    const [r] = await checker(false).check([ref('ghcr.io/acme/web:v1')]);
    expect(r?.status).toBe('UNREACHABLE');
  });

  it('a fault on tags/list after a 404 does not turn into TAG_MISSING or REPO_MISSING', async () => {
    proxy.inject({ kind: 'status', status: 503 }, { times: Number.POSITIVE_INFINITY, match: (r) => r.path.includes('/tags/list') });
    const [r] = await checker(true).check([ref('ghcr.io/acme/web:nope')]);
    expect(r?.status).toBe('UNREACHABLE');
    expect(r?.hint).toMatch(/could not be checked/);
  });

  it('a fault on the index GET (platform check) does not give PLATFORM_MISSING or OK', async () => {
    proxy.inject({ kind: 'rate-limit', header: '0' }, { times: Number.POSITIVE_INFINITY, match: (r) => r.method === 'GET' && r.path.includes('/manifests/sha256:') });
    const [r] = await checker(false).check([ref('ghcr.io/acme/multi:v1')]);
    expect(r?.status).toBe('RATE_LIMITED');
  });

  it('a Retry-After longer than allowed gives RATE_LIMITED at once, with the wait in the hint', async () => {
    proxy.inject({ kind: 'rate-limit', header: '90' }, { times: Number.POSITIVE_INFINITY, match: manifestRequests });
    const [r] = await checker(false).check([ref('ghcr.io/acme/web:v1')]);
    expect(r?.status).toBe('RATE_LIMITED');
    // the /v2/ ping, the token and one HEAD: no retry is attempted
    expect(r?.evidence.anonymous?.requests).toBe(3);
    expect(r?.hint).toMatch(/retry after 90 s/);
  });

  const ONCE: Array<[string, Fault]> = [
    ['503', { kind: 'status', status: 503 }],
    ['connection reset', { kind: 'reset' }],
    ['429 with retry-after: 30ms in the message text', { kind: 'rate-limit', messageText: '30ms' }],
    ['429 with Retry-After: 0 header', { kind: 'rate-limit', header: '0' }],
  ];
  for (const [name, fault] of ONCE) {
    it(`recovers from a single ${name} and reports OK`, async () => {
      proxy.inject(fault, { times: 1, match: manifestRequests });
      const events: ExchangeEvent[] = [];
      const [r] = await checker(true, (e) => events.push(e)).check([ref('ghcr.io/acme/web:v2')]);
      expect(r?.status).toBe('OK');
      expect(events.some((e) => e.note?.startsWith('retry 1/2'))).toBe(true);
    });
  }

  it('honours the retry-after from the GHCR message text as the wait (GET responses carry the body)', async () => {
    // The index GET for the platform check has a body; a HEAD 429 has none and falls back to backoff.
    proxy.inject({ kind: 'rate-limit', messageText: '30ms' }, { times: 1, match: (r) => r.method === 'GET' && r.path.includes('/manifests/sha256:') });
    const events: ExchangeEvent[] = [];
    const [r] = await checker(false, (e) => events.push(e)).check([ref('ghcr.io/acme/multi:v1')]);
    expect(r?.status).toBe('OK');
    expect(events.find((e) => e.note?.startsWith('retry'))?.note).toBe('retry 1/2 in 30 ms');
  });
});
