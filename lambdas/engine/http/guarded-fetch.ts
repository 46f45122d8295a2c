/**
 * SECURITY: a `fetch` for the clients that do not go through the registry transport (the GitHub source's API and
 * archive download, the GitHub Packages API through octokit): every URL, and every redirect hop, is decided by the
 * outbound policy (registry/outbound.ts). Redirects are followed here, one hop at a time (at most 5), so that none
 * of them escapes the decision; `Authorization` never follows a redirect to another origin. A refused URL rejects
 * with OutboundDeniedError. A caller that asks for `redirect: 'manual'` gets each redirect response itself (and its
 * next request is decided in turn).
 *
 * Two decisions per hop, as in the registry transport: before the request on the addresses the host resolves to
 * (IP literals are decided only there: they never reach a lookup), and at connect time, where it is enforced: the
 * request goes out through an undici Agent whose connector resolves through the policy's `lookup`, so the
 * addresses connected to are the ones decided on and DNS rebinding in between cannot slip through. The Agent goes
 * to the fetch as `init.dispatcher` (Node's global fetch and undici's honour it); a caller-injected fetch that
 * brings its own dispatcher (tests stubbing DNS) decides its own connections.
 */
import { OutboundDeniedError, type OutboundDecision, type OutboundPolicy } from '../registry/outbound.js';
import { Agent } from './undici-slim.js';

export interface GuardedFetchOptions {
  policy: OutboundPolicy;
  /** The configured origin the requests belong to (the GitHub API): hosts on its hostname share its standing. */
  endpoint?: URL;
  /** The fetch that sends (default the global one); it gets the policy-checked Agent as `init.dispatcher`. */
  fetch?: typeof globalThis.fetch;
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function guardedFetch(options: GuardedFetchOptions): typeof globalThis.fetch {
  const send = options.fetch ?? globalThis.fetch;
  const maxRedirects = options.maxRedirects ?? 5;
  // One decision per origin per client: the policy resolves the host each time it decides.
  const decisions = new Map<string, Promise<OutboundDecision>>();
  const decide = async (url: URL): Promise<void> => {
    // A configured host (the GitHub API itself) is allowed whatever it resolves to, unless rule 4 applies.
    if (options.policy.decidedByName(url, options.endpoint)) return;
    let pending = decisions.get(url.origin);
    if (!pending) {
      pending = options.policy.decide(url, options.endpoint);
      decisions.set(url.origin, pending);
      pending.catch(() => decisions.delete(url.origin));
    }
    const decision = await pending;
    if (!decision.allowed) throw Object.assign(new OutboundDeniedError(url.host, decision.reason), { code: 'EOUTBOUNDDENIED' });
  };
  // One Agent per policy standing (listed or not): its connector resolves through the policy's lookup.
  const agents = new Map<boolean, Agent>();
  const dispatcherFor = (url: URL): Agent => {
    const listed = options.policy.listedFor(url, options.endpoint);
    let agent = agents.get(listed);
    if (!agent) {
      agent = new Agent({ connect: { lookup: options.policy.lookup(listed) } });
      agents.set(listed, agent);
    }
    return agent;
  };

  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : input instanceof URL ? input.href : String(input));
    let method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    let headers = new Headers(init?.headers ?? request?.headers);
    let body = init?.body;
    const follow = (init?.redirect ?? request?.redirect ?? 'follow') === 'follow';
    for (let hop = 0; ; hop++) {
      await decide(url);
      // `dispatcher` is not in RequestInit's types (Node types it with its own bundled undici's): added untyped.
      const requestInit: RequestInit = Object.assign({ ...init, method, headers, body: body ?? null, redirect: 'manual' as const }, { dispatcher: dispatcherFor(url) });
      let response: Response;
      try {
        response = await send(url, requestInit);
      } catch (error) {
        // fetch wraps a refusal at connect time ("fetch failed", cause: the lookup's error): report the refusal itself.
        throw connectRefusal(error) ?? error;
      }
      const location = response.headers.get('location');
      if (!follow || !REDIRECTS.has(response.status) || location === null) return response;
      if (hop >= maxRedirects) {
        await response.body?.cancel();
        throw new Error(`${url.host}: more than ${maxRedirects} redirects`);
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new OutboundDeniedError(next.host || next.protocol, `redirect to a ${next.protocol} URL`);
      if (next.origin !== url.origin) {
        headers = new Headers(headers);
        headers.delete('authorization');
      }
      // As fetch does: 303, and 301/302 after a POST, continue as a GET without a body.
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next;
    }
  };
}

/** The policy's refusal inside a fetch error's `cause` chain, if that is why the connection was not made. */
function connectRefusal(error: unknown): OutboundDeniedError | undefined {
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current instanceof OutboundDeniedError) return current;
    current = current.cause;
  }
  return undefined;
}
