/**
 * The GitHub API client (the source's API requests and archive download, the Packages API through octokit) goes
 * through the outbound policy (docs/security.md): the configured API host is allowed, but a redirect it sends to a
 * loopback, private, link-local or metadata address is refused before any connection, and the Lambda refuses a
 * link-local or metadata API host outright. The decision is enforced at connect time (DNS rebinding): a host that
 * resolved to an allowed address before the request and to a refused one when connecting is refused then.
 * Non-loopback addresses appear only as IP literals (decided without DNS) or as a resolver stub's answers that the
 * policy refuses; the rebinding tests use the name `localhost`, so even a broken connect-time check would resolve
 * it locally and connect to loopback only (where the listeners count connections). No packet leaves 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createImageChecker } from '../../lambdas/engine/diagnose/index.js';
import { guardedFetch } from '../../lambdas/engine/http/guarded-fetch.js';
import { RegistryCredentials, Secret, makeCredential } from '../../lambdas/engine/registry/credentials.js';
import { OutboundPolicy, type Resolver } from '../../lambdas/engine/registry/outbound.js';
import { createGitHubSource } from '../../lambdas/engine/sources/github.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startGitHubPackagesServer } from '../support/github-packages-server.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { ref } from '../support/image-ref.js';
import { startLocalRegistry } from '../support/registry.js';

const SHA = 'a'.repeat(40);
let github: FakeGitHub | undefined;
const servers: Server[] = [];

afterEach(async () => {
  await github?.close();
  github = undefined;
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function hostileGitHub(archiveRedirectBase: string): Promise<FakeGitHub> {
  github = await startFakeGitHub({ archiveRedirectBase });
  github.addRepository({
    owner: 'acme',
    name: 'gitops',
    defaultBranch: 'main',
    refs: { main: SHA },
    archives: { [SHA]: await gitHubArchive('acme', 'gitops', SHA, { 'a.yaml': 'a: 1\n' }) },
  });
  return github;
}

/** A loopback listener: records what reached it (requests, and TCP connections), and answers with `respond`. */
async function listener(respond: (url: string, headers: Record<string, string | string[] | undefined>) => { status: number; location?: string }) {
  const seen: Array<{ url: string; authorization?: string }> = [];
  const connections = { count: 0 };
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? '', ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}) });
    const { status, location } = respond(request.url ?? '', request.headers);
    response.writeHead(status, location ? { location } : {}).end('ok');
  });
  server.on('connection', () => connections.count++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { seen, connections, port, url: `http://127.0.0.1:${port}` };
}

/**
 * A DNS stub for the policy (its `resolve`, which its connect-time `lookup` uses too): answers `answers[n]` to the
 * n-th question (the last one from then on) and records the names asked. Nothing reaches a real resolver.
 */
function rebindingResolver(...answers: string[][]) {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const addresses = answers[Math.min(asked.length, answers.length) - 1] ?? [];
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { asked, resolve };
}

describe('the GitHub source obeys the outbound policy', () => {
  it('refuses an archive redirect to the metadata address before connecting', async () => {
    const server = await hostileGitHub('http://169.254.169.254/latest/meta-data');
    const error = await createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: server.baseUrl, memoryCache: false }).load().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError' });
    expect((error as Error).message).toContain('169.254.169.254 is not allowed by the outbound policy: resolves to 169.254.169.254 (metadata)');
  });

  it('refuses an archive redirect to a private address unless registries.allow lists it', async () => {
    const server = await hostileGitHub('http://10.20.30.40:8080');
    const error = await createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: server.baseUrl, memoryCache: false }).load().catch((e: unknown) => e);
    expect((error as Error).message).toContain('resolves to 10.20.30.40 (private); list the host in registries.allow');
  });

  it('in the Lambda, refuses a GitHub API base URL on a link-local address, configured or not', async () => {
    const error = await createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: 'http://169.254.169.254/api/v3', memoryCache: false, outbound: { refuseLinkLocal: true } })
      .load()
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('which the deployed auditor never connects to');
  });
});

describe('guardedFetch (the GitHub clients\' fetch)', () => {
  it('decides each redirect hop and drops Authorization when the redirect leaves the origin', async () => {
    const target = await listener(() => ({ status: 200 }));
    const origin = await listener((url) => (url === '/start' ? { status: 302, location: `${target.url}/next` } : { status: 404 }));
    const policy = new OutboundPolicy({ allow: ['127.0.0.1:*'] });
    const response = await guardedFetch({ policy })(`${origin.url}/start`, { headers: { authorization: 'token ghp_secret' } });
    expect(response.status).toBe(200);
    expect(origin.seen).toEqual([{ url: '/start', authorization: 'token ghp_secret' }]);
    expect(target.seen).toEqual([{ url: '/next' }]);
  });

  it('refuses a redirect to an address the policy refuses, after the allowed first hop only', async () => {
    const origin = await listener(() => ({ status: 307, location: 'http://[::ffff:127.0.0.1]:2375/containers/json' }));
    const policy = new OutboundPolicy({ configured: [new URL(origin.url).host] });
    const error = await guardedFetch({ policy })(`${origin.url}/api`).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OutboundDeniedError', code: 'EOUTBOUNDDENIED' });
    expect((error as Error).message).toContain('(loopback)');
    expect(origin.seen).toHaveLength(1);
  });
});

describe('DNS rebinding: the GitHub clients\' connections are decided at connect time', () => {
  // An address the policy counts as public, only ever the pre-request answer, never connected to: 2001:2::/48 is
  // the IPv6 benchmarking range (RFC 5180), global unicast to the classifier but routed nowhere, so no live host is
  // named even if a regression tried it.
  const PUBLIC = '2001:2::1';

  it('connects through the policy\'s lookup: a listed name reaches the address the policy resolved it to', async () => {
    const target = await listener(() => ({ status: 200 }));
    const dns = rebindingResolver(['127.0.0.1']);
    const policy = new OutboundPolicy({ allow: ['localhost:*'], resolve: dns.resolve });
    const response = await guardedFetch({ policy })(`http://localhost:${target.port}/ok`);
    expect(response.status).toBe(200);
    expect(target.seen).toEqual([{ url: '/ok' }]);
    // A listed host skips the pre-request query: the one question is the connector's.
    expect(dns.asked).toEqual(['localhost']);
  });

  it('refuses a host that resolved to a public address before the request and to loopback at connect time', async () => {
    const target = await listener(() => ({ status: 200 }));
    const dns = rebindingResolver([PUBLIC], ['127.0.0.1']);
    const policy = new OutboundPolicy({ resolve: dns.resolve });
    const error = await guardedFetch({ policy })(`http://localhost:${target.port}/internal`).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OutboundDeniedError', code: 'EOUTBOUNDDENIED', host: 'localhost' });
    expect((error as Error).message).toBe('localhost is not allowed by the outbound policy: resolves to 127.0.0.1 (loopback); list the host in registries.allow to allow it');
    // Asked twice (before the request, then by the connector), and refused before any socket connected.
    expect(dns.asked).toEqual(['localhost', 'localhost']);
    expect(target.connections.count).toBe(0);
  });

  it('gives a caller-injected fetch the connect-time check as init.dispatcher', async () => {
    const target = await listener(() => ({ status: 200 }));
    const dns = rebindingResolver([PUBLIC], ['127.0.0.1']);
    const dispatchers: unknown[] = [];
    const injected: typeof fetch = (input, init) => {
      dispatchers.push((init as { dispatcher?: unknown } | undefined)?.dispatcher);
      return fetch(input, init);
    };
    const error = await guardedFetch({ policy: new OutboundPolicy({ resolve: dns.resolve }), fetch: injected })(`http://localhost:${target.port}/x`).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OutboundDeniedError', code: 'EOUTBOUNDDENIED' });
    expect(dispatchers).toHaveLength(1);
    expect(dispatchers[0]).toBeDefined();
    expect(target.connections.count).toBe(0);
  });

  it('refuses an archive redirect whose host rebinds to loopback between the decision and the connection', async () => {
    const codeload = await listener(() => ({ status: 200 }));
    const server = await hostileGitHub(`http://localhost:${codeload.port}`);
    const dns = rebindingResolver([PUBLIC], ['127.0.0.1']);
    const error = await createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: server.baseUrl, memoryCache: false, outbound: { resolve: dns.resolve } })
      .load()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError' });
    expect((error as Error).message).toContain('localhost is not allowed by the outbound policy: resolves to 127.0.0.1 (loopback)');
    expect(dns.asked).toEqual(['localhost', 'localhost']);
    expect(codeload.connections.count).toBe(0);
    expect(server.requests.map((r) => r.path)).toContain('/repos/acme/gitops/tarball/' + SHA);
  });

  it('in the Lambda, refuses the configured API host when it resolves to a metadata address at connect time', async () => {
    const server = await hostileGitHub('http://unused.invalid');
    const baseUrl = server.baseUrl.replace('127.0.0.1', 'localhost');
    // Loopback first: were the connector's answer not decided, the socket would go to the fake API on 127.0.0.1.
    const dns = rebindingResolver(['127.0.0.1'], ['127.0.0.1', '169.254.169.254']);
    const error = await createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl, memoryCache: false, outbound: { refuseLinkLocal: true, resolve: dns.resolve } })
      .load()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SourceUnavailableError' });
    expect((error as Error).message).toContain('localhost is not allowed by the outbound policy: resolves to 169.254.169.254 (metadata), which the deployed auditor never connects to');
    expect(dns.asked).toEqual(['localhost', 'localhost']);
    expect(server.requests).toEqual([]);
  });

  it('in the Lambda, the checker\'s Packages API client refuses its API host rebinding to a metadata address, and the check goes on from the registry', async () => {
    const TOKEN = 'ghp_packages_token';
    const packagesApi = await startGitHubPackagesServer({
      owners: [{ login: 'acme', type: 'Organization', packages: [{ name: 'web', visibility: 'public', versions: [] }] }],
      tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }],
    });
    const registry = await startLocalRegistry({ tokens: [TOKEN] });
    try {
      await registry.pushImage('acme/web', 'v1');
      const dns = rebindingResolver(['127.0.0.1'], ['127.0.0.1', '169.254.169.254']);
      const checker = createImageChecker({
        endpoints: { 'ghcr.io': registry.url },
        credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'ci', secret: TOKEN })] }),
        github: { token: new Secret(TOKEN), baseUrl: packagesApi.url.replace('127.0.0.1', 'localhost') },
        outbound: { refuseLinkLocal: true, resolve: dns.resolve },
      });
      const [result] = await checker.check([ref('ghcr.io/acme/web:v1')]);
      expect(result?.status).toBe('OK');
      expect(packagesApi.requests).toEqual([]);
      expect(dns.asked).toEqual(['localhost', 'localhost']);
      expect(checker.lastStats()?.notes).toEqual([
        expect.stringMatching(
          /^GitHub Packages API at localhost:\d+ given up for this run: the outbound policy refuses it \(resolves to 169\.254\.169\.254 \(metadata\), which the deployed auditor never connects to\); verdicts use registry evidence only$/,
        ),
      ]);
    } finally {
      await registry.stop();
      await packagesApi.stop();
    }
  }, 60_000);
});
