import { describe, expect, it } from 'vitest';
import { application, codes, deployment, kustomization, resolveFiles, rows } from './helpers.js';

const chart = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\nappVersion: "2.0.0"\n',
  'charts/web/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: ""\n',
  'charts/web/templates/deployment.yaml': 'spec:\n  image: "{{ .Values.image.repository }}"\n  broken: [\n',
};

const helmRelease = (chartRef: string, values = 'image:\n      tag: "3.0.0"') => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: shop
spec:
  chart:
    spec:
${chartRef}
  values:
    ${values}
`;

describe('Flux', () => {
  it('HelmRelease with a chart path in this repository merges spec.values over the chart values', async () => {
    const state = await resolveFiles({
      ...chart,
      'flux/web.yaml': helmRelease('      chart: ./charts/web\n      sourceRef:\n        kind: GitRepository\n        name: gitops'),
    });
    expect(rows(state)).toEqual(['web | HelmValues/shop/image | web | ghcr.io/acme/web:3.0.0']);
    expect(state.images[0]?.app).toMatchObject({ kind: 'flux-helmrelease', path: 'charts/web', definedAt: { file: 'flux/web.yaml', line: 4 } });
    expect(state.images[0]?.locations).toEqual([
      { file: 'charts/web/values.yaml', line: 2 },
      { file: 'flux/web.yaml', line: 15 },
    ]);
    // templates/ is never parsed, so its broken YAML gives no finding
    expect(codes(state)).toEqual(['HELM_NOT_RENDERED charts/web/Chart.yaml:0']);
  });

  it('HelmRelease with a chart from a Helm repository audits spec.values alone and says so', async () => {
    const state = await resolveFiles({
      'flux/web.yaml': helmRelease(
        '      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo',
        'image:\n      repository: ghcr.io/stefanprodan/podinfo\n      tag: 6.5.0',
      ),
    });
    expect(rows(state)).toEqual(['web | HelmValues/shop/image | podinfo | ghcr.io/stefanprodan/podinfo:6.5.0']);
    expect(state.findings.map((f) => [f.code, f.severity])).toEqual([['REMOTE_RESOURCE', 'info']]);
  });

  it('Kustomization renders spec.path with spec.images and postBuild.substitute; unknown variables stay UNRESOLVED_TEMPLATE', async () => {
    const state = await resolveFiles({
      'clusters/prod/app.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
spec:
  path: ./svc/prod
  targetNamespace: prod
  sourceRef:
    kind: GitRepository
    name: gitops
  images:
    - name: ghcr.io/acme/api
      newTag: flux-tag
  postBuild:
    substitute:
      SIDE_TAG: "1.2"
`,
      'svc/prod/kustomization.yaml': kustomization('resources: [d.yaml]'),
      'svc/prod/d.yaml': deployment('api', 'ghcr.io/acme/api:1', `        - name: side\n          image: ghcr.io/acme/side:\${SIDE_TAG}\n        - name: extra\n          image: ghcr.io/acme/extra:\${NOPE}\n`),
    });
    expect(rows(state)).toEqual([
      'app | Deployment/prod/api | api | ghcr.io/acme/api:flux-tag',
      'app | Deployment/prod/api | extra | ghcr.io/acme/extra:${NOPE}',
      'app | Deployment/prod/api | side | ghcr.io/acme/side:1.2',
    ]);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/prod/d.yaml', line: 10 },
      { file: 'clusters/prod/app.yaml', line: 12 },
    ]);
    expect(state.images[2]?.locations).toEqual([
      { file: 'svc/prod/d.yaml', line: 12 },
      { file: 'clusters/prod/app.yaml', line: 16 },
    ]);
    expect(codes(state)).toEqual(['UNRESOLVED_TEMPLATE svc/prod/d.yaml:14']);
  });

  it('reports a Flux object whose GitRepository is another repository as REMOTE_RESOURCE', async () => {
    const state = await resolveFiles(
      {
        'flux/sources.yaml': `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: team-apps
  namespace: flux-system
spec:
  url: ssh://git@github.com/acme/team-apps
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: self
  namespace: flux-system
spec:
  url: https://github.com/Acme/gitops.git
`,
        'flux/apps.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: team
  namespace: flux-system
spec:
  path: ./deploy
  sourceRef:
    kind: GitRepository
    name: team-apps
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: mine
  namespace: flux-system
spec:
  path: ./deploy
  sourceRef:
    kind: GitRepository
    name: self
`,
        'deploy/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      },
      { repoUrls: ['https://github.com/acme/gitops'] },
    );
    expect(rows(state)).toEqual(['mine | Deployment/-/a | a | ghcr.io/acme/a:1']);
    // The GitRepository follows branch main, which a plain tree cannot vouch for.
    expect(codes(state)).toEqual(['REMOTE_RESOURCE flux/apps.yaml:9', 'REVISION_UNREADABLE flux/sources.yaml:15']);
    expect(state.findings[0]?.message).toContain('ssh://git@github.com/acme/team-apps');
  });

  it('a patch of a Flux Kustomization in an overlay (flux2-multi-tenancy) is a fragment, not an object with a missing path', async () => {
    const fluxKustomization = (name: string, spec: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: apps
spec:
${spec}`;
    const state = await resolveFiles({
      'tenants/base/dev-team/kustomization.yaml': kustomization('resources:\n  - sync.yaml\n'),
      'tenants/base/dev-team/sync.yaml': fluxKustomization('dev-team', '  path: ./deploy\n'),
      'tenants/production/kustomization.yaml': kustomization('resources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n'),
      'tenants/production/dev-team-patch.yaml': fluxKustomization('dev-team', '  path: ./production\n'),
      'tenants/staging/kustomization.yaml': kustomization('resources:\n  - ../base/dev-team\npatchesStrategicMerge:\n  - dev-team-patch.yaml\n'),
      'tenants/staging/dev-team-patch.yaml': fluxKustomization('dev-team', '  path: ./staging\n'),
      'deploy/d.yaml': deployment('web', 'ghcr.io/acme/web:1'),
    });
    expect(rows(state)).toEqual(['dev-team | Deployment/-/web | web | ghcr.io/acme/web:1']);
    // Before: MISSING_FILE (./production, ./staging) and INVALID_RESOURCE (no sourceRef) for each patch file.
    expect(state.findings.filter((f) => f.file.endsWith('dev-team-patch.yaml'))).toEqual([]);
  });

  it('an ExternalArtifact of an ArtifactGenerator (flux2-kustomize-helm-example) is read as the directories it copies, from the generator of its cluster', async () => {
    const generator = (cluster: string, copy = `        - from: "@monorepo/apps/base/**"\n          to: "@artifact/base/"\n        - from: "@monorepo/apps/${cluster}/**"\n          to: "@artifact/${cluster}/"`) => `apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
    - alias: monorepo
      kind: GitRepository
      name: flux-system
  artifacts:
    - name: apps
      originRevision: "@monorepo"
      copy:
${copy}
`;
    const apps = (cluster: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  sourceRef:
    kind: ExternalArtifact
    name: apps
  path: ./${cluster}
`;
    const files = {
      'clusters/production/artifacts.yaml': generator('production'),
      'clusters/production/apps.yaml': apps('production'),
      'clusters/staging/artifacts.yaml': generator('staging'),
      'clusters/staging/apps.yaml': apps('staging'),
      'apps/base/podinfo/kustomization.yaml': kustomization('resources:\n  - d.yaml\n'),
      'apps/base/podinfo/d.yaml': deployment('podinfo', 'ghcr.io/stefanprodan/podinfo:6.0.0'),
      'apps/production/kustomization.yaml': kustomization('resources:\n  - ../base/podinfo\nimages:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.9.0\n'),
      'apps/staging/kustomization.yaml': kustomization('resources:\n  - ../base/podinfo\nimages:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.9.1-rc\n'),
    };
    const state = await resolveFiles(files);
    expect(rows(state).sort()).toEqual([
      'apps | Deployment/-/podinfo | podinfo | ghcr.io/stefanprodan/podinfo:6.9.0',
      'apps | Deployment/-/podinfo | podinfo | ghcr.io/stefanprodan/podinfo:6.9.1-rc',
    ]);
    expect(state.findings).toEqual([]);
    expect(state.notes).toContain('ExternalArtifact apps (ArtifactGenerator flux-system) is read as apps/production of GitRepository flux-system');

    // A copy of single files is not a directory the repository has as such: unresolved, with the reason.
    const globbed = await resolveFiles({ ...files, 'clusters/staging/artifacts.yaml': generator('staging', '        - from: "@monorepo/apps/**/*.yaml"\n          to: "@artifact/"') });
    expect(codes(globbed)).toEqual(['UNREFERENCED apps/staging/kustomization.yaml:0', 'UNRESOLVED_APP clusters/staging/apps.yaml:8']);
    expect(globbed.findings[1]?.message).toContain('is not a whole directory');
  });

  it('Kustomization over a plain directory takes every manifest below it, as Flux generates a kustomization', async () => {
    const state = await resolveFiles({
      'flux/app.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
spec:
  path: ./deploy
  images:
    - name: ghcr.io/acme/b
      newTag: "2"
`,
      'deploy/a.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'deploy/nested/b.yaml': deployment('b', 'ghcr.io/acme/b:1'),
    });
    expect(rows(state)).toEqual(['app | Deployment/-/a | a | ghcr.io/acme/a:1', 'app | Deployment/-/b | b | ghcr.io/acme/b:2']);
  });
});

describe('units no app points at, compose, and bad input', () => {
  it('lists a top-level kustomization as unreferenced but never its bases on their own', async () => {
    const state = await resolveFiles({
      'svc/base/kustomization.yaml': kustomization('resources: [d.yaml]'),
      'svc/base/d.yaml': deployment('api', 'ghcr.io/acme/api:latest'),
      'svc/overlays/dev/kustomization.yaml': kustomization('resources: [../../base]\nimages:\n  - name: ghcr.io/acme/api\n    newTag: dev'),
    });
    expect(rows(state)).toEqual(['svc/overlays/dev | Deployment/-/api | api | ghcr.io/acme/api:dev']);
    expect(state.images[0]?.app).toEqual({ name: 'svc/overlays/dev', kind: 'kustomization', path: 'svc/overlays/dev', unreferenced: true });
    expect(codes(state)).toEqual(['UNREFERENCED svc/overlays/dev/kustomization.yaml:0']);
  });

  it('lists plain manifest directories no app points at, and not those an app renders', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: used'),
      'used/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'ops/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n    - name: sh\n      image: busybox:1.36\n',
    });
    expect(rows(state)).toEqual(['a | Deployment/a-ns/a | a | ghcr.io/acme/a:1', 'ops | Pod/-/debug | sh | docker.io/library/busybox:1.36']);
    expect(state.images[1]?.app.unreferenced).toBe(true);
    expect(codes(state)).toEqual(['UNREFERENCED ops/pod.yaml:0']);
  });

  it('lists a chart no app points at under its path, with its subcharts inside it', async () => {
    const state = await resolveFiles({
      ...chart,
      'charts/web/charts/cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 1.0.0\n',
      'charts/web/charts/cache/values.yaml': 'image: ghcr.io/acme/cache:1\n',
    });
    expect(rows(state)).toEqual(['charts/web | HelmValues/-/image | web | ghcr.io/acme/web:2.0.0']);
    expect(state.images[0]?.app).toEqual({ name: 'charts/web', kind: 'directory', path: 'charts/web', unreferenced: true });
    expect(codes(state)).toEqual(['HELM_NOT_RENDERED charts/web/Chart.yaml:0', 'UNREFERENCED charts/web/Chart.yaml:0']);
  });

  it('reads a vendored subchart\'s values under the parent\'s key, with the subchart\'s own appVersion', async () => {
    const state = await resolveFiles({
      'apps/web.yaml': application('web', 'path: charts/web'),
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\nappVersion: "2.0.0"\ndependencies:\n  - name: cache\n    alias: redis\n    version: 1.0.0\n',
      'charts/web/values.yaml': 'image:\n  repository: ghcr.io/acme/web\nredis:\n  image:\n    tag: "7.2"\n',
      'charts/web/charts/cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 1.0.0\nappVersion: "7.0"\n',
      'charts/web/charts/cache/values.yaml': 'image:\n  repository: ghcr.io/acme/redis\nexporter:\n  image:\n    repository: ghcr.io/acme/redis-exporter\n',
    });
    expect(rows(state)).toEqual([
      'web | HelmValues/web-ns/image | web | ghcr.io/acme/web:2.0.0',
      'web | HelmValues/web-ns/redis.exporter.image | exporter | ghcr.io/acme/redis-exporter:7.0',
      'web | HelmValues/web-ns/redis.image | cache | ghcr.io/acme/redis:7.2',
    ]);
    expect(state.images[2]?.locations).toEqual([
      { file: 'charts/web/charts/cache/values.yaml', line: 2 },
      { file: 'charts/web/values.yaml', line: 5 },
    ]);
  });

  it('lists docker compose files no deployer points at as unreferenced units named after their path', async () => {
    const state = await resolveFiles({
      'docker-compose.yml': 'services:\n  cache:\n    image: redis:7.2\n',
      'deploy/compose.prod.yaml': 'services:\n  api:\n    image: ghcr.io/acme/api:${TAG:-1.0}\n',
    });
    expect(rows(state)).toEqual([
      'deploy/compose.prod.yaml | ComposeService/-/api | api | ghcr.io/acme/api:1.0',
      'docker-compose.yml | ComposeService/-/cache | cache | docker.io/library/redis:7.2',
    ]);
    expect(state.images[1]?.app).toEqual({ name: 'docker-compose.yml', kind: 'compose', path: 'docker-compose.yml', unreferenced: true });
    expect(codes(state)).toEqual(['UNREFERENCED deploy/compose.prod.yaml:0', 'UNREFERENCED docker-compose.yml:0']);
  });

  it('dedupes identical (app, workload, container, image) rows and merges their locations', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: m\ndirectory:\n  recurse: true'),
      'm/one.yaml': deployment('api', 'ghcr.io/acme/api:1'),
      'm/two.yaml': deployment('api', 'ghcr.io/acme/api:1'),
    });
    expect(rows(state)).toEqual(['a | Deployment/a-ns/api | api | ghcr.io/acme/api:1']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'm/one.yaml', line: 10 },
      { file: 'm/two.yaml', line: 10 },
    ]);
  });

  it('turns bad input into findings with file and line and keeps everything valid', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': `${application('a', 'path: m')}---\nkind: [broken\n`,
      'apps/b.yaml': 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: b\n',
      'm/good.yaml': deployment('api', 'ghcr.io/Acme/api:1'),
      'm/bad.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x\n',
    });
    expect(rows(state)).toEqual(['a | Deployment/a-ns/api | api | ghcr.io/Acme/api:1']);
    expect(state.findings.map((f) => `${f.code} ${f.file}`)).toEqual([
      'YAML_ERROR apps/a.yaml',
      'INVALID_RESOURCE apps/b.yaml',
      'YAML_ERROR m/bad.yaml',
      'INVALID_REFERENCE m/good.yaml',
    ]);
    expect(state.findings.every((f) => f.line > 0)).toBe(true);
  });

  it('restricts apps and unreferenced units to the given paths, while apps still render paths outside them', async () => {
    const state = await resolveFiles(
      {
        'team-a/app.yaml': application('a', 'path: shared'),
        'team-b/app.yaml': application('b', 'path: shared'),
        'shared/d.yaml': deployment('api', 'ghcr.io/acme/api:1'),
        'ops/pod.yaml': deployment('ops', 'ghcr.io/acme/ops:1'),
      },
      { paths: ['team-a'] },
    );
    expect(rows(state)).toEqual(['a | Deployment/a-ns/api | api | ghcr.io/acme/api:1']);
  });
});
