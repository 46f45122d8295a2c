/**
 * A realistic audit of an Argo CD + Kustomize GitOps repository, built around the incident:
 * the dev overlay of auth-api asks for `:dev-latest`, a tag CI never pushed (CI pushes `<sha>` and `latest`),
 * and the package is private, so anonymous pulls die at the token step with 403.
 */
import type { AppRef, AuditReport, DesiredImage, DesiredState, Finding, ImageReference } from '../../lambdas/engine/model.js';

const SOURCE = { kind: 'github', location: 'acme/gitops', ref: 'main', commit: '9b1f0c4d2e7a8b3c5d6e7f8091a2b3c4d5e6f708' } as const;

const authApiDev: AppRef = {
  name: 'auth-api-dev',
  kind: 'argocd-application',
  definedAt: { file: 'argocd/apps/auth-api-dev.yaml', line: 1 },
  path: 'apps/auth-api/overlays/dev',
};
const authApiProd: AppRef = {
  name: 'auth-api-prod',
  kind: 'argocd-application',
  definedAt: { file: 'argocd/apps/auth-api-prod.yaml', line: 1 },
  path: 'apps/auth-api/overlays/prod',
};
const billing: AppRef = { name: 'billing', kind: 'argocd-application', path: 'apps/billing' };
const legacy: AppRef = { name: 'apps/legacy', kind: 'directory', path: 'apps/legacy', unreferenced: true };
const cache: AppRef = { name: 'platform-cache', kind: 'flux-helmrelease', definedAt: { file: 'clusters/prod/cache.yaml', line: 3 } };

function ref(registry: string, repository: string, tag: string): ImageReference {
  return { registry, repository, tag, canonical: `${registry}/${repository}:${tag}` };
}

function desired(
  reference: ImageReference,
  app: AppRef,
  workloadName: string,
  container: string,
  locations: DesiredImage['locations'],
  namespace = 'default',
): DesiredImage {
  return {
    image: reference.canonical,
    written: reference.canonical.replace(/^docker\.io\/library\//, ''),
    reference: { ok: true, ref: reference },
    app,
    workload: { kind: 'Deployment', namespace, name: workloadName },
    container,
    locations,
  };
}

export const AUTH_API_BASE = { file: 'apps/auth-api/base/deployment.yaml', line: 21 };
export const AUTH_API_DEV_OVERLAY = { file: 'apps/auth-api/overlays/dev/kustomization.yaml', line: 9 };
export const LEGACY_LOCATION = { file: 'apps/legacy/deployment.yaml', line: 17 };

export const DESIRED_IMAGES: DesiredImage[] = [
  desired(ref('ghcr.io', 'acme/auth-api', 'dev-latest'), authApiDev, 'auth-api', 'api', [AUTH_API_BASE, AUTH_API_DEV_OVERLAY], 'auth-dev'),
  desired(
    ref('ghcr.io', 'acme/auth-api', '3f9c2e1'),
    authApiProd,
    'auth-api',
    'api',
    [AUTH_API_BASE, { file: 'apps/auth-api/overlays/prod/kustomization.yaml', line: 8 }],
    'auth',
  ),
  desired(ref('ghcr.io', 'acme/billing-worker', '1.4.2'), billing, 'billing-worker', 'worker', [
    { file: 'apps/billing/worker.yaml', line: 30 },
  ], 'billing'),
  desired(ref('docker.io', 'library/redis', '7.2'), cache, 'redis', 'redis', [{ file: 'clusters/prod/cache-values.yaml', line: 4 }], 'cache'),
  desired(ref('docker.io', 'library/nginx', '1.27'), billing, 'billing-web', 'nginx', [{ file: 'apps/billing/web.yaml', line: 22 }], 'billing'),
  {
    image: 'ghcr.io/Acme/Legacy-Api:2.0',
    written: 'ghcr.io/Acme/Legacy-Api:2.0',
    reference: {
      ok: false,
      problem: {
        code: 'INVALID_REFERENCE',
        reason: 'repository path contains upper case (Acme/Legacy-Api)',
        suggestion: 'ghcr.io/acme/legacy-api:2.0',
      },
    },
    app: legacy,
    workload: { kind: 'Deployment', name: 'legacy-api' },
    container: 'app',
    locations: [LEGACY_LOCATION],
  },
];

export const FINDINGS: Finding[] = [
  {
    file: LEGACY_LOCATION.file,
    line: LEGACY_LOCATION.line,
    code: 'INVALID_REFERENCE',
    severity: 'error',
    message: 'repository path contains upper case (Acme/Legacy-Api)',
    hint: 'Write `ghcr.io/acme/legacy-api:2.0` instead.',
  },
  {
    file: 'apps/payments/values.yaml',
    line: 7,
    code: 'YAML_ERROR',
    severity: 'error',
    message: 'bad indentation of a mapping entry',
  },
  {
    file: 'clusters/prod/cache.yaml',
    line: 3,
    code: 'HELM_NOT_RENDERED',
    severity: 'info',
    message: 'chart bitnami/redis is not rendered; images come from values only',
  },
];

export const INCIDENT_HINT =
  'Tag `dev-latest` is not in ghcr.io/acme/auth-api: CI pushes the commit SHA and `latest`. Point the dev overlay at `3f9c2e1` or push `dev-latest`.';

export function buildAuditReport(): AuditReport {
  return {
    source: { ...SOURCE },
    startedAt: '2026-11-28T07:00:00.000Z',
    durationMs: 4210,
    results: [
      {
        image: 'docker.io/library/nginx:1.27',
        status: 'OK',
        evidence: {
          anonymous: {
            http: 200,
            stage: 'manifest',
            digest: 'sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d',
            mediaType: 'application/vnd.oci.image.index.v1+json',
            platforms: ['linux/amd64', 'linux/arm64'],
          },
        },
        hint: 'Pullable.',
        apps: ['billing'],
        locations: [{ file: 'apps/billing/web.yaml', line: 22 }],
        drift: 'PRESENT',
      },
      {
        image: 'docker.io/library/redis:7.2',
        status: 'RATE_LIMITED',
        evidence: {
          anonymous: {
            http: 429,
            code: 'TOOMANYREQUESTS',
            message: 'You have reached your unauthenticated pull rate limit.',
            stage: 'manifest',
          },
        },
        hint: 'Docker Hub rate-limited the audit (429); nothing is known about this image. Run again later or with Docker Hub credentials.',
        apps: ['platform-cache'],
        locations: [{ file: 'clusters/prod/cache-values.yaml', line: 4 }],
        drift: 'UNVERIFIED',
      },
      {
        image: 'ghcr.io/Acme/Legacy-Api:2.0',
        status: 'INVALID_REFERENCE',
        evidence: {},
        hint: 'Not a valid image reference: repository path contains upper case (Acme/Legacy-Api). A cluster reports this as InvalidImageName; no request was sent. Write `ghcr.io/acme/legacy-api:2.0` instead.',
        apps: ['apps/legacy'],
        locations: [LEGACY_LOCATION],
        drift: 'INVALID_REFERENCE',
      },
      {
        image: 'ghcr.io/acme/auth-api:3f9c2e1',
        status: 'OK',
        evidence: {
          anonymous: { http: 403, code: 'DENIED', stage: 'token' },
          authenticated: {
            http: 200,
            stage: 'manifest',
            digest: 'sha256:0b7e4d5a3c2f19e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a39281706',
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
          },
          packagesApi: { http: 200, visibility: 'private', tagFound: true },
        },
        hint: 'Pullable with a pull secret for ghcr.io (the package is private).',
        apps: ['auth-api-prod'],
        locations: [AUTH_API_BASE, { file: 'apps/auth-api/overlays/prod/kustomization.yaml', line: 8 }],
        drift: 'PRESENT',
      },
      {
        image: 'ghcr.io/acme/auth-api:dev-latest',
        status: 'TAG_MISSING',
        evidence: {
          anonymous: { http: 403, code: 'DENIED', message: 'denied', stage: 'token', requests: 1 },
          authenticated: { http: 404, code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', stage: 'manifest', requests: 2 },
          packagesApi: { http: 200, visibility: 'private', tagFound: false },
          tags: { nearest: ['latest'], recent: ['3f9c2e1', 'latest'], total: 12 },
        },
        hint: INCIDENT_HINT,
        apps: ['auth-api-dev'],
        locations: [AUTH_API_BASE, AUTH_API_DEV_OVERLAY],
        drift: 'NEVER_PUSHED',
      },
      {
        image: 'ghcr.io/acme/billing-worker:1.4.2',
        status: 'PRIVATE',
        evidence: {
          anonymous: { http: 401, code: 'UNAUTHORIZED', stage: 'token' },
          authenticated: {
            http: 200,
            stage: 'manifest',
            digest: 'sha256:a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
            mediaType: 'application/vnd.oci.image.index.v1+json',
            platforms: ['linux/amd64'],
          },
          packagesApi: { http: 200, visibility: 'private', tagFound: true },
        },
        hint: 'The package is private: give the billing-worker workload an imagePullSecret for ghcr.io (classic PAT with read:packages), or make the package public.',
        apps: ['billing'],
        locations: [{ file: 'apps/billing/worker.yaml', line: 30 }],
        drift: 'PRIVATE',
      },
    ],
    findings: FINDINGS.map((finding) => ({ ...finding })),
    desired: DESIRED_IMAGES.map((entry) => ({ ...entry, locations: [...entry.locations] })),
    notes: ['Helm templates are not rendered; images come from values'],
  };
}

export function buildDesiredState(): DesiredState {
  return {
    source: { ...SOURCE },
    images: DESIRED_IMAGES.map((entry) => ({ ...entry, locations: [...entry.locations] })),
    findings: FINDINGS.map((finding) => ({ ...finding })),
    notes: ['Helm templates are not rendered; images come from values'],
  };
}

/** A report with `count` problem images, for size limits. */
export function buildLargeReport(count: number): AuditReport {
  const report = buildAuditReport();
  const template = report.results.find((result) => result.status === 'TAG_MISSING');
  if (!template) throw new Error('fixture lost its TAG_MISSING result');
  report.results = Array.from({ length: count }, (_, index) => ({
    ...template,
    image: `ghcr.io/acme/service-${String(index).padStart(4, '0')}:dev-latest`,
    apps: [`service-${index}-dev`],
    locations: [
      { file: `apps/service-${index}/base/deployment.yaml`, line: 20 },
      { file: `apps/service-${index}/overlays/dev/kustomization.yaml`, line: 9 },
    ],
  }));
  return report;
}
