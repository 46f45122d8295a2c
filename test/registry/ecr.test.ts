/**
 * Amazon ECR through the real AWS SDK v3 ECR client: GetAuthorizationToken goes to a loopback stand-in of the ECR
 * API (test/support/ecr-api.ts, reached through the standard AWS_ENDPOINT_URL_ECR override), and the registry side
 * of ECR is the real Debian docker-registry with htpasswd (Basic `AWS:<password>`, as ECR's registry takes it).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createImageChecker, parseImageReference } from '../../lambdas/engine/diagnose/index.js';
import { RegistryCredentials } from '../../lambdas/engine/registry/credentials.js';
import { missingIamAction, parseEcrHost } from '../../lambdas/engine/registry/ecr.js';
import type { ImageReference } from '../../lambdas/engine/model.js';
import { startEcrApiStandIn, type EcrApiStandIn } from '../support/ecr-api.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from '../cli/harness.js';

const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ECR_PASSWORD = 'ecr-password-7f3a9c1e5b2d8064';

let registry: LocalRegistry;
let ecrApi: EcrApiStandIn;
const savedEnv = { ...process.env };

beforeAll(async () => {
  registry = await startLocalRegistry({ auth: 'htpasswd', users: { AWS: ECR_PASSWORD } });
  await registry.pushImage('team/app', 'v1');
  ecrApi = await startEcrApiStandIn(ECR_PASSWORD);
  // The SDK's default chain: static keys from the environment; never the instance metadata service.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ECR: ecrApi.url,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETESTONLY',
    AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}, 60_000);

afterAll(async () => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  await ecrApi?.stop();
  await registry?.stop();
});

beforeEach(() => {
  ecrApi.setMode('ok');
  ecrApi.setLifetime(12 * 3600);
  ecrApi.calls.length = 0;
});

function ref(text: string): ImageReference {
  const p = parseImageReference(text);
  if (!p.ok) throw new Error(text);
  return p.ref;
}

function checker(credentials = new RegistryCredentials()) {
  return createImageChecker({ endpoints: { [ECR_HOST]: registry.url }, github: { enabled: false }, credentials });
}

describe('ECR hosts', () => {
  it('recognises private ECR hosts (commercial, China, FIPS, dual-stack) and nothing else', () => {
    expect(parseEcrHost(ECR_HOST)).toEqual({ account: '123456789012', region: 'us-east-1', fips: false });
    expect(parseEcrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')?.region).toBe('cn-north-1');
    expect(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toMatchObject({ region: 'us-gov-west-1', fips: true });
    expect(parseEcrHost('123456789012.dkr-ecr.eu-west-1.on.aws')?.region).toBe('eu-west-1');
    expect(parseEcrHost('public.ecr.aws')).toBeUndefined();
    expect(parseEcrHost('12345.dkr.ecr.us-east-1.amazonaws.com')).toBeUndefined();
    expect(parseEcrHost('123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example')).toBeUndefined();
  });

  it('names the IAM action of an AWS "not authorized to perform" message', () => {
    expect(missingIamAction('User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:…')).toBe('ecr:BatchGetImage');
    expect(missingIamAction('manifest unknown')).toBeUndefined();
  });
});

describe('Amazon ECR via GetAuthorizationToken (real SDK, stand-in API, real registry)', () => {
  it('gets OK, TAG_MISSING and REPO_MISSING right with a token from GetAuthorizationToken, signed for the image region', async () => {
    const results = await checker().check([ref(`${ECR_HOST}/team/app:v1`), ref(`${ECR_HOST}/team/app:v2`), ref(`${ECR_HOST}/team/gone:v1`)]);
    expect(results.map((r) => [r.image.split('/').slice(1).join('/'), r.status])).toEqual([
      ['team/app:v1', 'OK'],
      ['team/app:v2', 'TAG_MISSING'],
      ['team/gone:v1', 'REPO_MISSING'],
    ]);
    expect(results[0]?.evidence.authenticated).toMatchObject({ http: 200 });
    // One token for the whole run, asked in the image's region, through the real SDK's SigV4 signer.
    expect(ecrApi.calls).toHaveLength(1);
    expect(ecrApi.calls[0]).toMatchObject({ target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', signedRegion: 'us-east-1' });
  });

  it('reuses the token until shortly before it expires, then asks again', async () => {
    const credentials = new RegistryCredentials();
    await checker(credentials).check([ref(`${ECR_HOST}/team/app:v1`)]);
    await checker(credentials).check([ref(`${ECR_HOST}/team/app:v1`)]);
    expect(ecrApi.calls).toHaveLength(1);

    ecrApi.setLifetime(120); // inside the five-minute renewal margin: never cached
    const shortLived = new RegistryCredentials();
    const [first] = await checker(shortLived).check([ref(`${ECR_HOST}/team/app:v1`)]);
    const [second] = await checker(shortLived).check([ref(`${ECR_HOST}/team/app:v1`)]);
    expect([first?.status, second?.status]).toEqual(['OK', 'OK']);
    expect(ecrApi.calls).toHaveLength(3);
  });

  it('reports AUTH_FAILED naming ecr:GetAuthorizationToken when IAM refuses the token', async () => {
    ecrApi.setMode('denied');
    const [r] = await checker().check([ref(`${ECR_HOST}/team/app:v1`)]);
    expect(r?.status).toBe('AUTH_FAILED');
    expect(r?.hint).toMatch(/aws ecr:GetAuthorizationToken, which was refused/);
    expect(r?.hint).toContain('`ecr:GetAuthorizationToken`');
    expect(r?.evidence.credentialProblem).toMatchObject({ kind: 'denied', missingPermission: 'ecr:GetAuthorizationToken' });
    // The probe went on anonymously, as a node without credentials would: the registry's 401 is the evidence.
    expect(r?.evidence.anonymous).toMatchObject({ http: 401 });
  });

  it('asks AWS for no host the config sets to ecr: false, and for no non-ECR host', async () => {
    const credentials = new RegistryCredentials({ ecr: { disabledHosts: [ECR_HOST] } });
    const [r] = await checker(credentials).check([ref(`${ECR_HOST}/team/app:v1`)]);
    expect(r?.status).toBe('NOT_VISIBLE_ANONYMOUSLY');
    expect(ecrApi.calls).toHaveLength(0);
  });
});

describe('ECR through the CLI: the password appears in no output format', () => {
  const cli = useCli();
  it.each(['table', 'json', 'sarif', 'markdown'])('%s', async (format) => {
    const root = `${cli.dir}/gitops`;
    writeTree(root, { 'deploy/app.yaml': deployment('app', [`${ECR_HOST}/team/app:v1`, `${ECR_HOST}/team/app:v9`]) });
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `${ECR_HOST}=${registry.url}`, '--format', format, '--no-history']);
    expect(run.stdout).toContain('team/app');
    expect(run.stdout + run.stderr).toMatch(/TAG_MISSING/);
    const base64 = Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64');
    for (const secret of [ECR_PASSWORD, base64]) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });
});
