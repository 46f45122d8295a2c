import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { resolveDesiredState } from '../../lambdas/engine/resolve/index.js';
import { rows } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/gitops', import.meta.url));

describe('examples/gitops', async () => {
  const state = await resolveDesiredState(createLocalSource(EXAMPLE), { repoUrls: ['https://github.com/acme-corp/gitops'] });
  const find = (app: string, container: string) => state.images.find((i) => i.app.name === app && i.container === container);

  it('resolves exactly the images each app deploys, overlays applied', () => {
    expect(rows(state)).toEqual([
      'auth-api-dev | Deployment/auth-dev/auth-api | auth-api | ghcr.io/acme-corp/auth-api:dev-latest',
      'auth-api-dev | Deployment/auth-dev/auth-api | envoy | ghcr.io/acme-corp/envoy-proxy:1.29.1',
      'auth-api-dev | Deployment/auth-dev/auth-api | migrate | ghcr.io/acme-corp/auth-api-migrations:latest',
      'auth-api-prod | Deployment/auth-prod/auth-api | auth-api | ghcr.io/acme-corp/auth-api:3f9c2e1',
      'auth-api-prod | Deployment/auth-prod/auth-api | envoy | ghcr.io/acme-corp/envoy-proxy:1.30.0',
      'auth-api-prod | Deployment/auth-prod/auth-api | migrate | ghcr.io/acme-corp/auth-api-migrations:3f9c2e1',
      'billing | Deployment/billing/billing | billing | ghcr.io/Acme-Corp/billing:1.2.0',
      'compose/docker-compose.yaml | ComposeService/-/auth-api | auth-api | ghcr.io/acme-corp/auth-api:latest',
      'compose/docker-compose.yaml | ComposeService/-/cache | cache | docker.io/library/redis:7.2',
      'notifier | Deployment/notifier/notifier | metrics | ghcr.io/acme-corp/notifier-metrics:${METRICS_TAG}',
      'notifier | Deployment/notifier/notifier | notifier | ghcr.io/acme-corp/notifier:2.0.1',
      'ops/debug | Pod/default/toolbox | toolbox | ghcr.io/acme-corp/toolbox:1.0.0',
      'web | HelmValues/web/image | web | ghcr.io/acme-corp/web:1.4.2',
      'web | HelmValues/web/worker.image | worker | ghcr.io/acme-corp/web-worker:1.4.2',
      'web | HelmValues/web/image | web | ghcr.io/acme-corp/web:1.4.2',
      'web | HelmValues/web/worker.image | worker | ghcr.io/acme-corp/web-worker:1.4.2',
    ]);
    expect(state.images.filter((i) => i.app.name === 'web').map((i) => i.app.kind)).toEqual([
      'argocd-application',
      'argocd-application',
      'flux-helmrelease',
      'flux-helmrelease',
    ]);
  });

  it('traces the incident to the dev overlay newTag line, after the base image line', () => {
    expect(find('auth-api-dev', 'auth-api')?.locations).toEqual([
      { file: 'services/auth-api/base/deployment.yaml', line: 23 },
      { file: 'services/auth-api/overlays/dev/kustomization.yaml', line: 8 },
    ]);
    expect(find('auth-api-dev', 'auth-api')?.app.definedAt).toEqual({ file: 'apps/auth-api.yaml', line: 18 });
  });

  it('records the strategic-merge patch, the Helm override and the Flux substitution as provenance', () => {
    expect(find('auth-api-prod', 'envoy')?.locations.at(-1)).toEqual({ file: 'services/auth-api/overlays/prod/envoy-sidecar.yaml', line: 11 });
    expect(find('web', 'worker')?.locations.at(-1)).toEqual({ file: 'apps/web.yaml', line: 21 });
    expect(find('notifier', 'notifier')?.locations).toEqual([
      { file: 'services/notifier/deployment.yaml', line: 17 },
      { file: 'clusters/prod/notifier.yaml', line: 16 },
    ]);
  });

  it('reports the remote chart, the chart not rendered, the unreferenced directory and local-development compose file, both broken references and the tag CI never pushes', () => {
    expect(state.findings.map((f) => `${f.severity} ${f.code} ${f.file}:${f.line}`)).toEqual([
      'warning REMOTE_RESOURCE apps/observability.yaml:11',
      'info HELM_NOT_RENDERED charts/web/Chart.yaml:0',
      'info UNREFERENCED compose/docker-compose.yaml:0',
      'info UNREFERENCED ops/debug/toolbox.yaml:0',
      'error CI_NEVER_PUSHES_TAG services/auth-api/overlays/dev/kustomization.yaml:8',
      'error INVALID_REFERENCE services/billing/deployment.yaml:17',
      'warning UNRESOLVED_TEMPLATE services/notifier/deployment.yaml:20',
    ]);
    expect(state.findings[5]?.hint).toContain('ghcr.io/acme-corp/billing:1.2.0');
  });

  it('the incident: the dev overlay wants dev-latest, the build workflow pushes only <short sha> and latest', () => {
    const finding = state.findings.find((f) => f.code === 'CI_NEVER_PUSHES_TAG');
    expect(finding?.message).toBe(
      'ghcr.io/acme-corp/auth-api:dev-latest: .github/workflows/build.yml:35-37 pushes ghcr.io/acme-corp/auth-api (as ghcr.io/acme-corp/<matrix.service>) with tags `<short sha>`, `latest`; ' +
        '.github/workflows/release.yml:25 pushes ghcr.io/acme-corp/auth-api (as ghcr.io/acme-corp/<matrix.service>) with tags `<version>` only',
    );
    // every other image of the example is a tag CI can push: no finding, evidence only
    const judged = state.images.filter((image) => image.ci);
    expect(judged.filter((image) => image.ci?.tagPushed === false).map((image) => image.written)).toEqual(['ghcr.io/acme-corp/auth-api:dev-latest']);
    expect(judged.length).toBeGreaterThanOrEqual(10);
    // the workflows are CI, not desired state: their files are never attributed to an app
    expect(state.images.some((image) => image.locations.some((location) => location.file.startsWith('.github/')))).toBe(false);
  });
});
