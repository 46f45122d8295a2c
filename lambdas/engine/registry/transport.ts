/**
 * The bottom layer: one undici Pool per origin (keep-alive), an adaptive concurrency limit per registry host
 * (adaptive-limit.ts: starts high, backs off on 429/503/Retry-After and on growing latency), a per-request
 * timeout and an overall deadline. One call = one HTTP exchange; retries, auth and meaning live in the layers above.
 * Every exchange is counted and reported through `onExchange` (URLs only: credentials travel in headers).
 */
import { Pool } from '../http/undici-slim.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import { RegistryError, parseRegistryErrorBody } from './errors.js';
import type { OutboundPolicy } from './outbound.js';

export type ExchangeStage = 'ping' | 'token' | 'manifest' | 'tags' | 'packages-api';

export interface ExchangeEvent {
  method: string;
  /** Request URL; never carries secrets or tokens. */
  url: string;
  status?: number;
  code?: string;
  stage: string;
  note?: string;
}

export type ExchangeListener = (e: ExchangeEvent) => void;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  stage: ExchangeStage;
  /** The registry host (as written in references) this exchange is for: the concurrency and count key. */
  registryHost: string;
  /** Bodies above this are cut (default 4 MiB). */
  maxBodyBytes?: number;
  /** Incremented once per exchange sent (retries included): per-probe request counts. */
  tally?: { requests: number };
  /** The registry endpoint this exchange belongs to: a token realm or redirect on its hostname shares its standing. */
  endpoint?: URL;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface TransportOptions {
  /**
   * Most exchanges in flight per registry host. Default: adaptive from 32 up to 64; when given, the limit
   * starts there and adapts below it.
   */
  concurrencyPerRegistry?: number;
  /** Per-exchange timeout (default 15 s). */
  requestTimeoutMs?: number;
  /** Absolute time (ms since epoch) after which nothing is sent. */
  deadline?: number;
  onExchange?: ExchangeListener;
  /** Docker Hub: below this `ratelimit-remaining`, wait `slowdownMs` before each request to that host. */
  rateLimitLowWatermark?: number;
  slowdownMs?: number;
  /** Decides every URL (registry, token realm, redirect) before any connection; see outbound.ts. */
  policy?: OutboundPolicy;
  /** Redirects followed per exchange, each re-checked by the policy (default 5). */
  maxRedirects?: number;
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

export class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];
  constructor(size: number) {
    this.#free = Math.max(1, size);
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

export interface ExchangeCounts {
  /** Exchanges with the registry itself (ping, manifests, tags). */
  registry: number;
  /** Exchanges with the token endpoint. */
  token: number;
}

export function sleep(ms: number): Promise<void> {
  // Not unref'd: a retry back-off is the only thing a CLI run waits on, and an unref'd timer lets
  // Node exit mid-run (exit code 13, unsettled top-level await).
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export class DeadlineExceededError extends Error {
  constructor() {
    super('overall deadline exceeded');
    this.name = 'DeadlineExceededError';
  }
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** A registry's pull quota as its `ratelimit-limit` / `ratelimit-remaining` headers state it (Docker Hub). */
export interface RateLimitState {
  limit?: number;
  remaining: number;
  /** The quota window (`;w=21600`), seconds. */
  windowSeconds?: number;
}

function parseRateLimitHeader(value: string | undefined): { n: number; w?: number } | undefined {
  if (!value) return undefined;
  const n = Number.parseInt(value.split(';')[0] ?? '', 10);
  if (!Number.isFinite(n)) return undefined;
  const w = /;\s*w=(\d+)/.exec(value)?.[1];
  return w ? { n, w: Number(w) } : { n };
}

export class Transport {
  readonly #pools = new Map<string, Pool>();
  readonly #limits = new Map<string, AdaptiveLimit>();
  readonly #counts = new Map<string, ExchangeCounts>();
  readonly #slow = new Set<string>();
  readonly #rateLimits = new Map<string, RateLimitState>();
  readonly #concurrency: number | undefined;
  readonly #timeoutMs: number;
  readonly #deadline: number;
  readonly #onExchange: ExchangeListener | undefined;
  readonly #lowWatermark: number;
  readonly #slowdownMs: number;
  readonly #policy: OutboundPolicy | undefined;
  readonly #decisions = new Map<string, ReturnType<OutboundPolicy['decide']>>();
  readonly #maxRedirects: number;

  constructor(options: TransportOptions = {}) {
    this.#concurrency = options.concurrencyPerRegistry;
    this.#timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    this.#onExchange = options.onExchange;
    this.#lowWatermark = options.rateLimitLowWatermark ?? 10;
    this.#slowdownMs = options.slowdownMs ?? 1_000;
    this.#policy = options.policy;
    this.#maxRedirects = options.maxRedirects ?? 5;
  }

  get deadline(): number {
    return this.#deadline;
  }

  report(e: ExchangeEvent): void {
    try {
      this.#onExchange?.(e);
    } catch {
      // A tracing callback must never break a check.
    }
  }

  counts(host: string): ExchangeCounts {
    let c = this.#counts.get(host);
    if (!c) {
      c = { registry: 0, token: 0 };
      this.#counts.set(host, c);
    }
    return c;
  }

  allCounts(): Map<string, ExchangeCounts> {
    return new Map(this.#counts);
  }

  /** One pool per origin (and policy standing): its connector resolves through the policy's checked lookup. */
  #pool(origin: string, listed: boolean): Pool {
    const key = `${origin}\u0000${listed}`;
    let p = this.#pools.get(key);
    if (!p) {
      p = new Pool(origin, {
        connections: this.#concurrency ?? 64,
        keepAliveTimeout: 10_000,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        ...(this.#policy ? { connect: { lookup: this.#policy.lookup(listed) } } : {}),
      });
      this.#pools.set(key, p);
    }
    return p;
  }

  /** The policy's decision for a URL, before anything is sent; throws a `not-allowed` RegistryError when refused. */
  async #decide(req: HttpRequest, safeUrl: string): Promise<boolean> {
    const policy = this.#policy;
    if (!policy) return false;
    // One decision per origin (and endpoint) per run; the connector's lookup still checks every connection.
    const key = `${req.url.origin}\u0000${req.endpoint?.origin ?? ''}`;
    let pending = this.#decisions.get(key);
    if (!pending) {
      pending = policy.decide(req.url, req.endpoint);
      this.#decisions.set(key, pending);
      pending.catch(() => this.#decisions.delete(key));
    }
    const decision = await pending;
    if (!decision.allowed) {
      this.report({ method: req.method, url: safeUrl, stage: req.stage, note: `not allowed by the outbound policy: ${decision.reason}` });
      const stage = req.stage === 'packages-api' ? 'network' : req.stage;
      throw new RegistryError({ kind: 'not-allowed', stage, message: `${req.url.host}: ${decision.reason}` });
    }
    return decision.listed;
  }

  #limit(host: string): AdaptiveLimit {
    let s = this.#limits.get(host);
    if (!s) {
      s = new AdaptiveLimit(this.#concurrency === undefined ? {} : { initial: this.#concurrency, max: this.#concurrency, min: Math.min(2, this.#concurrency) });
      this.#limits.set(host, s);
    }
    return s;
  }

  /** The current in-flight limit per registry host (for benchmarks and tests). */
  limits(): Map<string, number> {
    return new Map([...this.#limits].map(([host, l]) => [host, l.limit]));
  }

  /**
   * One HTTP exchange. Resolves with any status; rejects on network failure, timeout or deadline, and with a
   * `not-allowed` RegistryError when the policy refuses the URL. Redirects are followed (GET/HEAD, at most
   * maxRedirects), each target decided again; the Authorization header never follows to another origin.
   */
  async send(req: HttpRequest, redirects = 0): Promise<HttpResponse> {
    const res = await this.#exchange(req);
    const location = res.headers.location;
    if (!REDIRECT_STATUS.has(res.status) || !location || (req.method !== 'GET' && req.method !== 'HEAD') || redirects >= this.#maxRedirects) return res;
    let next: URL;
    try {
      next = new URL(location, req.url);
    } catch {
      return res;
    }
    const headers = { ...req.headers };
    if (next.origin !== req.url.origin) delete headers.authorization;
    // A redirect target stands on its own: listed itself or public (it does not share the endpoint's standing).
    const { endpoint: _endpoint, ...rest } = req;
    return this.send({ ...rest, url: next, headers }, redirects + 1);
  }

  async #exchange(req: HttpRequest): Promise<HttpResponse> {
    if (Date.now() >= this.#deadline) throw new DeadlineExceededError();
    const safeUrl = req.url.origin + req.url.pathname + req.url.search;
    // Decided before anything is counted, queued or connected.
    const listed = await this.#decide(req, safeUrl);
    if (this.#slow.has(req.registryHost)) await sleep(this.#slowdownMs);
    const release = await this.#limit(req.registryHost).acquire();
    const sentAt = Date.now();
    let throttled = false;
    const counts = this.counts(req.registryHost);
    if (req.stage === 'token') counts.token++;
    else counts.registry++;
    if (req.tally) req.tally.requests++;
    try {
      const remaining = this.#deadline - Date.now();
      if (remaining <= 0) throw new DeadlineExceededError();
      const signal = AbortSignal.timeout(Math.min(this.#timeoutMs, remaining));
      const headers: Record<string, string> = { 'user-agent': 'image-drift-auditor/0.1', ...req.headers };
      const res = await this.#pool(req.url.origin, listed).request({
        method: req.method,
        path: req.url.pathname + req.url.search,
        headers,
        body: req.body,
        signal,
        // undici closes the connection after every HEAD by default (`connection: close`, for servers that wrongly
        // send a body): one TCP (and TLS) handshake per manifest check. Registries answer HEAD by the spec.
        ...(req.method === 'HEAD' ? { reset: false } : {}),
      });
      const max = req.maxBodyBytes ?? 4 * 1024 * 1024;
      let body = '';
      if (req.method !== 'HEAD') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          size += b.length;
          if (size > max) break;
          chunks.push(b);
        }
        if (size > max) res.body.destroy();
        body = Buffer.concat(chunks).toString('utf8');
      } else {
        await res.body.dump();
      }
      const out: HttpResponse = { status: res.statusCode, headers: flattenHeaders(res.headers), body };
      throttled = out.status === 429 || out.status === 503 || out.headers['retry-after'] !== undefined;
      this.#watchRateLimit(req, safeUrl, out.headers);
      const event: ExchangeEvent = { method: req.method, url: safeUrl, status: out.status, stage: req.stage };
      if (out.status >= 400) {
        const { code } = parseRegistryErrorBody(body);
        if (code) event.code = code;
      }
      this.report(event);
      return out;
    } catch (err) {
      const e = err as { code?: unknown; name?: unknown; message?: unknown };
      if (e.code === 'EOUTBOUNDDENIED') {
        // The connector's lookup refused the address at connect time (DNS rebinding): a policy refusal, not a fault.
        this.report({ method: req.method, url: safeUrl, stage: req.stage, note: `not allowed by the outbound policy at connect time: ${String(e.message)}` });
        throw new RegistryError({ kind: 'not-allowed', stage: req.stage === 'packages-api' ? 'network' : req.stage, message: String(e.message) });
      }
      this.report({
        method: req.method,
        url: safeUrl,
        stage: req.stage,
        note: `network error: ${typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'error'}`,
      });
      throw err;
    } finally {
      release({ latencyMs: Date.now() - sentAt, throttled });
    }
  }

  /** The last pull quota a registry host stated (Docker Hub sends it on every manifest answer, HEAD included). */
  rateLimit(host: string): RateLimitState | undefined {
    return this.#rateLimits.get(host);
  }

  #watchRateLimit(req: HttpRequest, safeUrl: string, headers: Record<string, string | undefined>): void {
    const host = req.registryHost;
    const remainingHeader = parseRateLimitHeader(headers['ratelimit-remaining']);
    if (!remainingHeader) return;
    const limitHeader = parseRateLimitHeader(headers['ratelimit-limit']);
    const state: RateLimitState = { remaining: remainingHeader.n };
    if (limitHeader) state.limit = limitHeader.n;
    const window = remainingHeader.w ?? limitHeader?.w;
    if (window !== undefined) state.windowSeconds = window;
    this.#rateLimits.set(host, state);
    const n = remainingHeader.n;
    if (n <= this.#lowWatermark) {
      if (!this.#slow.has(host)) {
        this.report({ method: req.method, url: safeUrl, stage: req.stage, note: `ratelimit-remaining ${n}: slowing down to one request per ${this.#slowdownMs} ms slot` });
      }
      this.#slow.add(host);
    } else {
      this.#slow.delete(host);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }
}
