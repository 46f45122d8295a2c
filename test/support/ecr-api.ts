/**
 * STAND-IN, not a real component: a loopback server that speaks the Amazon ECR API's wire protocol (AWS JSON 1.1:
 * `POST /`, `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`, `application/x-amz-json-1.1`) for
 * the one operation the auditor calls, `GetAuthorizationToken`. No ECR implementation runs here, so the real
 * `@aws-sdk/client-ecr` talks to this over HTTP (via `AWS_ENDPOINT_URL_ECR`), signs with SigV4 as against AWS,
 * and parses our answer with its own deserializer. The registry side of ECR is played by the real Debian
 * `docker-registry` with htpasswd users (`AWS` / the password this server hands out).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EcrApiCall {
  target: string | undefined;
  /** The SigV4 credential scope's region (`.../us-east-1/ecr/aws4_request`). */
  signedRegion: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EcrApiStandIn {
  url: string;
  calls: EcrApiCall[];
  /** `ok` (default) hands out `AWS:<password>`; `denied` answers AccessDeniedException as ECR does. */
  setMode(mode: 'ok' | 'denied'): void;
  /** Seconds from now until the token expires (default 12 h, as ECR). */
  setLifetime(seconds: number): void;
  stop(): Promise<void>;
}

export async function startEcrApiStandIn(password: string): Promise<EcrApiStandIn> {
  let mode: 'ok' | 'denied' = 'ok';
  let lifetime = 12 * 3600;
  const calls: EcrApiCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.headers['x-amz-target'] as string | undefined;
      const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/ecr\/aws4_request/.exec(String(req.headers.authorization ?? ''));
      calls.push({ target, signedRegion: scope?.[1], headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = (status: number, body: unknown, errorType?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `req-${calls.length}`,
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || target !== 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') {
        return reply(400, { __type: 'UnknownOperationException', message: `stand-in only serves GetAuthorizationToken (got ${String(target)})` }, 'UnknownOperationException');
      }
      if (mode === 'denied') {
        const message =
          'User: arn:aws:sts::123456789012:assumed-role/auditor/session is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action';
        return reply(400, { __type: 'AccessDeniedException', message }, 'AccessDeniedException');
      }
      reply(200, {
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
            expiresAt: Math.floor(Date.now() / 1000) + lifetime,
            proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
          },
        ],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    setMode: (m) => {
      mode = m;
    },
    setLifetime: (s) => {
      lifetime = s;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
