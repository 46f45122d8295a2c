/**
 * Amazon ECR private registries (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, dual-stack
 * `<account>.dkr-ecr.<region>.on.aws`). ECR takes Basic `AWS:<password>` where the password comes from
 * `ecr:GetAuthorizationToken` with the AWS default credential chain (the Lambda's role; env, profiles and SSO
 * locally). One token per region, cached until shortly before its `expiresAt` (12 h). The SDK is imported
 * lazily, so runs without ECR images never load it; the standard `AWS_ENDPOINT_URL_ECR` override works.
 *
 * ECR Public (`public.ecr.aws`) needs no credential for pulls: its anonymous token flow is the ordinary one.
 */
import type { CredentialProblem } from './credential-problem.js';
import { redactCredentialText } from './credential-problem.js';

export interface EcrHost {
  account: string;
  region: string;
  fips: boolean;
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;
const ECR_DUALSTACK_HOST = /^(\d{12})\.dkr-ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.on\.aws$/;

export function parseEcrHost(host: string): EcrHost | undefined {
  const m = ECR_HOST.exec(host) ?? ECR_DUALSTACK_HOST.exec(host);
  if (!m?.[1] || !m[3]) return undefined;
  return { account: m[1], region: m[3], fips: m[2] !== undefined };
}

/** The IAM action an AWS "is not authorized to perform: ecr:X" message names. */
export function missingIamAction(message: string | undefined): string | undefined {
  return message ? /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1] : undefined;
}

export interface EcrToken {
  username: string;
  password: string;
  expiresAt: number;
}

export type EcrTokenResult = { ok: true; token: EcrToken } | { ok: false; problem: CredentialProblem };

/** What fetches an ECR token for a region: the SDK adapter below, or a stand-in in tests. */
export type EcrTokenFetcher = (region: string) => Promise<EcrTokenResult>;

export interface EcrAuthOptions {
  /** ECR API endpoint (default: the SDK's, honouring AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL). */
  endpoint?: string;
  /** Per-call timeout (default 10 s). */
  timeoutMs?: number;
}

const SOURCE = 'aws ecr:GetAuthorizationToken';

function classify(err: unknown): CredentialProblem {
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = redactCredentialText(typeof e?.message === 'string' ? e.message : String(err)).slice(0, 300);
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return { kind: 'denied', source: SOURCE, message: `${name}: ${message}`, missingPermission: missingIamAction(message) ?? 'ecr:GetAuthorizationToken' };
  }
  if (['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'SignatureDoesNotMatch'].includes(name)) {
    return { kind: 'denied', source: SOURCE, message: `${name}: the AWS credentials were rejected (${message})` };
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return { kind: 'unavailable', source: SOURCE, message: 'no AWS credentials found (environment, shared profile/SSO, container or instance role)' };
  }
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
    return { kind: 'denied', source: SOURCE, message: `${name} (HTTP ${status}): ${message}` };
  }
  return { kind: 'transient', source: SOURCE, message: `${name}: ${message}` };
}

/** The SDK adapter: `GetAuthorizationToken` in the image's region through the default credential chain. */
export function sdkEcrTokenFetcher(options: EcrAuthOptions = {}): EcrTokenFetcher {
  return async (region) => {
    try {
      const { ECRClient, GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
      const client = new ECRClient({
        region,
        maxAttempts: 2,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
      try {
        const out = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
        const data = out.authorizationData?.[0];
        const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        if (colon <= 0) return { ok: false, problem: { kind: 'unavailable', source: SOURCE, message: 'the answer carried no authorization token' } };
        const expiresAt = data?.expiresAt instanceof Date ? data.expiresAt.getTime() : Date.now() + 3_600_000;
        return { ok: true, token: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), expiresAt } };
      } finally {
        client.destroy();
      }
    } catch (err) {
      return { ok: false, problem: classify(err) };
    }
  };
}

/** `registries.<host>.ecr` of the config file: `{}` makes a host an ECR host, `false` never asks AWS for it. */
export function ecrHostsFromConfig(registries: Readonly<Record<string, { ecr?: Record<string, never> | false | undefined }>>): {
  explicitHosts: string[];
  disabledHosts: string[];
} {
  const explicitHosts: string[] = [];
  const disabledHosts: string[] = [];
  for (const [host, settings] of Object.entries(registries)) {
    if (settings.ecr === false) disabledHosts.push(host);
    else if (settings.ecr) explicitHosts.push(host);
  }
  return { explicitHosts, disabledHosts };
}
