/**
 * FAKE, written for the tests: a loopback server speaking the GitHub Packages REST wire format as documented
 * (docs.github.com/rest/packages; octokit/plugin-rest-endpoint-methods docs/packages/*) for the calls the
 * auditor makes. It is not GitHub. Routes:
 *   GET /orgs/{org}/packages/container/{name}            GET /users/{user}/packages/container/{name}
 *   GET /orgs/{org}/packages/container/{name}/versions   GET /users/{user}/packages/container/{name}/versions
 *   GET /orgs/{org}/packages?package_type=container      GET /users/{user}/packages?package_type=container
 * Behaviour as documented or observed (registry-facts §2): no/unknown token → 401; token without read:packages
 * → 403; owner of the other kind, missing package, or a private package the token cannot see → 404.
 * Package names arrive percent-encoded (`team%2Fapp`). Pagination: per_page/page with a Link header.
 * Every 200 carries a strong ETag; a GET with a matching If-None-Match gets 304 without a body (as GitHub does,
 * and a 304 does not count against the rate limit). With `rateLimit`, answers carry x-ratelimit-limit/-remaining/
 * -reset and a token past its limit gets 403 "API rate limit exceeded".
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVersion {
  id: number;
  /** The manifest digest (GitHub puts it in `name`). */
  digest: string;
  tags: string[];
  updatedAt: string;
  /** Set for deleted versions. */
  deletedAt?: string;
}

export interface FakePackage {
  name: string;
  visibility: 'public' | 'private' | 'internal';
  versions: FakeVersion[];
  /** `owner/name` of the repository the package is linked to (GitHub then answers a `repository` object). */
  repository?: string;
}

export interface FakeOwner {
  login: string;
  type: 'Organization' | 'User';
  packages: FakePackage[];
}

export interface FakeApiToken {
  token: string;
  scopes: string[];
  /** Private packages this token can see (`owner/name`), or 'all'. Public ones are always visible. */
  sees?: 'all' | string[];
}

export interface GitHubPackagesServer {
  url: string;
  requests: Array<{ method: string; path: string; authorization?: string }>;
  owners: FakeOwner[];
  /** Delay every answer by this much (benchmarks). */
  setLatency(ms: number): void;
  stop(): Promise<void>;
}

export async function startGitHubPackagesServer(init: { owners: FakeOwner[]; tokens: FakeApiToken[]; rateLimit?: { limit: number } }): Promise<GitHubPackagesServer> {
  const requests: GitHubPackagesServer['requests'] = [];
  let base = '';
  let used = 0;
  let latency = 0;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = JSON.stringify(body);
      const etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`;
      const notModified = status === 200 && req.headers['if-none-match'] === etag;
      const all: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...headers };
      if (status === 200) all.etag = etag;
      if (init.rateLimit) {
        if (!notModified) used++;
        all['x-ratelimit-limit'] = String(init.rateLimit.limit);
        all['x-ratelimit-remaining'] = String(Math.max(0, init.rateLimit.limit - used));
        all['x-ratelimit-reset'] = String(Math.floor(Date.now() / 1000) + 3600);
      }
      if (notModified) {
        res.writeHead(304, all);
        res.end();
        return;
      }
      res.writeHead(status, all);
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const rec: { method: string; path: string; authorization?: string } = { method: req.method ?? 'GET', path: url.pathname + url.search };
    if (req.headers.authorization) rec.authorization = '<present>';
    requests.push(rec);
    const docs = 'https://docs.github.com/rest/packages/packages';
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) return send(401, { message: 'Requires authentication', documentation_url: docs, status: '401' });
    const token = init.tokens.find((t) => t.token === m[1]);
    if (!token) return send(401, { message: 'Bad credentials', documentation_url: docs, status: '401' });
    if (!token.scopes.includes('read:packages')) {
      return send(403, { message: 'You need at least read:packages scope to list packages.', documentation_url: docs, status: '403' });
    }
    if (init.rateLimit && used >= init.rateLimit.limit) {
      return send(403, { message: 'API rate limit exceeded for user.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api', status: '403' });
    }
    const notFound = () => send(404, { message: 'Not Found', documentation_url: docs, status: '404' });

    const route = /^\/(orgs|users)\/([^/]+)\/packages(?:\/container\/([^/]+)(\/versions)?)?$/.exec(url.pathname);
    if (!route || req.method !== 'GET') return notFound();
    const [, kind, ownerRaw, nameRaw, versionsPart] = route;
    const owner = init.owners.find((o) => o.login.toLowerCase() === decodeURIComponent(ownerRaw ?? '').toLowerCase());
    if (!owner || (kind === 'orgs') !== (owner.type === 'Organization')) return notFound();
    const canSee = (p: FakePackage) =>
      p.visibility === 'public' || token.sees === 'all' || (Array.isArray(token.sees) && token.sees.includes(`${owner.login}/${p.name}`));
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? '30'));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
    const paginate = <T>(items: T[]) => {
      const slice = items.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < items.length) {
        const next = new URL(url.pathname + url.search, base);
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return { slice, headers };
    };
    const ownerJson = { login: owner.login, type: owner.type };
    const linked = (p: FakePackage) => {
      if (!p.repository) return {};
      const [login = '', name = ''] = p.repository.split('/');
      return { repository: { id: 7, name, full_name: p.repository, private: p.visibility !== 'public', owner: { login } } };
    };

    if (!nameRaw) {
      if (url.searchParams.get('package_type') !== 'container') return send(400, { message: 'Invalid argument', status: '400' });
      const visible = owner.packages.filter(canSee);
      const { slice, headers } = paginate(visible);
      return send(200, slice.map((p, i) => ({ id: 1000 + i, name: p.name, package_type: 'container', owner: ownerJson, visibility: p.visibility, ...linked(p) })), headers);
    }
    const name = decodeURIComponent(nameRaw);
    const pkg = owner.packages.find((p) => p.name === name);
    if (!pkg || !canSee(pkg)) return notFound();
    if (!versionsPart) {
      return send(200, {
        id: 1,
        name: pkg.name,
        package_type: 'container',
        owner: ownerJson,
        visibility: pkg.visibility,
        url: `${base}/${kind}/${owner.login}/packages/container/${encodeURIComponent(pkg.name)}`,
        ...linked(pkg),
      });
    }
    const state = url.searchParams.get('state') ?? 'active';
    const versions = pkg.versions
      .filter((v) => (state === 'deleted' ? v.deletedAt !== undefined : v.deletedAt === undefined))
      .sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
    const { slice, headers } = paginate(versions);
    return send(
      200,
      slice.map((v) => ({
        id: v.id,
        name: v.digest,
        url: `${base}/versions/${v.id}`,
        package_html_url: `https://github.com/${owner.login}/packages/container/package/${pkg.name}`,
        created_at: v.updatedAt,
        updated_at: v.updatedAt,
        ...(v.deletedAt ? { deleted_at: v.deletedAt } : {}),
        metadata: { package_type: 'container', container: { tags: v.tags } },
      })),
      headers,
    );
  };
  const server = createServer((req, res) => {
    if (latency > 0) setTimeout(() => handle(req, res), latency);
    else handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    owners: init.owners,
    setLatency: (ms: number) => {
      latency = ms;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
