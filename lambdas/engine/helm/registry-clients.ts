/**
 * Registry clients for OCI charts, built like the image checker's: the same credentials (by host), the
 * same endpoint mapping and realm policy, so a chart on a registry is read exactly as its images are,
 * and a credential goes only to the host it was configured for. One client per host per run.
 */
import { TokenService } from '../registry/auth/bearer.js';
import { RegistryClient } from '../registry/client.js';
import type { RegistryCredentials } from '../registry/credentials.js';
import { resolveEndpoint } from '../registry/endpoints.js';
import { Transport } from '../registry/transport.js';
import type { OutboundPolicy } from '../registry/outbound.js';

export interface ChartRegistryOptions {
  credentials?: RegistryCredentials | undefined;
  /** host → base URL (`--registry-endpoint`, `registries.<host>.endpoint`). */
  endpoints?: ReadonlyMap<string, string>;
  /** Realm hosts allowed to receive a host's credential besides its own site, by host. */
  allowedRealmHosts?: Readonly<Record<string, readonly string[]>>;
  requestTimeoutMs?: number;
  /** The outbound policy the image checks use: every registry, realm and redirect URL decided before connecting. */
  policy?: OutboundPolicy;
}

export function chartRegistryClients(options: ChartRegistryOptions = {}): (host: string) => RegistryClient {
  const transport = new Transport({ concurrencyPerRegistry: 4, requestTimeoutMs: options.requestTimeoutMs ?? 15_000, ...(options.policy ? { policy: options.policy } : {}) });
  const tokens = new TokenService(transport);
  const clients = new Map<string, RegistryClient>();
  return (host) => {
    let client = clients.get(host);
    if (!client) {
      const credential = options.credentials?.forHost(host);
      const realmHosts = options.allowedRealmHosts?.[host];
      client = new RegistryClient({
        endpoint: resolveEndpoint(host, options.endpoints ?? new Map()),
        ...(credential ? { credential } : {}),
        transport,
        tokens,
        ...(realmHosts?.length ? { allowedRealmHosts: realmHosts } : {}),
        directToken: host === 'ghcr.io',
      });
      clients.set(host, client);
    }
    return client;
  };
}
