/** Builders of AuditResults for the history and notification tests. */
import type { AuditResult, ImageEvidence, Verdict } from '../../lambdas/engine/model.js';

const HINTS: Partial<Record<Verdict, string>> = {
  OK: '',
  TAG_MISSING: 'Push the tag, or point the manifest at a tag that exists.',
  REPO_MISSING: 'Check the repository name; push the image.',
  PRIVATE: 'Make the package public or give the cluster a pull secret.',
  RATE_LIMITED: 'Retry later; authenticate to raise the limit.',
  UNREACHABLE: 'The registry did not answer; retry later.',
};

export function result(
  image: string,
  status: Verdict,
  options: { evidence?: ImageEvidence; apps?: string[]; digest?: string; file?: string; line?: number } = {},
): AuditResult {
  const evidence: ImageEvidence =
    options.evidence ??
    (status === 'OK'
      ? { anonymous: { http: 200, stage: 'manifest', digest: options.digest ?? 'sha256:' + 'a'.repeat(64) } }
      : status === 'TAG_MISSING'
        ? { anonymous: { http: 404, code: 'MANIFEST_UNKNOWN', stage: 'manifest', message: 'manifest unknown' } }
        : status === 'REPO_MISSING'
          ? { anonymous: { http: 404, code: 'NAME_UNKNOWN', stage: 'manifest' } }
          : status === 'RATE_LIMITED'
            ? { anonymous: { http: 429, code: 'TOOMANYREQUESTS', stage: 'manifest' } }
            : status === 'UNREACHABLE'
              ? { anonymous: { stage: 'network', error: 'ECONNRESET' } }
              : { anonymous: { http: 401, code: 'UNAUTHORIZED', stage: 'token' } });
  return {
    image,
    status,
    evidence,
    hint: HINTS[status] ?? `Fix ${status}.`,
    apps: options.apps ?? ['web'],
    locations: [{ file: options.file ?? 'apps/web/deployment.yaml', line: options.line ?? 12 }],
  };
}

let counter = 0;
/** A unique image name per call, so tests sharing a table do not meet. */
export function uniqueImage(name = 'app'): string {
  counter += 1;
  return `ghcr.io/acme/${name}-${process.pid}-${counter}:1.0.0`;
}
