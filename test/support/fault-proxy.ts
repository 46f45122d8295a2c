/**
 * A loopback HTTP proxy in front of a real server (the local registry) that injects faults per request:
 * 5xx, 429 with Retry-After (header, or GHCR's message-text form `retry-after: 250ms`), delays and connection
 * resets, plus a fixed latency for every request (bench). Programmable per request with rules.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** 429 TOOMANYREQUESTS; `header` sets Retry-After (seconds), `messageText` puts `retry-after: X` in the message. */
  | { kind: 'rate-limit'; header?: string; messageText?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' };

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
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const requests: ProxiedRequest[] = [];
  let rules: Rule[] = [];
  let latency = 0;
  let n = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers, host: targetUrl.host };
    const up = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
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
    const rule = rules.find((x) => x.remaining > 0 && x.match(r));
    const go = () => {
      if (!rule) return forward(req, res);
      rule.remaining--;
      const f = rule.fault;
      r.fault = f.kind;
      switch (f.kind) {
        case 'reset':
          req.socket.destroy();
          return;
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
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
