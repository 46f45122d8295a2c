/**
 * Remote chart fetches go through the image checks' outbound policy (docs/security.md): a chart repository named by a
 * manifest cannot make the auditor connect to loopback, private, link-local or metadata addresses unless the operator
 * listed it, and the Lambda never connects to link-local/metadata. Decided before any connection: loopback is a real
 * listener that counts connections; other addresses are IP literals (decided without DNS) or come from a resolver stub,
 * so no packet leaves 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setUpChartRendering, type ChartSetupOptions } from '../../lambdas/engine/helm/setup.js';
import type { ResolvedAddress } from '../../lambdas/engine/registry/outbound.js';

/** A loopback HTTP server that counts connections and answers 404, or redirects to `redirectTo`. */
let server: Server;
let port = 0;
let connections = 0;
let redirectTo: string | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    if (redirectTo) response.writeHead(302, { location: redirectTo }).end();
    else response.writeHead(404).end();
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  connections = 0;
  redirectTo = undefined;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fetcher(extra: Partial<ChartSetupOptions> = {}) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'image-drift-chart-outbound-'));
  dirs.push(cacheDir);
  const { fetcher: chartFetcher } = setUpChartRendering({ cacheDir, ...extra });
  if (!chartFetcher) throw new Error('setUpChartRendering gave no chart fetcher');
  return chartFetcher;
}

const stub =
  (table: Record<string, string>) =>
  async (hostname: string): Promise<ResolvedAddress[]> => {
    const address = table[hostname];
    if (!address) throw Object.assign(new Error(`no stub for ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };

describe('remote chart fetches obey the outbound policy', () => {
  it('refuses a Helm repository on a loopback address before connecting, and fetches once it is listed', async () => {
    const repoURL = `http://127.0.0.1:${port}/charts`;
    const refused = await fetcher().fetch({ repoURL, chart: 'web', version: '1.0.0' });
    expect(refused).toEqual({ ok: false, message: expect.stringContaining(`127.0.0.1:${port} is not allowed by the outbound policy: resolves to 127.0.0.1 (loopback)`) });
    expect(connections).toBe(0);

    const listed = await fetcher({ outbound: { allow: [`127.0.0.1:${port}`] } }).fetch({ repoURL, chart: 'web', version: '1.0.0' });
    expect(listed).toEqual({ ok: false, message: expect.stringContaining('answered HTTP 404') });
    expect(connections).toBe(1);
  });

  it('refuses the metadata address, and in the Lambda even when it is listed', async () => {
    const repoURL = 'http://169.254.169.254/latest';
    expect(await fetcher().fetch({ repoURL, chart: 'web' })).toEqual({ ok: false, message: expect.stringContaining('169.254.169.254 (metadata)') });
    const lambda = fetcher({ outbound: { refuseLinkLocal: true, allow: ['169.254.169.254'] } });
    expect(await lambda.fetch({ repoURL, chart: 'web' })).toEqual({ ok: false, message: expect.stringContaining('which the deployed auditor never connects to') });
  });

  it('refuses a host name that resolves to a private address (decided on the stubbed resolver, nothing sent)', async () => {
    const refused = await fetcher({ outbound: { resolve: stub({ 'charts.corp.example': '10.1.2.3' }) } }).fetch({ repoURL: 'https://charts.corp.example/stable', chart: 'web' });
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('resolves to 10.1.2.3 (private)') });
  });

  it('decides every redirect hop: a listed repository cannot redirect the fetch to the metadata address', async () => {
    redirectTo = 'http://169.254.169.254/latest/meta-data/index.yaml';
    const result = await fetcher({ outbound: { allow: [`127.0.0.1:${port}`] } }).fetch({ repoURL: `http://127.0.0.1:${port}/charts`, chart: 'web' });
    expect(result).toEqual({ ok: false, message: expect.stringContaining('169.254.169.254 is not allowed by the outbound policy') });
    expect(connections).toBe(1);
  });

  it('refuses an OCI chart registry on loopback through the registry transport, and one not listed when registries.allow is set', async () => {
    const loopback = await fetcher().fetch({ repoURL: `oci://127.0.0.1:${port}/charts`, chart: 'web', version: '1.0.0' });
    expect(loopback).toEqual({ ok: false, message: expect.stringContaining('loopback') });
    expect(connections).toBe(0);
    const unlisted = await fetcher({ outbound: { allow: ['registry.corp.example'] } }).fetch({ repoURL: 'oci://ghcr.io/acme/charts', chart: 'web', version: '1.0.0' });
    expect(unlisted).toEqual({ ok: false, message: expect.stringContaining('ghcr.io is neither configured under registries nor matched by registries.allow') });
  });

  it('treats a configured registry endpoint as listed for its OCI charts', async () => {
    const configured = fetcher({ registries: { 'charts.example': { endpoint: `http://127.0.0.1:${port}` } } });
    const result = await configured.fetch({ repoURL: 'oci://charts.example/acme', chart: 'web', version: '1.0.0' });
    // Reached (the listener answers 404 to the manifest request): not refused by the policy.
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.message).not.toContain('outbound policy');
    expect(connections).toBeGreaterThan(0);
  });
});
