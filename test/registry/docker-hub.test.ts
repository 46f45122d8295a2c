/**
 * Docker Hub rules against the real docker-registry (behind the token server) with `docker.io` mapped to it through
 * the loopback fault proxy, which adds Docker Hub's quota headers the way Docker Hub sends them: `ratelimit-limit`
 * and `ratelimit-remaining` (`N;w=21600`) on manifest answers, the remaining count going down on manifest GETs only
 * (HEAD requests do not count as pulls).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import type { ImageReference } from '../../lambdas/engine/model.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';

let registry: LocalRegistry;
let proxy: FaultProxy;
let remaining = 100;
let manifestGets = 0;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('library/nginx', '1.27');
  await registry.pushIndex('bitnami/redis', '7.4', ['linux/amd64', 'linux/arm64']);
  proxy = await startFaultProxy(registry.url);
  proxy.setResponseHeaders((r) => {
    if (!r.path.includes('/manifests/')) return undefined;
    if (r.method === 'GET') {
      manifestGets++;
      remaining = Math.max(0, remaining - 1);
    }
    return { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${remaining};w=21600` };
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

beforeEach(() => {
  remaining = 100;
  manifestGets = 0;
  proxy.requests.length = 0;
});

function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(text);
  return p.ref;
}

function checker(dockerHub: { allowGet?: boolean; quotaReserve?: number } = {}) {
  return createImageChecker({ endpoints: { 'docker.io': proxy.url }, github: { enabled: false }, platforms: ['linux/arm64'], dockerHub: { ...dockerHub, slowdownMs: 1 } });
}

describe('Docker Hub', () => {
  it('normalises short names to docker.io/library and checks each image once, with HEAD only by default', async () => {
    const refs = ['nginx:1.27', 'docker.io/library/nginx:1.27', 'index.docker.io/library/nginx:1.27', 'nginx:0.0.0-nope'].map(ref);
    expect(new Set(refs.map((r) => r.canonical))).toEqual(new Set(['docker.io/library/nginx:1.27', 'docker.io/library/nginx:0.0.0-nope']));
    const results = await checker().check(refs);
    expect(results.map((r) => [r.image, r.status])).toEqual([
      ['docker.io/library/nginx:1.27', 'OK'],
      ['docker.io/library/nginx:0.0.0-nope', 'TAG_MISSING'],
    ]);
    expect(manifestGets).toBe(0);
    expect(proxy.requests.filter((r) => r.path.includes('/manifests/')).every((r) => r.method === 'HEAD')).toBe(true);
    expect(results[0]?.evidence.rateLimit).toEqual({ limit: 100, remaining: 100, windowSeconds: 21600, authenticated: false });
  });

  it('says what a low quota means for the cluster, and how to raise it', async () => {
    remaining = 4;
    const [r] = await checker().check([ref('nginx:1.27')]);
    expect(r?.status).toBe('OK');
    expect(r?.hint).toMatch(/Docker Hub pull quota: 4 of 100 per 6 h left for this address \(anonymous\)/);
    expect(r?.hint).toMatch(/429 toomanyrequests.*DOCKERHUB_USERNAME\/DOCKERHUB_TOKEN/);
  });

  it('with GETs allowed, reads index platforms while the quota is ample and stops spending pulls at the reserve', async () => {
    const [ample] = await checker({ allowGet: true }).check([ref('bitnami/redis:7.4')]);
    expect(ample?.evidence.authenticated ?? ample?.evidence.anonymous).toMatchObject({ platforms: ['linux/amd64', 'linux/arm64'] });
    expect(manifestGets).toBe(1);

    manifestGets = 0;
    remaining = 10;
    const [low] = await checker({ allowGet: true, quotaReserve: 10 }).check([ref('bitnami/redis:7.4')]);
    expect(low?.status).toBe('OK');
    expect(manifestGets).toBe(0);
    expect(remaining).toBe(10);
  });
});
