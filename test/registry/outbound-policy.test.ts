/**
 * The outbound policy (registry/outbound.ts): what manifests and registries can make the auditor connect to.
 * Allowed cases run against real listeners on 127.0.0.1 that count their connections. Denied cases are decided
 * before any connection: non-loopback addresses (169.254.169.254, 10.0.0.5) only ever come from a resolver stub,
 * and the assertions check that nothing was sent, so no packet ever leaves loopback. The hand-written registries
 * speak the distribution wire protocol (`/v2/`, bearer challenge, manifests) for exactly the cases needed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createImageChecker } from '../../lambdas/engine/diagnose/index.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import { classifyAddress, OutboundPolicy, type Resolver } from '../../lambdas/engine/registry/outbound.js';
import { Transport, type ExchangeEvent } from '../../lambdas/engine/registry/transport.js';
import { auditReportToMarkdown } from '../../lambdas/engine/report/markdown.js';
import type { ImageReference } from '../../lambdas/engine/model.js';

interface Listener {
  port: number;
  connections: number;
  requests: Array<{ path: string; authorization?: string }>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse, self: Listener) => void): Promise<Listener> {
  const self: Listener = { port: 0, connections: 0, requests: [] };
  const server = createServer((req, res) => {
    self.requests.push({ path: req.url ?? '/', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    handler(req, res, self);
  });
  server.on('connection', () => self.connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self.port = (server.address() as AddressInfo).port;
  return self;
}

/** An open registry: `/v2/` 200 and every manifest present. */
const openRegistry = () =>
  listen((req, res) => {
    res.writeHead(200, { 'docker-content-digest': `sha256:${'b'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(req.method === 'HEAD' ? undefined : '{}');
  });

/** An internal service that would leak something if we ever reached it and copied its reply. */
const internalService = () =>
  listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('INTERNAL-SECRET-ami-id i-0123456789 iam/security-credentials/admin');
  });

function ref(text: string): ImageReference {
  const parsed = parseImageReference(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.ref;
}

const stub = (table: Record<string, string[]>): Resolver & { calls: string[] } => {
  const calls: string[] = [];
  const resolve = (async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  }) as Resolver & { calls: string[] };
  resolve.calls = calls;
  return resolve;
};

describe('address classes', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.3.4.5', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.10', 'reserved'],
    ['140.82.112.33', 'public'],
    ['2606:50c0:8000::154', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('registries named by manifests', () => {
  it('does not connect to an unconfigured loopback registry (localhost:2375 style)', async () => {
    const daemon = await openRegistry();
    const events: ExchangeEvent[] = [];
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, onExchange: (e) => events.push(e) });
    const results = await checker.check([ref(`127.0.0.1:${daemon.port}/team/app:v1`), ref(`localhost:${daemon.port}/team/app:v1`)]);
    expect(results.map((r) => r.status)).toEqual(['REGISTRY_NOT_ALLOWED', 'REGISTRY_NOT_ALLOWED']);
    expect(results[0]?.hint).toMatch(/127\.0\.0\.1 \(loopback\); list the host in registries\.allow/);
    expect(daemon.connections).toBe(0);
    expect(events.every((e) => e.note?.startsWith('not allowed by the outbound policy'))).toBe(true);
    expect(checker.lastStats()?.registryRequests).toBe(0);
  });

  it('connects to a loopback registry listed in registries.allow, and to a configured endpoint', async () => {
    const registry = await openRegistry();
    const listed = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, outbound: { allow: [`127.0.0.1:${registry.port}`] } });
    expect((await listed.check([ref(`127.0.0.1:${registry.port}/team/app:v1`)]))[0]?.status).toBe('OK');
    const configured = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    expect((await configured.check([ref('registry.example.com/team/app:v1')]))[0]?.status).toBe('OK');
    expect(registry.connections).toBeGreaterThan(0);
  });

  it('does not let a configured loopback port list another port of the same address', async () => {
    const registry = await openRegistry();
    const daemon = await openRegistry();
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    const [result] = await checker.check([ref(`127.0.0.1:${daemon.port}/team/app:v1`)]);
    expect(result?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(daemon.connections).toBe(0);
  });

  it('decides on resolved addresses: a name resolving to metadata or private addresses is refused before any connection', async () => {
    const resolve = stub({ 'metadata.evil.example': ['169.254.169.254'], 'internal.evil.example': ['10.0.0.5'], 'mixed.evil.example': ['140.82.112.33', '10.0.0.5'] });
    const events: ExchangeEvent[] = [];
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, outbound: { resolve }, onExchange: (e) => events.push(e) });
    const results = await checker.check([ref('metadata.evil.example/x:1'), ref('internal.evil.example/x:1'), ref('mixed.evil.example/x:1')]);
    expect(results.map((r) => r.status)).toEqual(['REGISTRY_NOT_ALLOWED', 'REGISTRY_NOT_ALLOWED', 'REGISTRY_NOT_ALLOWED']);
    expect(results[0]?.hint).toContain('169.254.169.254 (metadata)');
    expect(results[1]?.hint).toContain('10.0.0.5 (private)');
    expect(results[2]?.hint).toContain('10.0.0.5 (private)');
    // Nothing was sent: every exchange event is a refusal, and no request was counted.
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.status === undefined && e.note?.startsWith('not allowed'))).toBe(true);
    expect(checker.lastStats()?.registryRequests).toBe(0);
    expect(checker.lastStats()?.tokenRequests).toBe(0);
  });

  it('with registries.allow set, refuses registry hosts it does not cover without resolving them', async () => {
    const resolve = stub({});
    const checker = createImageChecker({ github: { enabled: false }, outbound: { allow: ['*.corp.example'], resolve } });
    const [result] = await checker.check([ref('quay.io/team/app:v1')]);
    expect(result?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(result?.hint).toContain('neither configured under registries nor matched by registries.allow');
    expect(resolve.calls).toEqual([]);
  });

  it('in the Lambda, refuses link-local and metadata addresses even when listed; listed private hosts stay allowed', async () => {
    const resolve = stub({ 'meta.corp.example': ['169.254.169.254'], 'reg.corp.example': ['10.0.0.5'] });
    const lambda = new OutboundPolicy({ allow: ['*.corp.example'], refuseLinkLocal: true, resolve });
    expect((await lambda.decide(new URL('https://meta.corp.example/v2/'))).allowed).toBe(false);
    expect((await lambda.decide(new URL('http://169.254.169.254/latest/meta-data/'))).reason).toContain('never connects');
    expect((await lambda.decide(new URL('https://reg.corp.example/v2/'))).allowed).toBe(true);
    const cli = new OutboundPolicy({ allow: ['*.corp.example'], resolve });
    expect((await cli.decide(new URL('https://meta.corp.example/v2/'))).allowed).toBe(true);
  });
});

describe('token realms and redirects', () => {
  it('does not follow a token realm to an internal URL, and no byte of its reply reaches the report', async () => {
    const internal = await internalService();
    const registry = await listen((req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://localhost:${internal.port}/latest/meta-data/",service="x"`, 'content-type': 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    });
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    const results = await checker.check([ref('registry.example.com/team/app:v1')]);
    expect(results[0]?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(results[0]?.hint).toContain(`localhost:${internal.port}`);
    expect(internal.connections).toBe(0);
    const markdown = auditReportToMarkdown({
      source: { kind: 'local', location: '.' },
      startedAt: new Date().toISOString(),
      durationMs: 1,
      results: results.map((r) => ({ ...r, apps: ['app'], locations: [] })),
      findings: [],
      desired: [],
    });
    expect(markdown).not.toContain('INTERNAL-SECRET');
  });

  it('refuses a token realm resolving to the metadata address, before any connection', async () => {
    const resolve = stub({ 'auth.evil.example': ['169.254.169.254'] });
    const registry = await listen((req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.evil.example/latest/meta-data/iam/",service="x"' });
      res.end();
    });
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, outbound: { resolve }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    const [result] = await checker.check([ref('registry.example.com/team/app:v1')]);
    expect(result?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(result?.hint).toContain('169.254.169.254 (metadata)');
    expect(checker.lastStats()?.tokenRequests).toBe(0);
  });

  it('keeps a realm on the configured endpoint host (another port) allowed, as the test registries use', async () => {
    const tokens = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok' }));
    });
    const registry = await listen((req, res) => {
      if (req.headers.authorization !== 'Bearer tok') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${tokens.port}/token",service="x"` });
        res.end();
        return;
      }
      res.writeHead(200, { 'docker-content-digest': `sha256:${'c'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end();
    });
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    expect((await checker.check([ref('registry.example.com/team/app:v1')]))[0]?.status).toBe('OK');
    expect(tokens.connections).toBeGreaterThan(0);
  });

  it('re-checks redirects: one to an unlisted loopback port is refused, one on the same origin is followed', async () => {
    const internal = await internalService();
    const registry = await listen((req, res) => {
      const path = req.url ?? '/';
      if (path.startsWith('/v2/evil/')) {
        res.writeHead(307, { location: `http://127.0.0.1:${internal.port}/containers/json` });
        res.end();
      } else if (path.startsWith('/v2/moved/')) {
        res.writeHead(307, { location: path.replace('/v2/moved/', '/v2/team/') });
        res.end();
      } else {
        res.writeHead(200, { 'docker-content-digest': `sha256:${'d'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        res.end();
      }
    });
    const checker = createImageChecker({ github: { enabled: false }, retry: { attempts: 1 }, endpoints: { 'registry.example.com': `http://127.0.0.1:${registry.port}` } });
    const [evil, moved] = await checker.check([ref('registry.example.com/evil/app:v1'), ref('registry.example.com/moved/app:v1')]);
    expect(evil?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(internal.connections).toBe(0);
    expect(moved?.status).toBe('OK');
  });

  it('drops the Authorization header when a redirect changes origin', async () => {
    const other = await openRegistry();
    const registry = await listen((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${other.port}/v2/team/app/manifests/v1` });
      res.end();
    });
    const transport = new Transport({ policy: new OutboundPolicy({ allow: [`127.0.0.1:${other.port}`], configured: [`127.0.0.1:${registry.port}`] }) });
    const res = await transport.send({ method: 'GET', url: new URL(`http://127.0.0.1:${registry.port}/v2/team/app/manifests/v1`), headers: { authorization: 'Bearer secret-token' }, stage: 'manifest', registryHost: 'x' });
    await transport.close();
    expect(res.status).toBe(200);
    expect(registry.requests[0]?.authorization).toBe('Bearer secret-token');
    expect(other.requests[0]?.authorization).toBeUndefined();
  });
});

describe('DNS rebinding', () => {
  it('checks the address again at connect time and connects only to a checked address', async () => {
    const internal = await internalService();
    // Public at decision time (simulated by a policy whose decision says so), 127.0.0.1 when the socket connects.
    const resolve = stub({ 'rebind.example': ['127.0.0.1'] });
    class DecidedPublic extends OutboundPolicy {
      override async decide(): Promise<Awaited<ReturnType<OutboundPolicy['decide']>>> {
        return { allowed: true, reason: 'public addresses only', addresses: [{ address: '140.82.112.33', family: 4 }], listed: false };
      }
    }
    const transport = new Transport({ policy: new DecidedPublic({ resolve }) });
    const error = await transport
      .send({ method: 'GET', url: new URL(`http://rebind.example:${internal.port}/v2/`), stage: 'ping', registryHost: 'rebind.example' })
      .then(() => undefined, (e: unknown) => e as { kind?: string; message?: string });
    await transport.close();
    expect(error?.kind).toBe('not-allowed');
    expect(error?.message).toContain('127.0.0.1 (loopback)');
    expect(resolve.calls).toEqual(['rebind.example']);
    expect(internal.connections).toBe(0);
  });

  it('the connect-time lookup hands out only addresses the policy allows', async () => {
    const policy = new OutboundPolicy({ resolve: stub({ 'a.example': ['10.0.0.5'], 'b.example': ['140.82.112.33'] }) });
    const lookup = (name: string) =>
      new Promise<unknown>((resolve) => (policy.lookup(false) as unknown as (h: string, o: object, cb: (...a: unknown[]) => void) => void)(name, { all: true }, (...args) => resolve(args)));
    const [denied] = (await lookup('a.example')) as [{ code?: string }];
    expect(denied?.code).toBe('EOUTBOUNDDENIED');
    const [none, addresses] = (await lookup('b.example')) as [null, unknown];
    expect(none).toBeNull();
    expect(addresses).toEqual([{ address: '140.82.112.33', family: 4 }]);
  });
});
