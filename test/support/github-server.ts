/**
 * A fake of GitHub's REST API, and of codeload.github.com, on loopback (127.0.0.1, port 0), for
 * the GitHub source's tests. It speaks GitHub's documented wire format for the endpoints the
 * source calls, and nothing else:
 *
 *   GET {prefix}/repos/{owner}/{repo}                  "Get a repository": JSON, ETag, If-None-Match → 304
 *   GET {prefix}/repos/{owner}/{repo}/commits/{ref}    "Get a commit": with `Accept: application/vnd.github.sha`
 *                                                       the SHA as text, else JSON; ETag/304; unknown ref → 422
 *   GET {prefix}/repos/{owner}/{repo}/tarball/{ref}    "Download a repository archive (tar)": 302 to the codeload
 *                                                       server (private repositories: a signed `?token=` URL)
 *   GET /{owner}/{repo}/legacy.tar.gz/{sha}            codeload (second server): the gzip'd archive
 *
 * With `archivesOnApiHost` (GitHub Enterprise Server), the tarball endpoint redirects to
 * `/_codeload/...` on the API server itself. `{prefix}` is '' (github.com) or '/api/v3' (GHES).
 *
 * Like GitHub: every API answer carries `x-ratelimit-*` headers and 304s do not count against the
 * limit; an exhausted limit answers 403 with `x-ratelimit-remaining: 0`; a private repository
 * answers 404 without a token and a wrong token answers 401 "Bad credentials"; path parameters
 * arrive percent-encoded (octokit encodes `/` in refs) and are decoded.
 * None of these endpoints paginate, so no `Link` header is sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepository {
  owner: string;
  name: string;
  private?: boolean;
  defaultBranch: string;
  /** Branch and tag names → commit SHA. */
  refs: Record<string, string>;
  /** Commit SHA → gzip'd tar as `git archive`/codeload produce it (one top-level directory). */
  archives: Record<string, Buffer>;
}

export interface RecordedRequest {
  server: 'api' | 'codeload';
  method: string;
  /** Decoded path without the query string (and without the API prefix). */
  path: string;
  authorization?: string;
  ifNoneMatch?: string;
  status: number;
}

export interface FakeGitHubOptions {
  /** API path prefix: '' for github.com, '/api/v3' for GitHub Enterprise Server. */
  pathPrefix?: string;
  /** The one token the fake accepts. */
  token?: string;
  /** Serve archives from the API host (`/_codeload/...`) instead of a second server. */
  archivesOnApiHost?: boolean;
  rateLimit?: number;
  /**
   * How "Get a commit" answers the `sha` media type: `sha` (GitHub), `json` (a server that ignores the
   * media type and sends the commit object), `empty` (a proxy that drops the body: 200, nothing in it).
   */
  commitLookup?: 'sha' | 'json' | 'empty';
  /** A hostile or misconfigured server: redirect archive downloads to this base URL instead of codeload. */
  archiveRedirectBase?: string;
}

export interface FakeGitHub {
  /** What to pass as the source's baseUrl (prefix included). */
  readonly baseUrl: string;
  readonly codeloadUrl: string;
  readonly requests: RecordedRequest[];
  readonly rateLimit: { limit: number; remaining: number; reset: number };
  addRepository(repository: FakeRepository): void;
  /** Moves (or creates) a ref, optionally adding the archive of its new commit. */
  setRef(owner: string, name: string, ref: string, sha: string, archive?: Buffer): void;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const prefix = options.pathPrefix ?? '';
  const repositories = new Map<string, FakeRepository>();
  const signedUrls = new Set<string>();
  const requests: RecordedRequest[] = [];
  const rateLimit = { limit: options.rateLimit ?? 5000, remaining: options.rateLimit ?? 5000, reset: Math.floor(Date.now() / 1000) + 3600 };

  const api = createServer((request, response) => {
    handleApi(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: String(error) }));
    });
  });
  const codeload = options.archivesOnApiHost ? undefined : createServer((request, response) => handleCodeload(request, response, 'codeload', ''));
  const apiUrl = await listen(api);
  const codeloadUrl = codeload ? await listen(codeload) : `${apiUrl}/_codeload`;

  function record(request: IncomingMessage, server: RecordedRequest['server'], path: string, status: number): void {
    const entry: RecordedRequest = { server, method: request.method ?? 'GET', path, status };
    if (request.headers.authorization !== undefined) entry.authorization = request.headers.authorization;
    const etag = request.headers['if-none-match'];
    if (typeof etag === 'string') entry.ifNoneMatch = etag;
    requests.push(entry);
  }

  function rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-remaining': String(rateLimit.remaining),
      'x-ratelimit-reset': String(rateLimit.reset),
      'x-ratelimit-used': String(rateLimit.limit - rateLimit.remaining),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
    };
  }

  /** Sends a JSON (or text) body with an ETag, or 304 when If-None-Match matches; 304s are free. */
  function send(request: IncomingMessage, response: ServerResponse, path: string, status: number, body: string, contentType: string, withEtag: boolean): void {
    const headers: Record<string, string> = { ...rateHeaders(), 'content-type': contentType, vary: 'Accept, Authorization, Cookie, X-GitHub-OTP' };
    if (withEtag) {
      const etag = `W/"${createHash('sha256').update(contentType).update(body).digest('hex')}"`;
      headers.etag = etag;
      if (request.headers['if-none-match'] === etag) {
        record(request, 'api', path, 304);
        response.writeHead(304, headers);
        response.end();
        return;
      }
    }
    rateLimit.remaining = Math.max(0, rateLimit.remaining - 1);
    headers['x-ratelimit-remaining'] = String(rateLimit.remaining);
    headers['x-ratelimit-used'] = String(rateLimit.limit - rateLimit.remaining);
    record(request, 'api', path, status);
    response.writeHead(status, headers);
    response.end(body);
  }

  function error(request: IncomingMessage, response: ServerResponse, path: string, status: number, message: string, docs = DOCS): void {
    send(request, response, path, status, JSON.stringify({ message, documentation_url: docs, status: String(status) }), 'application/json; charset=utf-8', false);
  }

  /** GitHub's answer to a credential: 'ok', 'anonymous' or 'bad' (a token that is not the one). */
  function credential(request: IncomingMessage): 'ok' | 'anonymous' | 'bad' {
    const header = request.headers.authorization;
    if (header === undefined) return 'anonymous';
    const match = /^(?:token|bearer)\s+(.+)$/i.exec(header);
    return match && options.token !== undefined && match[1] === options.token ? 'ok' : 'bad';
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', apiUrl);
    if (options.archivesOnApiHost && url.pathname.startsWith('/_codeload/')) {
      handleCodeload(request, response, 'api', '/_codeload');
      return;
    }
    if (!url.pathname.startsWith(`${prefix}/`)) {
      error(request, response, url.pathname, 404, 'Not Found');
      return;
    }
    const segments = url.pathname.slice(prefix.length).split('/').slice(1).map(decodeURIComponent);
    const path = `/${segments.join('/')}`;
    if (request.method !== 'GET') {
      error(request, response, path, 404, 'Not Found');
      return;
    }
    if (rateLimit.remaining === 0) {
      error(
        request,
        response,
        path,
        403,
        `API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)`,
        'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
      );
      return;
    }
    const auth = credential(request);
    if (auth === 'bad') {
      error(request, response, path, 401, 'Bad credentials');
      return;
    }
    const [first, owner = '', name = '', resource, ...rest] = segments;
    const repository = first === 'repos' ? repositories.get(`${owner}/${name}`.toLowerCase()) : undefined;
    if (repository === undefined || (repository.private && auth !== 'ok')) {
      error(request, response, path, 404, 'Not Found', `${DOCS}/repos/repos#get-a-repository`);
      return;
    }
    if (resource === undefined) {
      send(request, response, path, 200, JSON.stringify(repositoryJson(repository)), 'application/json; charset=utf-8', true);
      return;
    }
    const ref = rest.join('/');
    const sha = resolveRef(repository, ref);
    if (resource === 'commits' && ref !== '') {
      if (sha === undefined) {
        error(request, response, path, 422, `No commit found for SHA: ${ref}`, `${DOCS}/commits/commits#get-a-commit`);
      } else if (options.commitLookup === 'empty') {
        send(request, response, path, 200, '', 'application/vnd.github.sha; charset=utf-8', true);
      } else if (request.headers.accept === 'application/vnd.github.sha' && options.commitLookup !== 'json') {
        send(request, response, path, 200, sha, 'application/vnd.github.sha; charset=utf-8', true);
      } else {
        send(request, response, path, 200, JSON.stringify({ sha, node_id: 'C_fake', commit: { message: 'commit', tree: { sha: sha.split('').reverse().join('') } } }), 'application/json; charset=utf-8', true);
      }
      return;
    }
    if (resource === 'tarball') {
      if (sha === undefined || repository.archives[sha] === undefined) {
        error(request, response, path, 404, 'Not Found', `${DOCS}/repos/contents#download-a-repository-archive-tar`);
        return;
      }
      let location = `${options.archiveRedirectBase ?? codeloadUrl}/${repository.owner}/${repository.name}/legacy.tar.gz/${sha}`;
      if (repository.private) {
        const signed = randomBytes(12).toString('hex');
        signedUrls.add(signed);
        location += `?token=${signed}`;
      }
      rateLimit.remaining -= 1;
      record(request, 'api', path, 302);
      response.writeHead(302, { ...rateHeaders(), location, 'content-length': '0' });
      response.end();
      return;
    }
    error(request, response, path, 404, 'Not Found');
  }

  function handleCodeload(request: IncomingMessage, response: ServerResponse, server: RecordedRequest['server'], base: string): void {
    const url = new URL(request.url ?? '/', 'http://codeload.invalid');
    const path = url.pathname.slice(base.length);
    const [, owner = '', name = '', kind, sha = ''] = path.split('/');
    const repository = repositories.get(`${owner}/${name}`.toLowerCase());
    const archive = kind === 'legacy.tar.gz' ? repository?.archives[sha] : undefined;
    const signature = url.searchParams.get('token');
    const allowed = repository !== undefined && (!repository.private || (signature !== null && signedUrls.has(signature)));
    if (archive === undefined || !allowed) {
      record(request, server, path, 404);
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('404: Not Found');
      return;
    }
    record(request, server, path, 200);
    response.writeHead(200, {
      'content-type': 'application/x-gzip',
      'content-disposition': `attachment; filename=${owner}-${name}-${sha.slice(0, 7)}.tar.gz`,
      'content-length': String(archive.length),
    });
    response.end(archive);
  }

  return {
    baseUrl: `${apiUrl}${prefix}`,
    codeloadUrl,
    requests,
    rateLimit,
    addRepository(repository) {
      repositories.set(`${repository.owner}/${repository.name}`.toLowerCase(), repository);
    },
    setRef(owner, name, ref, sha, archive) {
      const repository = repositories.get(`${owner}/${name}`.toLowerCase());
      if (repository === undefined) throw new Error(`no repository ${owner}/${name}`);
      repository.refs[ref] = sha;
      if (archive !== undefined) repository.archives[sha] = archive;
    },
    async close() {
      await Promise.all([api, codeload].map((server) => (server ? closeServer(server) : undefined)));
    },
  };
}

function resolveRef(repository: FakeRepository, ref: string): string | undefined {
  const named = repository.refs[ref] ?? repository.refs[ref.replace(/^refs\/(?:heads|tags)\//, '')];
  if (named !== undefined) return named;
  if (ref === 'HEAD') return repository.refs[repository.defaultBranch];
  if (/^[0-9a-f]{7,40}$/.test(ref)) {
    const matches = Object.keys(repository.archives).filter((sha) => sha.startsWith(ref));
    return matches.length === 1 ? matches[0] : undefined;
  }
  return undefined;
}

function repositoryJson(repository: FakeRepository): Record<string, unknown> {
  const fullName = `${repository.owner}/${repository.name}`;
  return {
    id: 1296269,
    node_id: 'R_fake',
    name: repository.name,
    full_name: fullName,
    private: repository.private ?? false,
    visibility: repository.private ? 'private' : 'public',
    owner: { login: repository.owner, id: 1, type: 'Organization' },
    html_url: `https://github.com/${fullName}`,
    default_branch: repository.defaultBranch,
    archived: false,
    disabled: false,
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
