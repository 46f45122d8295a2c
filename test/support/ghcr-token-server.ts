/**
 * FAKE, written for the tests: a token server speaking the Docker token protocol
 * (distribution/distribution docs/content/spec/auth/token.md) that behaves like GHCR as users observed it
 * (/work/shared/docs/registry-facts.md §1.2). It is not GHCR.
 *
 * - Anonymous requests for a private or nonexistent repository: 403 `DENIED` (GHCR hides existence).
 * - Anonymous requests for an existing public repository: a pull token.
 * - Basic with a known token (any username): a pull token for every repository the token may read (default all,
 *   nonexistent ones included, so the registry then answers 404); others 403 `DENIED`.
 * - Basic with an unknown token: 401 `UNAUTHORIZED`.
 * - The internal push credential gets whatever it asks for (push helpers).
 * - No `expires_in` in the answer, as reported for GHCR.
 * - Several `scope` parameters in one request (the spec's repeated scope): every scope is checked as above and one
 *   refused repository refuses the whole request (GHCR-like); `scopesHonoured: 'first'` instead plays a token
 *   server that reads only the first `scope` parameter (the token then covers one repository).
 * Tokens are RS256 JWTs with the self-signed certificate in `x5c`; the registry trusts it via rootcertbundle.
 */
import { createSign, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenGrant {
  /** The token (Basic password). */
  password: string;
  /** Repositories this token may read (exact names); default: all. */
  repositories?: string[];
}

export interface TokenServerRequest {
  method: string;
  path: string;
  scopes: string[];
  authorization?: string;
  /** `granted` or the error code answered. */
  outcome: string;
}

export interface GhcrTokenServerOptions {
  service: string;
  issuer: string;
  keyPem: string;
  certDer: Buffer;
  repositoryExists: (name: string) => boolean;
  isPrivate: (name: string) => boolean;
  tokens: () => readonly TokenGrant[];
  /** Internal credential for push/delete helpers. */
  pushPassword: string;
  /**
   * What anonymous callers get for a private or missing repository: `deny` (403 DENIED, the usual GHCR answer) or
   * `empty-token` (a token without access, so the registry answers 401 on the manifest; also reported for GHCR).
   */
  anonymousHidden?: () => 'deny' | 'empty-token';
  /** `all` (default): every `scope` parameter counts; `first`: only the first one (a server without multi-scope). */
  scopesHonoured?: () => 'all' | 'first';
}

export interface GhcrTokenServer {
  url: string;
  requests: TokenServerRequest[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function sign(opts: GhcrTokenServerOptions, subject: string, access: Array<{ type: string; name: string; actions: string[] }>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [opts.certDer.toString('base64')] };
  const claims = { iss: opts.issuer, sub: subject, aud: opts.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(opts.keyPem);
  return `${input}.${b64url(signature)}`;
}

function deny(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ code, message }] }));
}

export async function startGhcrTokenServer(opts: GhcrTokenServerOptions): Promise<GhcrTokenServer> {
  const requests: TokenServerRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const split = (list: string[]) => list.flatMap((s) => s.split(' ')).filter(Boolean);
    const asked = url.searchParams.getAll('scope');
    const scopes = split(opts.scopesHonoured?.() === 'first' ? asked.slice(0, 1) : asked);
    // The record shows what was asked, whatever this server then reads of it.
    const record: TokenServerRequest = { method: req.method ?? 'GET', path: url.pathname, scopes: split(asked), outcome: 'granted' };
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    requests.push(record);
    const finish = (status: number, code: string, message: string) => {
      record.outcome = code;
      deny(res, status, code, message);
    };
    if (url.pathname !== '/token' || req.method !== 'GET') return finish(404, 'NOT_FOUND', 'not found');

    let password: string | undefined;
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Basic\s+(.+)$/i.exec(auth);
      const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 0) return finish(401, 'UNAUTHORIZED', 'authentication required');
      password = decoded.slice(colon + 1);
    }
    const isPush = password !== undefined && password === opts.pushPassword;
    const grant = password !== undefined && !isPush ? opts.tokens().find((t) => t.password === password) : undefined;
    if (password !== undefined && !isPush && !grant) return finish(401, 'UNAUTHORIZED', 'authentication required');

    const access: Array<{ type: string; name: string; actions: string[] }> = [];
    for (const scope of scopes) {
      const [type, name, actions] = scope.split(':');
      if (!type || !name || actions === undefined) continue;
      const wanted = actions.split(',').filter(Boolean);
      if (isPush) {
        access.push({ type, name, actions: wanted.includes('*') ? ['*'] : wanted });
        continue;
      }
      if (type !== 'repository') continue;
      if (grant) {
        if (grant.repositories && !grant.repositories.includes(name)) return finish(403, 'DENIED', 'requested access to the resource is denied');
      } else if (opts.isPrivate(name) || !opts.repositoryExists(name)) {
        if ((opts.anonymousHidden?.() ?? 'deny') === 'empty-token') continue;
        return finish(403, 'DENIED', 'requested access to the resource is denied');
      }
      access.push({ type, name, actions: wanted.filter((a) => a === 'pull') });
    }
    const token = sign(opts, isPush ? 'pusher' : grant ? 'token-user' : 'anonymous', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token }));
  };
  const server = createServer(handle);
  // Above undici's 1 s keep-alive threshold, so clients can reuse connections.
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
