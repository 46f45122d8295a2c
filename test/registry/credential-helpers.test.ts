/**
 * Docker credential helpers as Docker runs them: a real `docker-credential-*` program on PATH (a shell script
 * speaking the helper protocol: server address on stdin, JSON on stdout, "credentials not found in native
 * keychain" when it has nothing), `credHelpers` per host and `credsStore` for the rest, against the real
 * docker-registry with htpasswd users.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import { runCredentialHelper } from '../../lambdas/engine/registry/credential-helper.js';
import { loadRegistryCredentials } from '../../lambdas/engine/registry/credentials.js';
import type { ImageReference } from '../../lambdas/engine/model.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from '../cli/harness.js';

const PASSWORD = 'helper-secret-5d1c7e9a20b4';
const HOST = 'registry.example.com';
const OTHER = 'other.example.com';

let registry: LocalRegistry;
let binDir: string;
let logFile: string;
const savedPath = process.env.PATH;

/**
 * `docker-credential-<name>`: answers for the hosts in its table, "not found" for others; `broken` fails like a
 * locked keychain, `slow` never answers. Every call appends its argv and stdin to the log.
 */
function installHelper(name: string, table: Record<string, { user: string; secret: string }>): void {
  const cases = Object.entries(table)
    .map(([server, c]) => `  '${server}') printf '{"ServerURL":"%s","Username":"${c.user}","Secret":"${c.secret}"}' "$server" ;;`)
    .join('\n');
  const script = `#!/bin/sh
read -r server
echo "${name} $* <$server>" >> '${logFile}'
case "$server" in
${cases}
  'broken.example.com') echo "error getting credentials - err: exit status 1, out: \\\`GDBus.Error: The keyring is locked\\\`"; exit 1 ;;
  'slow.example.com') sleep 30 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  const path = join(binDir, `docker-credential-${name}`);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

function dockerConfig(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ida-helper-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  return dir;
}

function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(text);
  return p.ref;
}

beforeAll(async () => {
  registry = await startLocalRegistry({ auth: 'htpasswd', users: { robot: PASSWORD } });
  await registry.pushImage('team/app', 'v1');
  binDir = mkdtempSync(join(tmpdir(), 'ida-helper-bin-'));
  logFile = join(binDir, 'calls.log');
  installHelper('teststore', { [HOST]: { user: 'robot', secret: PASSWORD } });
  installHelper('perhost', { [OTHER]: { user: 'robot', secret: PASSWORD } });
  process.env.PATH = `${binDir}:${savedPath ?? '/usr/bin:/bin'}`;
}, 60_000);

afterAll(async () => {
  process.env.PATH = savedPath;
  await registry?.stop();
});

beforeEach(() => writeFileSync(logFile, ''));

const calls = () => readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean);

function checker(credentials: Awaited<ReturnType<typeof loadRegistryCredentials>>) {
  return createImageChecker({ endpoints: { [HOST]: registry.url, [OTHER]: registry.url, 'broken.example.com': registry.url }, github: { enabled: false }, credentials });
}

describe('the helper protocol', () => {
  it('sends the server address on stdin, never on the command line, and reads Username/Secret', async () => {
    const r = await runCredentialHelper('teststore', HOST);
    expect(r).toEqual({ found: true, credential: { username: 'robot', secret: PASSWORD, kind: 'basic' } });
    expect(calls()).toEqual([`teststore get <${HOST}>`]);
  });

  it('asks for Docker Hub under its legacy index address', async () => {
    await runCredentialHelper('teststore', 'docker.io');
    expect(calls()).toEqual(['teststore get <https://index.docker.io/v1/>']);
  });

  it('treats "credentials not found" as no credential, and a failing or hung helper as a problem', async () => {
    expect(await runCredentialHelper('teststore', 'nothing.example.com')).toEqual({ found: false });
    const broken = await runCredentialHelper('teststore', 'broken.example.com');
    expect(broken).toMatchObject({ found: false, problem: { kind: 'unavailable', source: 'docker-credential-teststore' } });
    expect(JSON.stringify(broken)).toMatch(/keyring is locked/);
    const slow = await runCredentialHelper('teststore', 'slow.example.com', { timeoutMs: 300 });
    expect(slow).toMatchObject({ found: false, problem: { kind: 'transient', message: expect.stringMatching(/did not answer within 300 ms/) } });
    const missing = await runCredentialHelper('not-installed', HOST);
    expect(missing).toMatchObject({ found: false, problem: { kind: 'unavailable', message: expect.stringMatching(/not on PATH/) } });
  });

  it('refuses helper names that are paths or shell text', async () => {
    const r = await runCredentialHelper('../../bin/sh', HOST);
    expect(r).toMatchObject({ found: false, problem: { message: expect.stringMatching(/invalid credential helper name/) } });
    expect(calls()).toEqual([]);
  });
});

describe('credHelpers and credsStore as Docker resolves them', () => {
  it('credHelpers[host] wins over credsStore, credsStore serves every other host, and auths are not read under a store', async () => {
    const dir = dockerConfig({
      auths: { [HOST]: { auth: Buffer.from('robot:stale-password-in-file').toString('base64') } },
      credsStore: 'teststore',
      credHelpers: { [OTHER]: 'perhost' },
    });
    const credentials = await loadRegistryCredentials({ env: { DOCKER_CONFIG: dir }, ecr: false });
    expect(credentials.sourceFor(HOST)).toBe('docker-credential-teststore');
    expect(credentials.sourceFor(OTHER)).toBe('docker-credential-perhost');
    const results = await checker(credentials).check([ref(`${HOST}/team/app:v1`), ref(`${HOST}/team/app:v2`), ref(`${HOST}/team/nope:v1`), ref(`${OTHER}/team/app:v1`)]);
    expect(results.map((r) => r.status)).toEqual(['OK', 'TAG_MISSING', 'REPO_MISSING', 'OK']);
    // One helper run per host, whatever the number of images.
    expect(calls().sort()).toEqual([`perhost get <${OTHER}>`, `teststore get <${HOST}>`]);
  });

  it('a store without an entry means anonymous, as in Docker', async () => {
    const dir = dockerConfig({ credsStore: 'perhost' });
    const credentials = await loadRegistryCredentials({ env: { DOCKER_CONFIG: dir }, ecr: false });
    const [r] = await checker(credentials).check([ref(`${HOST}/team/app:v1`)]);
    expect(r?.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(r?.evidence.credentialProblem).toBeUndefined();
  });

  it('a failing helper becomes evidence and a hint on the verdict, never a crash', async () => {
    const dir = dockerConfig({ credHelpers: { 'broken.example.com': 'teststore' } });
    const credentials = await loadRegistryCredentials({ env: { DOCKER_CONFIG: dir }, ecr: false });
    const [r] = await checker(credentials).check([ref('broken.example.com/team/app:v1')]);
    expect(r?.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(r?.evidence.credentialProblem).toMatchObject({ kind: 'unavailable', source: 'docker-credential-teststore' });
    expect(r?.hint).toMatch(/comes from docker-credential-teststore, which could not give one: .*keyring is locked/);
  });
});

describe('credential helpers through the CLI', () => {
  const cli = useCli();
  it.each(['table', 'json', 'sarif', 'markdown'])('the helper secret appears in no %s output', async (format) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', [`${HOST}/team/app:v1`, `${HOST}/team/app:v7`]) });
    mkdirSync(join(cli.dir, 'dc'), { recursive: true });
    writeFileSync(join(cli.dir, 'dc', 'config.json'), JSON.stringify({ credHelpers: { [HOST]: 'teststore' } }));
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `${HOST}=${registry.url}`, '--format', format, '--no-history'], {
      DOCKER_CONFIG: join(cli.dir, 'dc'),
    });
    // TAG_MISSING needs the helper's credential: anonymously this registry answers 401 for everything.
    expect(run.stdout + run.stderr).toMatch(/TAG_MISSING/);
    for (const secret of [PASSWORD, Buffer.from(`robot:${PASSWORD}`).toString('base64')]) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });
});
