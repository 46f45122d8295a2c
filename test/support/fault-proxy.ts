/**
 * A loopback HTTP proxy in front of a real server (the local registry) that injects faults per request:
 * 5xx, 429 with Retry-After (header, or GHCR's message-text form `retry-after: 250ms`), delays, connection
 * resets and lost replies (the server handled the request, the client never hears back), plus a fixed latency for every request (bench). Programmable per request with rules.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** 429 TOOMANYREQUESTS; `header` sets Retry-After (seconds), `messageText` puts `retry-after: X` in the message. */
  | { kind: 'rate-limit'; header?: string; messageText?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' }
  /** Forwards the request, lets the server answer in full, then resets the client's connection: the reply is lost. */
  | { kind: 'drop-reply' };

export interface ProxiedRequest {
  method: string;
  path: string;
  /** 1-based sequence number. */
  n: number;
  fault?: Fault['kind'];
  /** Scheme of the Authorization header the client sent (`Bearer`, `Basic`), never its value. */
  authScheme?: string;
}

interface Rule {
  fault: Fault;
  match: (r: ProxiedRequest) => boolean;
  remaining: number;
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Inject `fault` into the next `times` matching requests (default 1; Infinity for always). */
  inject(fault: Fault, options?: { times?: number; match?: (r: ProxiedRequest) => boolean }): void;
  clear(): void;
  /** Delay every request by this much before forwarding. */
  setLatency(ms: number): void;
  /**
   * Emulate spec pagination of tags/list (`n`, `last`, `Link: <…>; rel="next"`), which docker-registry 2.8 does
   * not implement for tags: the full list is fetched from the registry and sliced here. undefined turns it off.
   */
  paginateTags(pageSize: number | undefined): void;
  /** Extra headers on every forwarded answer (e.g. Docker Hub's `ratelimit-*`); undefined turns it off. */
  setResponseHeaders(fn: ((r: ProxiedRequest) => Record<string, string> | undefined) | undefined): void;
  /** Most requests this proxy had in flight at once since the last reset. */
  peakInFlight(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const requests: ProxiedRequest[] = [];
  let rules: Rule[] = [];
  let latency = 0;
  let n = 0;
  let tagPage: number | undefined;
  let inFlight = 0;
  let peak = 0;
  let extraHeaders: ((r: ProxiedRequest) => Record<string, string> | undefined) | undefined;

  const paginatedTags = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const headers = { ...req.headers, host: targetUrl.host };
    const up = httpRequest({ host: targetUrl.hostname, port: targetUrl.port, method: 'GET', path: url.pathname, headers, agent }, (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (upRes.statusCode !== 200) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(text);
          return;
        }
        const body = JSON.parse(text) as { name: string; tags: string[] | null };
        const all = [...(body.tags ?? [])].sort();
        const n = Number(url.searchParams.get('n') ?? tagPage ?? all.length) || all.length;
        const size = Math.min(n, tagPage ?? n);
        const last = url.searchParams.get('last');
        const rest = last ? all.filter((t) => t > last) : all;
        const page = rest.slice(0, size);
        const out: Record<string, string> = { 'content-type': 'application/json' };
        if (rest.length > size && page.length) out.link = `<${url.pathname}?n=${size}&last=${encodeURIComponent(page[page.length - 1] ?? '')}>; rel="next"`;
        res.writeHead(200, out);
        res.end(JSON.stringify({ name: body.name, tags: page }));
      });
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    up.end();
  };

  const forward = (req: IncomingMessage, res: ServerResponse, r?: ProxiedRequest) => {
    const headers = { ...req.headers, host: targetUrl.host };
    const up = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, ...(r && extraHeaders ? extraHeaders(r) : {}) });
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const r: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', n: ++n };
    const scheme = req.headers.authorization?.split(' ')[0];
    if (scheme) r.authScheme = scheme;
    requests.push(r);
    inFlight++;
    peak = Math.max(peak, inFlight);
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    // Per request, and removed with it: a kept-alive socket carries many requests.
    req.socket.once('close', done);
    res.on('close', () => {
      done();
      req.socket.removeListener('close', done);
    });
    const rule = rules.find((x) => x.remaining > 0 && x.match(r));
    const go = () => {
      if (!rule) {
        const url = new URL(req.url ?? '/', 'http://proxy.invalid');
        if (tagPage !== undefined && req.method === 'GET' && url.pathname.endsWith('/tags/list')) return paginatedTags(req, res, url);
        return forward(req, res, r);
      }
      rule.remaining--;
      const f = rule.fault;
      r.fault = f.kind;
      switch (f.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'drop-reply': {
          const headers = { ...req.headers, host: targetUrl.host };
          const up = httpRequest({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers, agent }, (upRes) => {
            upRes.resume();
            upRes.on('end', () => req.socket.destroy());
          });
          up.on('error', () => req.socket.destroy());
          req.pipe(up);
          return;
        }
        case 'delay':
          setTimeout(() => forward(req, res), f.ms).unref();
          return;
        case 'status':
          res.writeHead(f.status, { 'content-type': 'application/json', ...(f.headers ?? {}) });
          res.end(req.method === 'HEAD' ? undefined : (f.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${f.status}` }] })));
          return;
        case 'rate-limit': {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (f.header !== undefined) headers['retry-after'] = f.header;
          const message = f.messageText !== undefined ? `retry-after: ${f.messageText}, allowed: 44000/minute` : 'rate limited';
          res.writeHead(429, headers);
          res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message }] }));
          return;
        }
      }
    };
    if (latency > 0) setTimeout(go, latency).unref();
    else go();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    inject(fault, options = {}) {
      rules.push({ fault, match: options.match ?? (() => true), remaining: options.times ?? 1 });
    },
    clear() {
      rules = [];
    },
    setLatency(ms) {
      latency = ms;
    },
    setResponseHeaders(fn) {
      extraHeaders = fn;
    },
    paginateTags(pageSize) {
      tagPage = pageSize;
    },
    peakInFlight: () => peak,
    resetPeak() {
      peak = inFlight;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
