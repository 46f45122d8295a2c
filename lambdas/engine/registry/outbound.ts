/**
 * SECURITY: the outbound policy. Image references, token realms and redirects come from untrusted manifests and
 * registries; without a policy they make the auditor connect to `localhost:2375`, `169.254.169.254` or any
 * internal service. Every URL the registry transport sends to is decided here, before any connection:
 *
 * 1. A host configured by the operator (a `registries.<host>` key or endpoint, `--registry-endpoint`) or matching a
 *    `registries.allow` glob is allowed whatever it resolves to (tests and mirrors on 127.0.0.1 keep working).
 * 2. Any other host is allowed only when every address it resolves to is public: never loopback, private
 *    (RFC 1918, CGNAT, IPv6 ULA), link-local, cloud metadata, unspecified, multicast or reserved.
 * 3. With `registries.allow` set, a registry host (as written in an image) must be configured or listed; token
 *    realms and redirects stay allowed on public hosts (rule 2), so docker.io keeps its auth.docker.io realm.
 * 4. `refuseLinkLocal` (the Lambda): link-local and metadata addresses are refused even when listed.
 *
 * The decision is made on resolved addresses, and the connection goes to the address that was checked: the
 * undici connector gets `lookup` from here, which resolves again at connect time and refuses what the policy
 * refuses, so DNS rebinding (public at decision time, 127.0.0.1 at connect time) cannot slip through. IP literals
 * never reach `lookup`; they are decided statically. Tests inject `resolve` to decide on addresses without DNS.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundPolicyOptions {
  /** `registries.allow`: host globs (`*.corp.example`, `10.1.2.3`, `registry.local:5000`). */
  allow?: readonly string[];
  /** Hosts the operator configured (registry keys, endpoint hosts); `host` or `host:port`. */
  configured?: readonly string[];
  /** Refuse link-local and metadata addresses even when listed (the Lambda). */
  refuseLinkLocal?: boolean;
  /** DNS resolution (default: the system resolver, every address). */
  resolve?: Resolver;
}

export interface OutboundDecision {
  allowed: boolean;
  reason: string;
}

/** Thrown by the transport instead of connecting; becomes REGISTRY_NOT_ALLOWED. */
export class OutboundDeniedError extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host} is not allowed by the outbound policy: ${reason}`);
    this.name = 'OutboundDeniedError';
  }
}

const METADATA = new Set(['169.254.169.254', '169.254.170.2', '169.254.169.253', '100.100.100.200', 'fd00:ec2::254', 'fd00:ec2::23']);

function ipv4Octets(address: string): number[] | undefined {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : undefined;
}

function classifyIpv4(address: string): AddressClass {
  const o = ipv4Octets(address);
  if (!o) return 'reserved';
  const [a = 0, b = 0, c = 0] = o;
  if (METADATA.has(address)) return 'metadata';
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  if ((a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) {
    return 'reserved';
  }
  return 'public';
}

/** Expands an IPv6 address to eight 16-bit groups (an embedded IPv4 tail included). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const o = ipv4Octets(v4[1]);
    if (!o) return undefined;
    text = text.slice(0, -v4[1].length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? h.length !== 8 : missing < 0) return undefined;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyIpv6(address: string): AddressClass {
  const g = ipv6Groups(address);
  if (!g) return 'reserved';
  const canonical = g.map((x) => x.toString(16)).join(':');
  if (METADATA.has(address.toLowerCase()) || canonical === 'fd00:ec2:0:0:0:0:0:254' || canonical === 'fd00:ec2:0:0:0:0:0:23') return 'metadata';
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  const [g0 = 0, g1 = 0] = g;
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the IPv4 inside.
  const embedded = `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return classifyIpv4(embedded);
  if (g0 === 0x64 && g1 === 0xff9b) return classifyIpv4(embedded);
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved';
  if ((g0 & 0xe000) !== 0x2000) return 'reserved'; // only 2000::/3 is global unicast
  return 'public';
}

export function classifyAddress(address: string): AddressClass {
  const family = isIP(address.replace(/^\[|\]$/g, ''));
  if (family === 4) return classifyIpv4(address);
  if (family === 6) return classifyIpv6(address);
  return 'reserved';
}

const systemResolve: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });

/** Host globs: `*` matches any run of characters (`*.corp.example`, `127.0.0.1:*`), `?` one character. */
function hostGlobs(globs: readonly string[]): (host: string) => boolean {
  const res = globs.map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i'));
  return (host) => res.some((re) => re.test(host));
}

function bare(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

export class OutboundPolicy {
  readonly #allow: ((host: string) => boolean) | undefined;
  readonly #allowListed: boolean;
  readonly #configured: Set<string>;
  readonly #refuseLinkLocal: boolean;
  readonly #resolve: Resolver;

  constructor(options: OutboundPolicyOptions = {}) {
    const globs = (options.allow ?? []).map((g) => g.toLowerCase());
    this.#allowListed = options.allow !== undefined;
    this.#allow = globs.length ? hostGlobs(globs) : undefined;
    this.#configured = new Set((options.configured ?? []).map((h) => h.toLowerCase().replace(/^\[([^\]]+)\]/, '$1')));
    this.#refuseLinkLocal = options.refuseLinkLocal ?? false;
    this.#resolve = options.resolve ?? systemResolve;
  }

  /**
   * Listed by the operator: configured (exactly `host` or `host:port`, as written), or matching a `registries.allow`
   * glob (`host` or `host:port`). Configuring `127.0.0.1:5000` does not list `127.0.0.1:2375`.
   */
  listed(hostname: string, port?: string): boolean {
    const name = bare(hostname);
    const withPort = port ? `${name}:${port}` : name;
    if (this.#configured.has(withPort)) return true;
    return this.#allow !== undefined && (this.#allow(name) || this.#allow(withPort));
  }

  /** Listed itself, or on the same hostname as the listed registry endpoint it belongs to (its realm, a redirect). */
  listedFor(url: URL, endpoint: URL | undefined): boolean {
    if (this.listed(url.hostname, url.port)) return true;
    return endpoint !== undefined && bare(endpoint.hostname) === bare(url.hostname) && this.listed(endpoint.hostname, endpoint.port);
  }

  /**
   * True when the decision on `url` cannot depend on its addresses: a configured or listed host (rule 1) while
   * link-local is not refused always (rule 4). Clients without a checked connector skip the DNS query then.
   */
  decidedByName(url: URL, endpoint?: URL): boolean {
    return !this.#refuseLinkLocal && (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && this.listedFor(url, endpoint);
  }

  /** Whether an image's registry host may be contacted at all (rule 3), before any address is looked at. */
  registryHostDecision(registryHost: string): OutboundDecision {
    if (!this.#allowListed) return { allowed: true, reason: 'no registries.allow list: any host with public addresses' };
    const [name = '', port] = registryHost.split(/:(?=\d+$)/);
    if (this.listed(name, port)) return { allowed: true, reason: `${registryHost} is configured or listed in registries.allow` };
    return { allowed: false, reason: `${registryHost} is neither configured under registries nor matched by registries.allow` };
  }

  /** The verdict on one address for a host that is (or is not) listed. */
  addressDecision(address: string, listed: boolean): OutboundDecision {
    const kind = classifyAddress(address);
    if ((kind === 'link-local' || kind === 'metadata') && this.#refuseLinkLocal) {
      return { allowed: false, reason: `resolves to ${address} (${kind}), which the deployed auditor never connects to` };
    }
    if (kind === 'public' || listed) return { allowed: true, reason: kind === 'public' ? 'public address' : `${kind} address of a listed host` };
    return { allowed: false, reason: `resolves to ${address} (${kind}); list the host in registries.allow to allow it` };
  }

  /**
   * Decides a URL before any connection: resolves its host and checks every address. `endpoint` is the registry
   * endpoint the exchange belongs to: a token realm or redirect on the same hostname shares its standing.
   */
  async decide(url: URL, endpoint?: URL): Promise<OutboundDecision & { addresses: ResolvedAddress[]; listed: boolean }> {
    const name = bare(url.hostname);
    const listed = this.listedFor(url, endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, reason: `scheme ${url.protocol} is not http(s)`, addresses: [], listed };
    if (url.username || url.password) return { allowed: false, reason: 'the URL carries userinfo', addresses: [], listed };
    let addresses: ResolvedAddress[];
    const family = isIP(name);
    if (family) addresses = [{ address: name, family: family === 6 ? 6 : 4 }];
    else {
      try {
        addresses = await this.#resolve(name);
      } catch (error) {
        // Not a policy refusal: the host does not resolve (the connection would fail the same way).
        throw Object.assign(new Error(`cannot resolve ${name}: ${(error as { code?: string }).code ?? String(error)}`), { code: (error as { code?: string }).code ?? 'ENOTFOUND' });
      }
    }
    if (addresses.length === 0) return { allowed: false, reason: `${name} resolves to no address`, addresses, listed };
    for (const { address } of addresses) {
      const d = this.addressDecision(address, listed);
      if (!d.allowed) return { ...d, addresses, listed };
    }
    return { allowed: true, reason: listed ? 'configured or listed host' : 'public addresses only', addresses, listed };
  }

  /**
   * A `lookup` for net/tls.connect: resolves again at connect time and hands the socket only addresses the policy
   * allows for that host, so the checked address is the one connected to.
   */
  lookup(listed: boolean): LookupFunction {
    return ((hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
      const name = bare(hostname);
      this.#resolve(name).then(
        (addresses) => {
          const denied = addresses.map((a) => ({ a, d: this.addressDecision(a.address, listed) })).find((x) => !x.d.allowed);
          if (denied || addresses.length === 0) {
            const error = Object.assign(new OutboundDeniedError(name, denied?.d.reason ?? 'resolves to no address'), { code: 'EOUTBOUNDDENIED' });
            callback(error);
            return;
          }
          if (options?.all) callback(null, addresses);
          else callback(null, addresses[0]?.address, addresses[0]?.family);
        },
        (error: unknown) => callback(error),
      );
    }) as unknown as LookupFunction;
  }
}

/** What the shells pass: `registries.allow`, the Lambda's always-refuse rule, a DNS stub for tests. */
export interface OutboundSettings {
  allow?: readonly string[];
  refuseLinkLocal?: boolean;
  resolve?: Resolver;
}

/**
 * The operator's policy, one for every client that connects out (image checks, the Packages API, remote charts,
 * the GitHub source): configured hosts (registry keys, mapped hosts, the `host:port` of every endpoint URL, the
 * GitHub API), realm hosts named for credentials (listed for contact too) and `registries.allow`.
 */
export function operatorOutboundPolicy(input: {
  hosts?: Iterable<string>;
  endpointUrls?: Iterable<string>;
  realmHosts?: readonly string[];
  settings?: OutboundSettings | undefined;
}): OutboundPolicy {
  const configured = new Set<string>(input.hosts ?? []);
  for (const url of input.endpointUrls ?? []) {
    try {
      configured.add(new URL(url).host);
    } catch {
      // Not a URL: nothing to list (the endpoint itself is refused where it is parsed).
    }
  }
  const realmHosts = input.realmHosts ?? [];
  const settings = input.settings ?? {};
  return new OutboundPolicy({
    configured: [...configured],
    ...(settings.allow || realmHosts.length ? { allow: [...(settings.allow ?? []), ...realmHosts] } : {}),
    ...(settings.refuseLinkLocal ? { refuseLinkLocal: true } : {}),
    ...(settings.resolve ? { resolve: settings.resolve } : {}),
  });
}
