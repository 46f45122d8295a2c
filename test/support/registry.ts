/**
 * A real CNCF distribution registry (Debian `docker-registry`) on 127.0.0.1, port 0, with token auth served by
 * the GHCR-like fake token server (ghcr-token-server.ts), a temporary storage directory and `delete.enabled`.
 * Push helpers speak the registry API over raw HTTP (undici): single-platform OCI manifests and multi-platform
 * OCI indexes. Used by tests, the bench and demo scripts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { startGhcrTokenServer, type GhcrTokenServer, type TokenGrant, type TokenServerRequest } from './ghcr-token-server.js';

export interface LocalRegistryOptions {
  /** Repositories anonymous callers may not see (GHCR-like 403 DENIED at the token step). */
  privateRepositories?: string[];
  /** Tokens accepted as Basic passwords at the token endpoint (any username). */
  tokens?: Array<string | TokenGrant>;
  /** Token `service` (default `ghcr-test`). */
  service?: string;
  /**
   * `token` (default): Docker token auth via the GHCR-like token server. `htpasswd`: HTTP Basic with `users`
   * (bcrypt cost 4); `tokens`, `privateRepositories` and the token server are then unused.
   */
  auth?: 'token' | 'htpasswd';
  users?: Record<string, string>;
  /** Anonymous token requests for private or missing repositories: `deny` (default, 403) or `empty-token`. */
  anonymousHidden?: 'deny' | 'empty-token';
  /** Token requests with several `scope` parameters: `all` honoured (default) or only the `first`. */
  scopesHonoured?: 'all' | 'first';
}

export interface PushedManifest {
  digest: string;
  mediaType: string;
}

export interface LocalRegistry {
  /** `http://127.0.0.1:PORT`: the registry endpoint. */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT2/token`: the token realm ('' with htpasswd auth). */
  tokenUrl: string;
  storageDir: string;
  /** Every request the token server saw (authorization header included, for isolation tests). */
  tokenRequests: TokenServerRequest[];
  /** Push a single-platform OCI image manifest (distinct digest per tag); `labels` go into the config (`config.Labels`). */
  pushImage(repository: string, tag: string, options?: { platform?: string; labels?: Record<string, string> }): Promise<PushedManifest>;
  /** Push an OCI index with one manifest per platform; `attestation` adds an `unknown/unknown` entry. */
  pushIndex(repository: string, tag: string, platforms: string[], options?: { attestation?: boolean; labels?: Record<string, string> }): Promise<PushedManifest>;
  /** Push an OCI artifact (a Helm chart: config `application/vnd.cncf.helm.config.v1+json`, one chart layer). */
  pushArtifact(repository: string, tag: string, artifact: { config: { mediaType: string; content: Buffer }; layers: { mediaType: string; content: Buffer }[] }): Promise<PushedManifest>;
  /** Resolve the tag's digest and delete that manifest (registry 2.8 cannot delete by tag). */
  deleteTag(repository: string, tag: string): Promise<void>;
  setPrivate(repository: string, isPrivate: boolean): void;
  setTokens(tokens: Array<string | TokenGrant>): void;
  setAnonymousHidden(mode: 'deny' | 'empty-token'): void;
  setScopesHonoured(mode: 'all' | 'first'): void;
  stop(): Promise<void>;
}

/**
 * A throwaway RSA key and self-signed certificate for the token issuer, made with openssl once and reused for a
 * day (key generation is the slowest part of starting a registry on a busy machine). The pair lives in one file,
 * replaced atomically, and is copied into each registry's own directory.
 */
function tokenIssuerKeyPair(dir: string): { keyPath: string; certPath: string } {
  const shared = join(tmpdir(), 'ida-test-token-issuer.pem');
  const fresh = existsSync(shared) && Date.now() - statSync(shared).mtimeMs < 86_400_000;
  if (!fresh) {
    const work = mkdtempSync(join(tmpdir(), 'ida-issuer-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'k'), '-out', join(work, 'c'), '-days', '2', '-subj', '/CN=ghcr-test-token-issuer'], { stdio: 'ignore' });
    writeFileSync(join(work, 'pair'), readFileSync(join(work, 'k'), 'utf8') + readFileSync(join(work, 'c'), 'utf8'));
    renameSync(join(work, 'pair'), shared);
    rmSync(work, { recursive: true, force: true });
  }
  const pem = readFileSync(shared, 'utf8');
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(pem)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem)?.[0];
  if (!key || !cert) throw new Error(`unexpected issuer PEM in ${shared}`);
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  writeFileSync(keyPath, key);
  writeFileSync(certPath, cert);
  return { keyPath, certPath };
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ida-registry-'));
  const storageDir = join(dir, 'storage');
  const { keyPath, certPath } = tokenIssuerKeyPair(dir);
  const keyPem = readFileSync(keyPath, 'utf8');
  const certPem = readFileSync(certPath, 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

  const service = options.service ?? 'ghcr-test';
  const issuer = 'ghcr-test-issuer';
  const privateRepos = new Set(options.privateRepositories ?? []);
  let grants: TokenGrant[] = (options.tokens ?? []).map((t) => (typeof t === 'string' ? { password: t } : t));
  const pushPassword = randomBytes(16).toString('hex');
  let anonymousHidden = options.anonymousHidden ?? 'deny';
  let scopesHonoured = options.scopesHonoured ?? 'all';
  const repositoryExists = (name: string) => existsSync(join(storageDir, 'docker/registry/v2/repositories', name, '_manifests'));

  const htpasswd = options.auth === 'htpasswd';
  const tokenServer: GhcrTokenServer | undefined = htpasswd ? undefined : await startGhcrTokenServer({
    service,
    issuer,
    keyPem,
    certDer,
    repositoryExists,
    isPrivate: (n) => privateRepos.has(n),
    tokens: () => grants,
    pushPassword,
    anonymousHidden: () => anonymousHidden,
    scopesHonoured: () => scopesHonoured,
  });
  const tokenUrl = tokenServer ? `${tokenServer.url}/token` : '';
  const htpasswdPath = join(dir, 'htpasswd');
  if (htpasswd) {
    const users = { ...(options.users ?? {}), pusher: pushPassword };
    writeFileSync(htpasswdPath, Object.entries(users).map(([u, pw]) => `${u}:${bcrypt.hashSync(pw, 4)}`).join('\n') + '\n');
  }

  const configPath = join(dir, 'config.yml');
  writeFileSync(
    configPath,
    [
      'version: 0.1',
      'log: { level: info, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(storageDir)} }, delete: { enabled: true } }`,
      'http: { addr: 127.0.0.1:0, secret: local-test-secret }',
      htpasswd
        ? `auth: { htpasswd: { realm: basic-realm, path: ${JSON.stringify(htpasswdPath)} } }`
        : `auth: { token: { realm: ${JSON.stringify(tokenUrl)}, service: ${JSON.stringify(service)}, issuer: ${JSON.stringify(issuer)}, rootcertbundle: ${JSON.stringify(certPath)} } }`,
      '',
    ].join('\n'),
  );

  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`docker-registry did not start: ${seen.slice(-500)}`)), 10_000);
    timer.unref();
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(seen);
      if (m?.[1]) {
        clearTimeout(timer);
        seen = '';
        resolve(Number(m[1]));
      }
      if (seen.length > 100_000) seen = seen.slice(-10_000);
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited with ${code}: ${seen.slice(-500)}`));
    });
  });
  // Never leave a registry behind when the parent exits without calling stop().
  const killOnExit = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  // Keep draining stderr so the registry never blocks on a full pipe.
  child.stderr?.removeAllListeners('data');
  child.stderr?.on('data', () => undefined);

  const url = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connections: 16 });
  const pushTokens = new Map<string, string>();

  async function pushToken(repository: string): Promise<string> {
    const cached = pushTokens.get(repository);
    if (cached) return cached;
    const u = new URL(tokenUrl);
    u.searchParams.set('service', service);
    u.searchParams.set('scope', `repository:${repository}:pull,push,delete`);
    const res = await request(u, { dispatcher, headers: { authorization: `Basic ${Buffer.from(`pusher:${pushPassword}`).toString('base64')}` } });
    const body = (await res.body.json()) as { token: string };
    pushTokens.set(repository, body.token);
    return body.token;
  }

  async function call(repository: string, method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE', path: string, headers: Record<string, string> = {}, body?: Buffer | string) {
    const authorization = htpasswd ? `Basic ${Buffer.from(`pusher:${pushPassword}`).toString('base64')}` : `Bearer ${await pushToken(repository)}`;
    const res = await request(new URL(path, url), { dispatcher, method, headers: { ...headers, authorization }, ...(body !== undefined ? { body } : {}) });
    const text = method === 'HEAD' ? '' : await res.body.text();
    if (method === 'HEAD') await res.body.dump();
    return { status: res.statusCode, headers: res.headers, text };
  }

  const knownBlobs = new Set<string>();
  async function pushBlob(repository: string, content: Buffer): Promise<{ digest: string; size: number }> {
    const digest = sha256(content);
    if (knownBlobs.has(`${repository}@${digest}`)) return { digest, size: content.length };
    knownBlobs.add(`${repository}@${digest}`);
    const head = await call(repository, 'HEAD', `/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) return { digest, size: content.length };
    const start = await call(repository, 'POST', `/v2/${repository}/blobs/uploads/`);
    if (start.status !== 202) throw new Error(`blob upload start ${start.status}: ${start.text}`);
    const location = String(start.headers.location);
    const put = new URL(location, url);
    put.searchParams.set('digest', digest);
    const done = await call(repository, 'PUT', put.pathname + put.search, { 'content-type': 'application/octet-stream' }, content);
    if (done.status !== 201) throw new Error(`blob upload ${done.status}: ${done.text}`);
    return { digest, size: content.length };
  }

  async function putManifest(repository: string, reference: string, mediaType: string, json: unknown): Promise<PushedManifest> {
    const bytes = Buffer.from(JSON.stringify(json));
    const res = await call(repository, 'PUT', `/v2/${repository}/manifests/${reference}`, { 'content-type': mediaType }, bytes);
    if (res.status !== 201) throw new Error(`manifest put ${res.status}: ${res.text}`);
    return { digest: sha256(bytes), mediaType };
  }

  async function platformManifest(repository: string, platform: string, note: string, tag?: string, labels?: Record<string, string>): Promise<{ digest: string; size: number; mediaType: string }> {
    const [os = 'linux', architecture = 'amd64', variant] = platform.split('/');
    const layerRaw = Buffer.from(`layer for ${platform}\n`);
    const layer = await pushBlob(repository, gzipSync(layerRaw));
    const config = await pushBlob(
      repository,
      Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [sha256(layerRaw)] }, config: labels ? { Labels: labels } : {} })),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
      annotations: { 'org.example.note': note },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const pushed = await putManifest(repository, tag ?? sha256(bytes), manifest.mediaType, manifest);
    return { digest: pushed.digest, size: bytes.length, mediaType: manifest.mediaType };
  }

  return {
    url,
    host: `127.0.0.1:${port}`,
    tokenUrl,
    storageDir,
    tokenRequests: tokenServer?.requests ?? [],
    async pushImage(repository, tag, opts = {}) {
      const m = await platformManifest(repository, opts.platform ?? 'linux/amd64', `${repository}:${tag}`, tag, opts.labels);
      return { digest: m.digest, mediaType: m.mediaType };
    },
    async pushIndex(repository, tag, platforms, opts = {}) {
      const manifests: unknown[] = [];
      for (const p of platforms) {
        const m = await platformManifest(repository, p, `${repository}:${tag}:${p}`, undefined, opts.labels);
        const [os, architecture, variant] = p.split('/');
        manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os, architecture, ...(variant ? { variant } : {}) } });
      }
      if (opts.attestation) {
        const first = manifests[0] as { digest: string } | undefined;
        const att = await platformManifest(repository, 'unknown/unknown', `attestation ${tag}`);
        manifests.push({
          mediaType: att.mediaType,
          digest: att.digest,
          size: att.size,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': first?.digest ?? '' },
        });
      }
      return putManifest(repository, tag, 'application/vnd.oci.image.index.v1+json', {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      });
    },
    async pushArtifact(repository, tag, artifact) {
      const config = await pushBlob(repository, artifact.config.content);
      const layers = [];
      for (const layer of artifact.layers) {
        const pushed = await pushBlob(repository, layer.content);
        layers.push({ mediaType: layer.mediaType, digest: pushed.digest, size: pushed.size });
      }
      return putManifest(repository, tag, 'application/vnd.oci.image.manifest.v1+json', {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: artifact.config.mediaType, digest: config.digest, size: config.size },
        layers,
      });
    },
    async deleteTag(repository, tag) {
      const head = await call(repository, 'HEAD', `/v2/${repository}/manifests/${tag}`, {
        accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json',
      });
      const digest = head.headers['docker-content-digest'];
      if (head.status !== 200 || typeof digest !== 'string') throw new Error(`cannot resolve ${repository}:${tag} (${head.status})`);
      const del = await call(repository, 'DELETE', `/v2/${repository}/manifests/${digest}`);
      if (del.status !== 202) throw new Error(`delete ${repository}@${digest}: ${del.status} ${del.text}`);
    },
    setPrivate(repository, isPrivate) {
      if (isPrivate) privateRepos.add(repository);
      else privateRepos.delete(repository);
    },
    setScopesHonoured(mode) {
      scopesHonoured = mode;
    },
    setAnonymousHidden(mode) {
      anonymousHidden = mode;
    },
    setTokens(tokens) {
      grants = tokens.map((t) => (typeof t === 'string' ? { password: t } : t));
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      await dispatcher.close().catch(() => undefined);
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      await tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
