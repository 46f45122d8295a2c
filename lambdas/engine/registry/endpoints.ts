/**
 * Where a registry host is actually served from. Findings, credentials and token scopes always use the
 * original host (`ghcr.io`); only the network address changes. Used for mirrors, air-gapped sites and tests
 * (`ghcr.io=http://127.0.0.1:5000`).
 */

export interface RegistryEndpoint {
  /** The registry host as written in image references (`ghcr.io`, `docker.io`, `localhost:5000`). */
  host: string;
  /** Base URL requests go to, without a trailing slash (`https://registry-1.docker.io`). */
  baseUrl: string;
  /** True when the host was remapped by configuration. */
  mapped: boolean;
}

/** `host=url` pairs, comma or newline separated, or a record. */
export type EndpointMapInput = string | Readonly<Record<string, string>> | undefined;

export function parseEndpointMap(input: EndpointMapInput): Map<string, string> {
  const out = new Map<string, string>();
  if (!input) return out;
  const entries: Array<[string, string]> =
    typeof input === 'string'
      ? input
          .split(/[,\n]/)
          .map((s) => s.trim())
          .filter(Boolean)
          .map((pair) => {
            const eq = pair.indexOf('=');
            if (eq <= 0) throw new Error(`endpoint mapping "${pair}" is not host=url`);
            return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
          })
      : Object.entries(input);
  for (const [host, url] of entries) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`endpoint for ${host} must be http or https: ${url}`);
    }
    out.set(normaliseHost(host), parsed.origin + parsed.pathname.replace(/\/+$/, ''));
  }
  return out;
}

export function normaliseHost(host: string): string {
  const h = host.trim().toLowerCase();
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

export function isDockerHub(host: string): boolean {
  return normaliseHost(host) === 'docker.io';
}

function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}

export function resolveEndpoint(host: string, map: ReadonlyMap<string, string>): RegistryEndpoint {
  const h = normaliseHost(host);
  const mapped = map.get(h);
  if (mapped) return { host: h, baseUrl: mapped, mapped: true };
  if (h === 'docker.io') return { host: h, baseUrl: 'https://registry-1.docker.io', mapped: false };
  // Plain HTTP only for loopback registries, as container runtimes do by default.
  const scheme = isLoopbackHost(h) ? 'http' : 'https';
  return { host: h, baseUrl: `${scheme}://${h}`, mapped: false };
}

/** Token endpoints known without a /v2/ ping (only used when the host is not remapped). */
export const KNOWN_TOKEN_ENDPOINTS: Readonly<Record<string, { realm: string; service: string }>> = {
  'ghcr.io': { realm: 'https://ghcr.io/token', service: 'ghcr.io' },
  'docker.io': { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
};
