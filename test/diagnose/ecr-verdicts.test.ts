/**
 * Amazon ECR's own answers (as its registry API words them) through the pure verdict rules: the registry stand-in
 * (docker-registry) cannot word errors like ECR, so these shapes are fed to diagnose() directly.
 */
import { describe, expect, it } from 'vitest';
import { diagnose, parseImageReference, type ImageFacts, type ProbeOutcome } from '../../lambdas/engine/diagnose/index.js';
import { RegistryError } from '../../lambdas/engine/registry/errors.js';

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

function facts(authenticated: ProbeOutcome, extra: Partial<ImageFacts> = {}): ImageFacts {
  const parsed = parseImageReference(`${HOST}/payments/api:1.4.2`);
  if (!parsed.ok) throw new Error('bad reference');
  return { ref: parsed.ref, authenticated, credential: { source: 'aws-ecr' }, visibilityMatters: false, platformsWanted: [], isGhcr: false, ...extra };
}

const failed = (status: number, code: string, message: string, stage: 'manifest' | 'tags' = 'manifest'): ProbeOutcome => ({
  ok: false,
  error: new RegistryError({ kind: 'http', stage, status, code, message }),
  requests: 1,
});

describe('ECR answers', () => {
  it('"Requested image not found" in an existing repository is TAG_MISSING', () => {
    const d = diagnose(facts(failed(404, 'MANIFEST_UNKNOWN', 'Requested image not found'), { tags: { list: ['1.4.1', '1.4.0'] } }));
    expect(d.status).toBe('TAG_MISSING');
  });

  it('NAME_UNKNOWN (RepositoryNotFoundException) is REPO_MISSING', () => {
    const d = diagnose(
      facts(failed(404, 'NAME_UNKNOWN', "The repository with name 'payments/api' does not exist in the registry with id '123456789012'")),
    );
    expect(d.status).toBe('REPO_MISSING');
  });

  it('an IAM refusal (403 DENIED) is AUTH_FAILED naming the missing action', () => {
    const message =
      'User: arn:aws:sts::123456789012:assumed-role/image-drift/fn is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:eu-west-1:123456789012:repository/payments/api because no resource-based policy allows the ecr:BatchGetImage action';
    const d = diagnose(facts(failed(403, 'DENIED', message), { anonymous: failed(401, 'UNAUTHORIZED', 'Not Authorized') }));
    expect(d.status).toBe('AUTH_FAILED');
    expect(d.hint).toContain('`ecr:BatchGetImage`');
    expect(d.hint).toMatch(/Allow ecr:BatchGetImage on this repository/);
  });
});
