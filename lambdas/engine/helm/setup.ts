/**
 * Chart rendering as both shells set it up: helm located (PATH, the Lambda layer's /opt/helm/helm, or the
 * pinned npm copy extracted under `cacheDir/tools`), and a chart fetcher caching under `cacheDir/charts`
 * whose OCI requests use the same credentials, endpoint mapping and realm policy as the image checks.
 */
import { join } from 'node:path';
import type { RegistryCredentials } from '../registry/credentials.js';
import { parseEndpointMap } from '../registry/endpoints.js';
import { operatorOutboundPolicy, type OutboundSettings } from '../registry/outbound.js';
import type { ChartRendering } from '../resolve/helm-render.js';
import { createChartFetcher } from './fetch.js';
import { chartRegistryClients } from './registry-clients.js';
import { locateTool } from './tools.js';

export interface ChartSetupOptions {
  /** The state dir's cache (CLI) or `/tmp/...` (Lambda). */
  cacheDir: string;
  /** Render remote charts from the cache only. */
  offline?: boolean | undefined;
  credentials?: RegistryCredentials | undefined;
  /** Per registry host: another endpoint, extra realm hosts (as the image checker takes them). */
  registries?: Readonly<Record<string, { endpoint?: string | undefined; allowedRealmHosts?: readonly string[] | undefined }>>;
  env?: Readonly<Record<string, string | undefined>>;
  /** `registries.allow`, the Lambda's refusal of link-local/metadata: chart fetches share the image checks' policy. */
  outbound?: OutboundSettings | undefined;
}

export function setUpChartRendering(options: ChartSetupOptions): ChartRendering {
  // Located when the first chart is rendered: a run without charts never extracts the pinned binary.
  const helm = () => locateTool('helm', { cacheDir: options.cacheDir, ...(options.env ? { env: options.env } : {}) });
  const endpoints = new Map<string, string>();
  const realms: Record<string, readonly string[]> = {};
  for (const [host, registry] of Object.entries(options.registries ?? {})) {
    if (registry.endpoint) for (const [h, url] of parseEndpointMap({ [host]: registry.endpoint })) endpoints.set(h, url);
    if (registry.allowedRealmHosts?.length) realms[host] = registry.allowedRealmHosts;
  }
  // SECURITY: chart repositories are named by manifests; they get the image checks' outbound policy (docs/security.md).
  const policy = operatorOutboundPolicy({
    hosts: [...Object.keys(options.registries ?? {}), ...endpoints.keys()],
    endpointUrls: endpoints.values(),
    realmHosts: Object.values(realms).flat(),
    settings: options.outbound,
  });
  const fetcher = createChartFetcher({
    cacheDir: join(options.cacheDir, 'charts'),
    ...(options.offline ? { offline: true } : {}),
    registryClient: chartRegistryClients({ credentials: options.credentials, endpoints, allowedRealmHosts: realms, policy }),
    outbound: policy,
  });
  return { helm, fetcher };
}
