import { describe, expect, it } from 'vitest';
import { interpretPullEvent, lowerCaseSuggestion, type PullCause, type PullEventInterpretation } from '../../lambdas/engine/diagnose/pull-events.js';

const INCIDENT =
  'Failed to pull image "ghcr.io/acme/auth-api:latest": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/acme/auth-api:latest": failed to resolve reference "ghcr.io/acme/auth-api:latest": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fauth-api%3Apull&service=ghcr.io: 403 Forbidden';

interface Case {
  name: string;
  line: string;
  expected: Partial<Pick<PullEventInterpretation, 'kind' | 'stage' | 'credentialsSent' | 'image' | 'registry' | 'http'>>;
  likely: PullCause[];
  ruledOut?: PullCause[];
}

const CASES: Case[] = [
  {
    name: 'containerd anonymous token 403 on ghcr.io (the incident): missing or private, no credential sent',
    line: INCIDENT,
    expected: { kind: 'anonymous-token-denied', stage: 'auth', credentialsSent: false, image: 'ghcr.io/acme/auth-api:latest', registry: 'ghcr.io', http: 403 },
    likely: ['REPO_MISSING', 'PRIVATE_NO_CREDENTIALS'],
    ruledOut: ['INVALID_REFERENCE', 'CREDENTIALS_REJECTED', 'TAG_MISSING'],
  },
  {
    name: 'older containerd anonymous token 401 without the request URL',
    line: 'Failed to pull image "ghcr.io/acme/private-tool:v2": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/acme/private-tool:v2": failed to resolve reference "ghcr.io/acme/private-tool:v2": failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized',
    expected: { kind: 'anonymous-token-denied', credentialsSent: false, http: 401, registry: 'ghcr.io' },
    likely: ['REPO_MISSING', 'PRIVATE_NO_CREDENTIALS'],
    ruledOut: ['CREDENTIALS_REJECTED'],
  },
  {
    name: 'containerd oauth token 403: a credential was sent and lacks access',
    line: 'Failed to pull image "ghcr.io/acme/billing-worker:1.4.2": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/acme/billing-worker:1.4.2": failed to resolve reference "ghcr.io/acme/billing-worker:1.4.2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fbilling-worker%3Apull&service=ghcr.io: 403 Forbidden',
    expected: { kind: 'oauth-token-denied', stage: 'auth', credentialsSent: true, http: 403 },
    likely: ['CREDENTIALS_REJECTED', 'REPO_MISSING'],
    ruledOut: ['PRIVATE_NO_CREDENTIALS', 'INVALID_REFERENCE'],
  },
  {
    name: 'containerd oauth token 401: the pull secret is wrong or expired',
    line: 'failed to resolve reference "ghcr.io/acme/billing-worker:1.4.2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fbilling-worker%3Apull&service=ghcr.io: 401 Unauthorized',
    expected: { kind: 'oauth-token-unauthorized', credentialsSent: true, http: 401, image: 'ghcr.io/acme/billing-worker:1.4.2' },
    likely: ['CREDENTIALS_REJECTED', 'REPO_MISSING'],
    ruledOut: ['PRIVATE_NO_CREDENTIALS'],
  },
  {
    name: 'Docker Hub pull access denied: missing repository or private',
    line: 'Failed to pull image "acme/internal-tool:1.0": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/acme/internal-tool:1.0": failed to resolve reference "docker.io/acme/internal-tool:1.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
    expected: { kind: 'pull-access-denied', stage: 'auth', credentialsSent: 'unknown', image: 'acme/internal-tool:1.0', registry: 'docker.io' },
    likely: ['REPO_MISSING', 'PRIVATE_NO_CREDENTIALS'],
    ruledOut: ['INVALID_REFERENCE'],
  },
  {
    name: 'containerd "not found": the tag is missing in a repository the node may read',
    line: 'Failed to pull image "ghcr.io/acme/auth-api:dev-latest": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/auth-api:dev-latest": failed to resolve reference "ghcr.io/acme/auth-api:dev-latest": ghcr.io/acme/auth-api:dev-latest: not found',
    expected: { kind: 'manifest-not-found', stage: 'manifest', image: 'ghcr.io/acme/auth-api:dev-latest' },
    likely: ['TAG_MISSING', 'REPO_MISSING'],
    ruledOut: ['PRIVATE_NO_CREDENTIALS', 'CREDENTIALS_REJECTED', 'INVALID_REFERENCE'],
  },
  {
    name: 'CRI-O manifest unknown',
    line: 'Failed to pull image "ghcr.io/acme/web:2.3.1": rpc error: code = Unknown desc = reading manifest 2.3.1 in ghcr.io/acme/web: manifest unknown',
    expected: { kind: 'manifest-not-found', image: 'ghcr.io/acme/web:2.3.1' },
    likely: ['TAG_MISSING', 'REPO_MISSING'],
  },
  {
    name: 'Docker engine manifest unknown',
    line: 'Error response from daemon: manifest for ghcr.io/acme/web:2.3.1 not found: manifest unknown: manifest unknown',
    expected: { kind: 'manifest-not-found', image: 'ghcr.io/acme/web:2.3.1', registry: 'ghcr.io' },
    likely: ['TAG_MISSING', 'REPO_MISSING'],
  },
  {
    name: 'registry NAME_UNKNOWN: the repository does not exist',
    line: 'Failed to pull image "registry.acme.io/team/api:1.0": rpc error: code = Unknown desc = reading manifest 1.0 in registry.acme.io/team/api: name unknown: repository name not known to registry',
    expected: { kind: 'repository-not-found', registry: 'registry.acme.io' },
    likely: ['REPO_MISSING'],
    ruledOut: ['PRIVATE_NO_CREDENTIALS'],
  },
  {
    name: 'containerd no match for platform, not a missing tag',
    line: 'Failed to pull image "ghcr.io/acme/web:2.3.0": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/web:2.3.0": no match for platform in manifest: not found',
    expected: { kind: 'platform-missing', stage: 'platform' },
    likely: ['PLATFORM_MISSING'],
    ruledOut: ['TAG_MISSING', 'REPO_MISSING', 'PRIVATE_NO_CREDENTIALS', 'CREDENTIALS_REJECTED'],
  },
  {
    name: 'Docker no matching manifest for linux/arm64/v8',
    line: 'Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries',
    expected: { kind: 'platform-missing' },
    likely: ['PLATFORM_MISSING'],
  },
  {
    name: 'InvalidImageName for upper case: nothing was sent',
    line: 'Failed to apply default image tag "ghcr.io/Acme/Auth-API:latest": couldn\'t parse image reference "ghcr.io/Acme/Auth-API:latest": invalid reference format: repository name must be lowercase',
    expected: { kind: 'invalid-reference', stage: 'reference', credentialsSent: false, image: 'ghcr.io/Acme/Auth-API:latest' },
    likely: ['INVALID_REFERENCE'],
    ruledOut: ['REPO_MISSING', 'TAG_MISSING', 'PRIVATE_NO_CREDENTIALS', 'CREDENTIALS_REJECTED'],
  },
  {
    name: 'InvalidImageName as the pod status reason',
    line: 'Error: InvalidImageName',
    expected: { kind: 'invalid-reference', stage: 'reference' },
    likely: ['INVALID_REFERENCE'],
  },
  {
    name: 'Docker Hub toomanyrequests',
    line: 'Failed to pull image "redis:7.2": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/redis:7.2": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/redis/manifests/sha256:5a1d6d8e2f7f4e0b: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit',
    expected: { kind: 'rate-limited', stage: 'rate-limit', registry: 'docker.io', http: 429 },
    likely: ['RATE_LIMITED'],
  },
  {
    name: 'ghcr.io 429 at the anonymous token step: throttled, and no credential sent',
    line: 'failed to resolve reference "ghcr.io/acme/auth-api:latest": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fauth-api%3Apull&service=ghcr.io: 429 Too Many Requests',
    expected: { kind: 'rate-limited', credentialsSent: false, http: 429 },
    likely: ['RATE_LIMITED'],
  },
  {
    name: 'x509 unknown authority',
    line: 'Failed to pull image "registry.internal.acme.io/platform/agent:4.1": rpc error: code = Unknown desc = failed to pull and unpack image "registry.internal.acme.io/platform/agent:4.1": failed to resolve reference "registry.internal.acme.io/platform/agent:4.1": failed to do request: Head "https://registry.internal.acme.io/v2/platform/agent/manifests/4.1": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    expected: { kind: 'tls', stage: 'tls', registry: 'registry.internal.acme.io' },
    likely: ['TLS'],
  },
  {
    name: 'i/o timeout',
    line: 'Failed to pull image "ghcr.io/acme/auth-api:latest": rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "ghcr.io/acme/auth-api:latest": failed to resolve reference "ghcr.io/acme/auth-api:latest": failed to do request: Head "https://ghcr.io/v2/acme/auth-api/manifests/latest": dial tcp 140.82.121.33:443: i/o timeout',
    expected: { kind: 'network', stage: 'network' },
    likely: ['NETWORK'],
  },
  {
    name: 'DNS failure for a misspelt registry host',
    line: 'Failed to pull image "ghcr.com/acme/auth-api:latest": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.com/acme/auth-api:latest": failed to resolve reference "ghcr.com/acme/auth-api:latest": failed to do request: Head "https://ghcr.com/v2/acme/auth-api/manifests/latest": dial tcp: lookup ghcr.com on 10.96.0.10:53: no such host',
    expected: { kind: 'dns', stage: 'network', registry: 'ghcr.com' },
    likely: ['NETWORK'],
  },
  {
    name: 'CRI-O denied on the manifest',
    line: 'Failed to pull image "ghcr.io/acme/auth-api:latest": rpc error: code = Unknown desc = reading manifest latest in ghcr.io/acme/auth-api: denied',
    expected: { kind: 'manifest-denied', credentialsSent: 'unknown' },
    likely: ['PRIVATE_NO_CREDENTIALS', 'REPO_MISSING', 'CREDENTIALS_REJECTED'],
  },
  {
    name: 'CRI-O unauthorized on quay.io, image read from docker://',
    line: 'initializing source docker://quay.io/acme/private:1.0: reading manifest 1.0 in quay.io/acme/private: unauthorized: access to the requested resource is not authorized',
    expected: { kind: 'manifest-denied', image: 'quay.io/acme/private:1.0', registry: 'quay.io' },
    likely: ['PRIVATE_NO_CREDENTIALS', 'REPO_MISSING', 'CREDENTIALS_REJECTED'],
  },
  {
    name: 'registry 503',
    line: 'failed to resolve reference "ghcr.io/acme/auth-api:latest": unexpected status from HEAD request to https://ghcr.io/v2/acme/auth-api/manifests/latest: 503 Service Unavailable',
    expected: { kind: 'registry-error', stage: 'registry', http: 503 },
    likely: ['REGISTRY_ERROR'],
  },
  {
    name: 'missing imagePullSecret',
    line: 'Unable to retrieve some image pull secrets (ghcr-pull); attempting to pull the image may not succeed.',
    expected: { kind: 'pull-secret-missing', stage: 'secret' },
    likely: ['PULL_SECRET_MISSING'],
  },
  {
    name: 'pull policy Never',
    line: 'Container image "acme/tool:dev" is not present with pull policy of Never',
    expected: { kind: 'never-pull', stage: 'node', image: 'acme/tool:dev', registry: 'docker.io' },
    likely: ['NOT_ON_NODE'],
  },
  {
    name: 'Back-off without a cause',
    line: 'Back-off pulling image "ghcr.io/acme/auth-api:latest"',
    expected: { kind: 'back-off', stage: 'backoff', credentialsSent: 'unknown', image: 'ghcr.io/acme/auth-api:latest' },
    likely: [],
  },
  {
    name: 'Back-off that carries the cause (newer kubelets) is read for the cause',
    line: `Back-off pulling image "ghcr.io/acme/auth-api:latest": ErrImagePull: ${INCIDENT.slice(INCIDENT.indexOf('failed to pull and unpack'))}`,
    expected: { kind: 'anonymous-token-denied', credentialsSent: false, http: 403 },
    likely: ['REPO_MISSING', 'PRIVATE_NO_CREDENTIALS'],
  },
  {
    name: 'bare ErrImagePull',
    line: 'Error: ErrImagePull',
    expected: { kind: 'err-image-pull', stage: 'unknown' },
    likely: [],
  },
  {
    name: 'JSON-escaped event message',
    line: String.raw`"message": "Failed to pull image \"ghcr.io/acme/auth-api:latest\": rpc error: code = Unknown desc = failed to pull and unpack image \"ghcr.io/acme/auth-api:latest\": failed to resolve reference \"ghcr.io/acme/auth-api:latest\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fauth-api%3Apull&service=ghcr.io: 403 Forbidden"`,
    expected: { kind: 'anonymous-token-denied', image: 'ghcr.io/acme/auth-api:latest', credentialsSent: false },
    likely: ['REPO_MISSING', 'PRIVATE_NO_CREDENTIALS'],
  },
  {
    name: 'a line that is not a pull error',
    line: 'Successfully pulled image "nginx:1.27" in 1.2s (1.2s including waiting)',
    expected: { kind: 'unrecognised', stage: 'unknown', credentialsSent: 'unknown' },
    likely: [],
  },
];

describe('interpretPullEvent', () => {
  it.each(CASES)('$name', ({ line, expected, likely, ruledOut }) => {
    const interpretation = interpretPullEvent(line);
    expect(interpretation).toMatchObject(expected);
    expect(interpretation.likelyCauseCodes).toEqual(likely);
    if (ruledOut) expect(interpretation.ruledOutCodes).toEqual(expect.arrayContaining(ruledOut));
    // A cause is never both likely and ruled out.
    expect(interpretation.likelyCauseCodes.filter((cause) => interpretation.ruledOutCodes.includes(cause))).toEqual([]);
    // Readable strings line up with the codes, for the CLI that prints them.
    expect(interpretation.likelyCauses.map((text) => text.split(':')[0])).toEqual(interpretation.likelyCauseCodes);
    expect(interpretation.summary).toMatch(/^[A-Z].*\.$/);
    expect(interpretation.nextSteps.length).toBeGreaterThan(0);
  });

  it('explains the incident: the node sent no pull secret, so the package is missing or private, and case is ruled out', () => {
    const interpretation = interpretPullEvent(INCIDENT);
    expect(interpretation.summary).toContain('sent no pull secret');
    expect(interpretation.summary).toMatch(/missing .* or private/);
    expect(interpretation.ruledOut.find((text) => text.startsWith('INVALID_REFERENCE'))).toMatch(/InvalidImageName/);
    expect(interpretation.expectedVerdicts).toEqual(expect.arrayContaining(['PRIVATE', 'REPO_MISSING', 'NOT_VISIBLE_ANONYMOUSLY']));
  });

  it('gives next steps that name the package for the GitHub Packages API and the image for image-drift', () => {
    const steps = interpretPullEvent(INCIDENT).nextSteps.join('\n');
    expect(steps).toContain('gh api /orgs/acme/packages/container/auth-api');
    expect(steps).toContain('image-drift explain ghcr.io/acme/auth-api:latest');
    expect(steps).toContain('imagePullSecrets');
  });

  it('URL-encodes nested package names for the Packages API', () => {
    const line = INCIDENT.replaceAll('acme/auth-api', 'acme/platform/auth-api');
    expect(interpretPullEvent(line).nextSteps.join('\n')).toContain('/orgs/acme/packages/container/platform%2Fauth-api');
  });

  it('suggests the lower-case reference for InvalidImageName and keeps the tag as written', () => {
    const line = 'Failed to apply default image tag "ghcr.io/Acme/Auth-API:Dev-RC1": couldn\'t parse image reference "ghcr.io/Acme/Auth-API:Dev-RC1": invalid reference format: repository name must be lowercase';
    expect(interpretPullEvent(line).nextSteps[0]).toContain('`ghcr.io/acme/auth-api:Dev-RC1`');
  });

  it('reads the platform out of a Docker platform error', () => {
    const interpretation = interpretPullEvent('no matching manifest for linux/arm64/v8 in the manifest list entries');
    expect(interpretation.summary).toContain('linux/arm64/v8');
    expect(interpretation.nextSteps.join(' ')).toContain('--platform linux/arm64/v8');
  });

  it('says an oauth 401 or 403 can hit a public image too, because the kubelet does not fall back to anonymous', () => {
    const interpretation = interpretPullEvent(CASES[2]?.line ?? '');
    expect(interpretation.nextSteps.join(' ')).toMatch(/does not fall back to an anonymous pull/);
  });
});

describe('lowerCaseSuggestion', () => {
  it('lower-cases the name, keeps tag and digest, and returns nothing when already lower case', () => {
    expect(lowerCaseSuggestion('ghcr.io/Acme/App:V1')).toBe('ghcr.io/acme/app:V1');
    expect(lowerCaseSuggestion('localhost:5000/Team/App@sha256:ABC')).toBe('localhost:5000/team/app@sha256:ABC');
    expect(lowerCaseSuggestion('ghcr.io/acme/app:V1')).toBeUndefined();
  });
});
