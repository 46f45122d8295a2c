/**
 * A FAKE of the AWS Secrets Manager wire protocol on loopback (127.0.0.1, port 0), for GetSecretValue only.
 * Point the real `SecretsManagerClient` at it with `endpoint`. It speaks JSON 1.1, as the service does:
 *
 *   POST /   X-Amz-Target: secretsmanager.GetSecretValue   Content-Type: application/x-amz-json-1.1
 *   body  {"SecretId": "<arn or name>"}
 *   200   {"ARN", "Name", "SecretString", "VersionId", "VersionStages": ["AWSCURRENT"], "CreatedDate"}
 *   400   {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}
 *
 * Any other target answers 400 UnknownOperationException. Signatures are not checked. Secrets can be
 * replaced while running (`setSecret`), as a rotation would; every request is recorded (SecretId only).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  endpoint: string;
  /** SecretIds asked for, in order. */
  requests: string[];
  /** Adds or replaces a secret; `id` is its ARN (its name is the ARN's last segment). */
  setSecret(id: string, secretString: string): void;
  stop(): Promise<void>;
}

interface StoredSecret {
  arn: string;
  name: string;
  secretString: string;
  versionId: string;
}

const JSON_11 = 'application/x-amz-json-1.1';

export async function startFakeSecretsManager(initial: Record<string, string> = {}): Promise<FakeSecretsManager> {
  const secrets = new Map<string, StoredSecret>();
  const requests: string[] = [];
  const setSecret = (id: string, secretString: string) => {
    const name = id.startsWith('arn:') ? (id.split(':').slice(6).join(':') || id) : id;
    const stored = { arn: id, name, secretString, versionId: randomUUID() };
    secrets.set(id, stored);
    secrets.set(name, stored);
  };
  for (const [id, value] of Object.entries(initial)) setSecret(id, value);

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
        reply(res, 400, { __type: 'UnknownOperationException', message: `unsupported operation ${String(target)}` });
        return;
      }
      let secretId: unknown;
      try {
        secretId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: unknown }).SecretId;
      } catch {
        reply(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
        return;
      }
      if (typeof secretId !== 'string' || secretId === '') {
        reply(res, 400, { __type: 'InvalidParameterException', message: 'SecretId is required' });
        return;
      }
      requests.push(secretId);
      const secret = secrets.get(secretId);
      if (!secret) {
        reply(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return;
      }
      reply(res, 200, {
        ARN: secret.arn,
        Name: secret.name,
        SecretString: secret.secretString,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Math.floor(Date.now() / 1000),
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    setSecret,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
