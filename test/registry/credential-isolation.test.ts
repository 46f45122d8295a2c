import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import { mayReceiveCredential, registrableDomain } from '../../lambdas/engine/registry/auth/realm-policy.js';

const SECRET = 'ghp_must_not_leak';
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

async function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** A token endpoint that records what it receives and hands out a token. */
async function recordingTokenServer() {
  const seen: Array<{ authorization?: string; url: string; method?: string; body?: string }> = [];
  const port = await listen((req, res) => {
    const rec: { authorization?: string; url: string; method?: string; body?: string } = { url: req.url ?? '', method: req.method ?? 'GET' };
    if (req.headers.authorization) rec.authorization = req.headers.authorization;
    seen.push(rec);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (body) rec.body = body;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `issued-by-${port}` }));
    });
  });
  return { port, seen };
}

/** A (hostile) registry whose challenges point wherever we say; serves a manifest to any bearer token. */
async function challengingRegistry(realmFor: (path: string) => string, accepts: (authorization: string) => boolean = (a) => a.startsWith('Bearer ')) {
  const seen: Array<{ path: string; authorization?: string }> = [];
  const port = await listen((req, res) => {
    const path = req.url ?? '/';
    const rec: { path: string; authorization?: string } = { path };
    if (req.headers.authorization) rec.authorization = req.headers.authorization;
    seen.push(rec);
    if (!accepts(req.headers.authorization ?? '') || path === '/v2/') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realmFor(path)}",service="evil",scope="repository:user/image:pull"`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    res.writeHead(200, { 'docker-content-digest': `sha256:${'a'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end();
  });
  return { port, seen };
}

function check(host: string, endpoint: string, extra: { allowedRealmHosts?: string[]; outbound?: { allow?: string[] } } = {}) {
  const parsed = parseImageReference(`${host}/team/app:v1`);
  if (!parsed.ok) throw new Error('bad ref');
  return createImageChecker({
    endpoints: { [host]: endpoint },
    credentials: new RegistryCredentials({ credentials: [makeCredential({ host, username: 'me', secret: SECRET })] }),
    github: { enabled: false },
    retry: { attempts: 1 },
    ...extra,
  }).check([parsed.ref]);
}

describe('a credential only goes to its own registry or a token realm on the same site', () => {
  it('sends no Authorization to a realm on another host named by a hostile registry', async () => {
    const evil = await recordingTokenServer();
    const reg = await challengingRegistry(() => `http://localhost:${evil.port}/token`);
    // localhost is listed so that the realm is contacted at all (the outbound policy refuses unlisted loopback).
    const [result] = await check('registry.example.com', `http://127.0.0.1:${reg.port}`, { outbound: { allow: ['localhost'] } });
    expect(evil.seen.length).toBeGreaterThan(0);
    for (const r of evil.seen) expect(r.authorization).toBeUndefined();
    expect(JSON.stringify(reg.seen)).not.toContain(Buffer.from(`me:${SECRET}`).toString('base64'));
    expect(result?.hint).toMatch(/not sent to the token realm/);
  });

  it('sends no Authorization to another host named only in a repository challenge (not the /v2/ ping)', async () => {
    const legit = await recordingTokenServer();
    const evil = await recordingTokenServer();
    // The registry refuses the legit realm's token and re-challenges towards another host.
    const reg = await challengingRegistry(
      (path) => (path === '/v2/' ? `http://127.0.0.1:${legit.port}/token` : `http://localhost:${evil.port}/token`),
      (a) => a === `Bearer issued-by-${evil.port}`,
    );
    await check('registry.example.com', `http://127.0.0.1:${reg.port}`, { outbound: { allow: ['localhost'] } });
    expect(legit.seen[0]?.authorization).toMatch(/^Basic /);
    expect(evil.seen.length).toBeGreaterThan(0);
    for (const r of evil.seen) expect(r.authorization).toBeUndefined();
  });

  it('does send the credential to a realm on the endpoint host (control: the test can fail)', async () => {
    const own = await recordingTokenServer();
    const reg = await challengingRegistry(() => `http://127.0.0.1:${own.port}/token`);
    const [result] = await check('registry.example.com', `http://127.0.0.1:${reg.port}`);
    expect(result?.status).toBe('OK');
    expect(own.seen[0]?.authorization).toBe(`Basic ${Buffer.from(`me:${SECRET}`).toString('base64')}`);
    expect(own.seen[0]?.url).toContain('scope=repository%3Ateam%2Fapp%3Apull');
  });

  it('sends the credential to another realm host only when allowedRealmHosts names it', async () => {
    const other = await recordingTokenServer();
    const reg = await challengingRegistry(() => `http://localhost:${other.port}/token`);
    await check('registry.example.com', `http://127.0.0.1:${reg.port}`, { allowedRealmHosts: ['localhost'] });
    expect(other.seen[0]?.authorization).toMatch(/^Basic /);
  });
});

describe('Docker config identity tokens', () => {
  it('uses the OAuth2 refresh-token grant (POST form) and no Basic header', async () => {
    const own = await recordingTokenServer();
    const reg = await challengingRegistry(() => `http://127.0.0.1:${own.port}/token`);
    const parsed = parseImageReference('registry.example.com/team/app:v1');
    if (!parsed.ok) throw new Error('bad ref');
    const [result] = await createImageChecker({
      endpoints: { 'registry.example.com': `http://127.0.0.1:${reg.port}` },
      credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'registry.example.com', username: '<token>', secret: 'refresh-abc', kind: 'identity-token' })] }),
      github: { enabled: false },
    }).check([parsed.ref]);
    expect(result?.status).toBe('OK');
    expect(own.seen[0]?.method).toBe('POST');
    expect(own.seen[0]?.authorization).toBeUndefined();
    const form = new URLSearchParams(own.seen[0]?.body ?? '');
    expect(form.get('grant_type')).toBe('refresh_token');
    expect(form.get('refresh_token')).toBe('refresh-abc');
    expect(form.get('scope')).toBe('repository:team/app:pull');
  });
});

describe('realm policy', () => {
  const ctx = (registryHost: string, endpoint: string) => ({ registryHost, endpoint: new URL(endpoint) });
  it('allows the same registrable domain over https', () => {
    expect(mayReceiveCredential(new URL('https://ghcr.io/token'), ctx('ghcr.io', 'https://ghcr.io')).allowed).toBe(true);
    expect(mayReceiveCredential(new URL('https://auth.docker.io/token'), ctx('docker.io', 'https://registry-1.docker.io')).allowed).toBe(true);
  });
  it('refuses other sites, shared hosting siblings, plain HTTP and userinfo', () => {
    expect(mayReceiveCredential(new URL('https://evil.example/token'), ctx('ghcr.io', 'https://ghcr.io')).allowed).toBe(false);
    expect(mayReceiveCredential(new URL('https://theirs.azurecr.io/oauth2/token'), ctx('mine.azurecr.io', 'https://mine.azurecr.io')).allowed).toBe(false);
    expect(mayReceiveCredential(new URL('http://ghcr.io/token'), ctx('ghcr.io', 'https://ghcr.io')).allowed).toBe(false);
    expect(mayReceiveCredential(new URL('https://u:p@ghcr.io/token'), ctx('ghcr.io', 'https://ghcr.io')).allowed).toBe(false);
  });
  it('treats the mapped endpoint hostname as the same site, on any port', () => {
    expect(mayReceiveCredential(new URL('http://127.0.0.1:5001/token'), ctx('ghcr.io', 'http://127.0.0.1:5000')).allowed).toBe(true);
    expect(mayReceiveCredential(new URL('http://127.0.0.2:5001/token'), ctx('ghcr.io', 'http://127.0.0.1:5000')).allowed).toBe(false);
  });
  it('computes registrable domains with a small list of shared suffixes', () => {
    expect(registrableDomain('auth.docker.io')).toBe('docker.io');
    expect(registrableDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(registrableDomain('mine.azurecr.io')).toBe('mine.azurecr.io');
    expect(registrableDomain('127.0.0.1')).toBe('127.0.0.1');
  });
});
