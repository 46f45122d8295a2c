/**
 * One GitHub REST API base URL on loopback for two fakes of it: the Packages endpoints (`/orgs/…`, `/users/…`:
 * github-packages-server.ts) and the repository endpoints (`/repos/…`: github-server.ts). The auditor uses one
 * `github.baseUrl` for both, as with api.github.com. Requests and answers pass through unchanged (method, path,
 * headers, status, body); it is a plain HTTP forwarder, not a fake of anything.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubApiRouter {
  /** What to pass as `github.baseUrl` / `--github-api-url`. */
  url: string;
  stop(): Promise<void>;
}

export async function startGitHubApiRouter(upstreams: { packages: string; repositories: string }): Promise<GitHubApiRouter> {
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const target = new URL(path, /^\/(?:orgs|users)\//.test(path) ? upstreams.packages : upstreams.repositories);
    const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };
  const server = createServer(forward);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
