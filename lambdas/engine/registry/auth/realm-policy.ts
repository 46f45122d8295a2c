/**
 * SECURITY: which hosts may receive a registry credential. A credential goes only to its own registry (the
 * configured endpoint for that host), or to a token realm on the same site: the same registrable domain as the
 * registry host (ghcr.io → ghcr.io, docker.io → auth.docker.io), or the same hostname as a mapped endpoint (a
 * mirror or test token server on another port). Any other realm gets no credential unless it is listed in
 * `allowedRealmHosts` by name. A credential is never sent over plain HTTP unless the endpoint itself is plain
 * HTTP on the same hostname (loopback tests, mirrors).
 */

/**
 * Suffixes under which unrelated parties own sibling names (a pocket public-suffix list: registries are rarely
 * elsewhere). `a.azurecr.io` and `b.azurecr.io` are different sites.
 */
const SHARED_SUFFIXES = new Set([
  'co.uk', 'org.uk', 'ac.uk', 'com.au', 'net.au', 'co.jp', 'co.nz', 'com.br', 'com.cn', 'co.in', 'co.kr', 'com.tr',
  'azurecr.io', 'amazonaws.com', 'amazonaws.com.cn', 'pkg.dev', 'gcr.io', 'github.io', 'githubusercontent.com',
  'herokuapp.com', 'appspot.com', 'cloudfront.net', 'azurewebsites.net', 'ocir.io', 'oraclecloud.com',
  'jfrog.io', 'ngrok.io', 'ngrok-free.app', 'vercel.app', 'netlify.app', 'fly.dev', 'onrender.com', 'workers.dev',
  'nip.io', 'sslip.io', 'localhost',
]);

function isIp(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.includes(':');
}

/** `auth.docker.io` → `docker.io`; `x.y.azurecr.io` → `y.azurecr.io`; IPs and single labels stay as they are. */
export function registrableDomain(hostname: string): string {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIp(h)) return h;
  const labels = h.split('.');
  if (labels.length <= 2) return h;
  for (let i = 1; i < labels.length; i++) {
    const suffix = labels.slice(i).join('.');
    if (SHARED_SUFFIXES.has(suffix)) return labels.slice(i - 1).join('.');
  }
  return labels.slice(-2).join('.');
}

function hostnameOf(hostOrHostPort: string): string {
  try {
    return new URL(`http://${hostOrHostPort}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return hostOrHostPort;
  }
}

export interface RealmPolicyContext {
  /** Registry host as written in references (`ghcr.io`, `docker.io`, `localhost:5000`). */
  registryHost: string;
  /** Where the registry is actually served from. */
  endpoint: URL;
  /** Extra realm hosts allowed by name (`host` or `host:port`). */
  allowedRealmHosts?: readonly string[];
}

export type RealmDecision = { allowed: true; reason: string } | { allowed: false; reason: string };

export function mayReceiveCredential(realm: URL, ctx: RealmPolicyContext): RealmDecision {
  const realmHost = realm.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const endpointHost = ctx.endpoint.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const registryHostname = hostnameOf(ctx.registryHost).toLowerCase();
  const allowed = (ctx.allowedRealmHosts ?? []).map((h) => h.toLowerCase());

  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') return { allowed: false, reason: `realm scheme ${realm.protocol} is not http(s)` };
  if (realm.username || realm.password) return { allowed: false, reason: 'realm URL carries userinfo' };

  const byName = allowed.includes(realm.host.toLowerCase()) || allowed.includes(realmHost);
  if (byName) return { allowed: true, reason: `realm host ${realm.host} is allowed by configuration` };
  let sameSite: string | undefined;
  if (realmHost === endpointHost) sameSite = 'realm on the endpoint host';
  else if (realmHost === registryHostname) sameSite = 'realm on the registry host';
  else if (!isIp(realmHost) && !isIp(registryHostname) && registrableDomain(realmHost) === registrableDomain(registryHostname)) {
    sameSite = `realm on the registry's site (${registrableDomain(realmHost)})`;
  }
  if (sameSite) {
    // Plain HTTP only towards the endpoint's own hostname when the endpoint is itself plain HTTP.
    if (realm.protocol === 'http:' && !(ctx.endpoint.protocol === 'http:' && realmHost === endpointHost)) {
      return { allowed: false, reason: `realm ${realm.host} uses plain HTTP` };
    }
    return { allowed: true, reason: sameSite };
  }
  return { allowed: false, reason: `realm host ${realm.host} is not the registry's site (${ctx.registryHost})` };
}
