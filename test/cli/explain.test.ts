/**
 * `image-drift explain`: every verdict, walked probe by probe against the real local registry
 * (docker-registry behind the GHCR-like token server) and the Packages API fake, and the incident
 * (`failed to fetch anonymous token … 403 Forbidden`) explained in one command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubPackagesServer, type GitHubPackagesServer } from '../support/github-packages-server.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { useCli } from './harness.js';

const TOKEN = 'ghp_classic_read_packages';
const INCIDENT =
  'Failed to pull image "ghcr.io/acme/auth-api:latest": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/acme/auth-api:latest": failed to resolve reference "ghcr.io/acme/auth-api:latest": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fauth-api%3Apull&service=ghcr.io: 403 Forbidden';

let registry: LocalRegistry;
let packagesApi: GitHubPackagesServer;

beforeAll(async () => {
  // auth-api is private, as in the incident; payments is public.
  registry = await startLocalRegistry({ privateRepositories: ['acme/auth-api'], tokens: [TOKEN] });
  await registry.pushImage('acme/auth-api', 'latest');
  await registry.pushImage('acme/payments', 'latest');
  await registry.pushImage('acme/payments', '3f9c2e1');
  await registry.pushIndex('acme/multi', '1.0', ['linux/amd64']);
  packagesApi = await startGitHubPackagesServer({
    owners: [
      {
        login: 'acme',
        type: 'Organization',
        packages: [
          { name: 'auth-api', visibility: 'private', versions: [] },
          { name: 'payments', visibility: 'public', versions: [] },
          { name: 'multi', visibility: 'public', versions: [] },
        ],
      },
    ],
    tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }],
  });
});

afterAll(async () => {
  await packagesApi?.stop();
  await registry?.stop();
});

/** `  3. manifest  HEAD http://…/v2/acme/payments/manifests/latest  → 200` */
function probe(stage: string, method: string, path: string, status: number, code = ''): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s+\\d+\\. ${escape(stage)}\\s+${method}\\s+http://127\\.0\\.0\\.1:\\d+${escape(path)}\\S*\\s+→ ${status}${code ? ` ${code}` : ''}\\s*$`, 'm');
}

function verdictLine(status: string, image: string): RegExp {
  return new RegExp(`^Verdict: ${status}  ${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
}

describe('image-drift explain', () => {
  const cli = useCli();
  const explain = (args: string[], env: Record<string, string | undefined> = {}) =>
    cli.run(['explain', ...args, '--registry-endpoint', `ghcr.io=${registry.url}`, '--github-api-url', packagesApi.url], env);

  it('OK: prints the token and manifest probes and the digest', async () => {
    const run = await explain(['ghcr.io/acme/payments:latest']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Probing ghcr.io\/acme\/payments:latest$/m);
    expect(run.stdout).toMatch(probe('token', 'GET', '/token?', 200));
    expect(run.stdout).toMatch(probe('manifest', 'HEAD', '/v2/acme/payments/manifests/latest', 200));
    expect(run.stdout).toMatch(verdictLine('OK', 'ghcr.io/acme/payments:latest'));
    expect(run.stdout).toMatch(/evidence: anon 200 sha256:[0-9a-f]{12}/);
  });

  it('TAG_MISSING: 404 MANIFEST_UNKNOWN, then the tag list and the nearest tags', async () => {
    const run = await explain(['ghcr.io/acme/payments:dev-latest']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(probe('manifest', 'GET', '/v2/acme/payments/manifests/dev-latest', 404, 'MANIFEST_UNKNOWN'));
    expect(run.stdout).toMatch(probe('tags', 'GET', '/v2/acme/payments/tags/list', 200));
    expect(run.stdout).toMatch(verdictLine('TAG_MISSING', 'ghcr.io/acme/payments:dev-latest'));
    expect(run.stdout).toMatch(/^ {2}tags: nearest: latest, 3f9c2e1 /m);
    expect(run.stdout).toContain('Push `dev-latest` from CI or point the manifests at an existing tag');
  });

  it('REPO_MISSING: NAME_UNKNOWN and a Packages API 404 for a token that sees every package', async () => {
    const run = await explain(['ghcr.io/acme/paymnets:latest', '--packages-token-sees-all'], { GITHUB_TOKEN: TOKEN });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(probe('tags', 'GET', '/v2/acme/paymnets/tags/list', 404, 'NAME_UNKNOWN'));
    expect(run.stdout).toMatch(probe('packages-api', 'GET', '/orgs/acme/packages/container/paymnets', 404));
    expect(run.stdout).toMatch(verdictLine('REPO_MISSING', 'ghcr.io/acme/paymnets:latest'));
    expect(run.stdout).toMatch(/did you mean: .*ghcr\.io\/acme\/payments/);
  });

  it('NOT_VISIBLE_ANONYMOUSLY: no token, a private package, 403 DENIED at the token step', async () => {
    const run = await explain(['ghcr.io/acme/auth-api:latest']);
    expect(run.stdout).toMatch(probe('token', 'GET', '/token?', 403, 'DENIED'));
    expect(run.stdout).not.toMatch(/manifest\s+HEAD/);
    expect(run.stdout).toMatch(verdictLine('NOT_VISIBLE_ANONYMOUSLY', 'ghcr.io/acme/auth-api:latest'));
    expect(run.stdout).toContain('classic PAT with read:packages');
    expect(run.code).toBe(0);
  });

  it('PRIVATE: with a token the manifest answers 200 and the Packages API says private', async () => {
    const run = await explain(['ghcr.io/acme/auth-api:latest'], { GITHUB_TOKEN: TOKEN });
    expect(run.stdout).toMatch(probe('token', 'GET', '/token?', 200));
    expect(run.stdout).toMatch(probe('manifest', 'HEAD', '/v2/acme/auth-api/manifests/latest', 200));
    // Visibility from the owner's package listing (one call per 100 packages), not a per-package call; an earlier
    // run in this process cached the page, so it may be revalidated with its ETag (304).
    expect(run.stdout).toMatch(/^\s+\d+\. packages-api\s+GET\s+http:\/\/127\.0\.0\.1:\d+\/orgs\/acme\/packages\?package_type=container\S*\s+→ (200|304)\s*$/m);
    expect(run.stdout).toMatch(verdictLine('PRIVATE', 'ghcr.io/acme/auth-api:latest'));
    expect(run.stdout).toContain('imagePullSecret');
    expect(run.stdout).not.toContain(TOKEN);
    // The method column lines up, packages-api (the longest stage) included.
    const columns = run.stdout
      .split('\n')
      .filter((line) => /^\s+\d+\. /.test(line))
      .map((line) => line.search(/ (GET|HEAD) /));
    expect(columns.length).toBeGreaterThanOrEqual(4);
    expect(new Set(columns).size).toBe(1);
  });

  it('AUTH_FAILED: a wrong token gets 401 UNAUTHORIZED at the token step', async () => {
    const run = await explain(['ghcr.io/acme/auth-api:latest'], { GITHUB_TOKEN: 'ghp_revoked_token' });
    expect(run.stdout).toMatch(probe('token', 'GET', '/token?', 401, 'UNAUTHORIZED'));
    expect(run.stdout).toMatch(verdictLine('AUTH_FAILED', 'ghcr.io/acme/auth-api:latest'));
    expect(run.stdout).toContain('env:GITHUB_TOKEN');
    expect(run.stdout).not.toContain('ghp_revoked_token');
  });

  it('PLATFORM_MISSING: --platform linux/arm64 on an amd64-only index', async () => {
    const run = await explain(['ghcr.io/acme/multi:1.0', '--platform', 'linux/arm64']);
    expect(run.stdout).toMatch(probe('manifest', 'HEAD', '/v2/acme/multi/manifests/1.0', 200));
    expect(run.stdout).toMatch(probe('manifest', 'GET', '/v2/acme/multi/manifests/sha256:', 200));
    expect(run.stdout).toMatch(verdictLine('PLATFORM_MISSING', 'ghcr.io/acme/multi:1.0'));
    expect(run.stdout).toMatch(/platforms linux\/amd64/);
  });

  it('INVALID_REFERENCE: upper case is refused before any request', async () => {
    const tokenRequests = registry.tokenRequests.length;
    const run = await explain(['ghcr.io/Acme/payments:latest']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(no request sent)');
    expect(run.stdout).not.toMatch(/^\s+1\. /m);
    expect(run.stdout).toMatch(verdictLine('INVALID_REFERENCE', 'ghcr.io/Acme/payments:latest'));
    expect(run.stdout).toContain('Write `ghcr.io/acme/payments:latest` instead');
    expect(registry.tokenRequests.length).toBe(tokenRequests);
  });

  it('--json lists every exchange with its stage, method, status and code', async () => {
    const run = await explain(['ghcr.io/acme/payments:dev-latest', '--json']);
    const json = JSON.parse(run.stdout) as { result: { status: string }; exchanges: Array<{ stage: string; method: string; status?: number; code?: string }> };
    expect(json.result.status).toBe('TAG_MISSING');
    expect(json.exchanges).toContainEqual(expect.objectContaining({ stage: 'manifest', method: 'GET', status: 404, code: 'MANIFEST_UNKNOWN' }));
    expect(json.exchanges).toContainEqual(expect.objectContaining({ stage: 'tags', method: 'GET', status: 200 }));
  });

  it('the incident: the node sent no credential, and the registry says the package is private', async () => {
    const run = await explain(['--from-event', INCIDENT], { GITHUB_TOKEN: TOKEN });
    expect(run.stdout).toMatch(/^What the cluster event says\n {2}The node asked ghcr\.io for an anonymous token and got 403: it sent no pull secret/);
    expect(run.stdout).toMatch(/^Probing ghcr.io\/acme\/auth-api:latest$/m);
    expect(run.stdout).toMatch(verdictLine('PRIVATE', 'ghcr.io/acme/auth-api:latest'));
    expect(run.stdout).toMatch(/^The node sent no credential for this registry; the registry says PRIVATE\.$/m);
  });

  it('the incident without a token: anonymous 403 reproduced, missing-or-private left open', async () => {
    const run = await explain(['--from-event', INCIDENT]);
    expect(run.stdout).toMatch(probe('token', 'GET', '/token?', 403, 'DENIED'));
    expect(run.stdout).toMatch(/^The node sent no credential for this registry; the registry says NOT_VISIBLE_ANONYMOUSLY\.$/m);
  });

  it('says so when the registry now contradicts the event (a public image that exists after an anonymous 403)', async () => {
    const event = INCIDENT.replaceAll('auth-api', 'payments');
    const run = await explain(['--from-event', event]);
    expect(run.stdout).toMatch(verdictLine('OK', 'ghcr.io/acme/payments:latest'));
    expect(run.stdout).toMatch(/^The node sent no credential for this registry; the registry says OK\.\nThat is not what this event implies \(PRIVATE, REPO_MISSING, NOT_VISIBLE_ANONYMOUSLY\): the registry has changed since the event/m);
    const agreeing = await explain(['--from-event', INCIDENT]);
    expect(agreeing.stdout).not.toContain('That is not what this event implies');
  });

  it('exits 2 when neither an image nor an event names one', async () => {
    const run = await cli.run(['explain']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name the image to explain');
  });
});
