import { describe, expect, it } from 'vitest';
import { application, codes, deployment, kustomization, resolveFiles, rows } from './helpers.js';

const SELF = 'https://github.com/acme/gitops';

describe('Argo CD Applications', () => {
  it('renders the overlay an Application points at, with its kustomize.images on top, in the destination namespace', async () => {
    const state = await resolveFiles({
      'apps/api.yaml': application('api', `repoURL: ${SELF}\npath: svc/overlays/dev\nkustomize:\n  images:\n    - ghcr.io/acme/api:argo-tag`),
      'svc/base/kustomization.yaml': kustomization('resources: [deploy.yaml]'),
      'svc/base/deploy.yaml': deployment('api', 'ghcr.io/acme/api:latest'),
      'svc/overlays/dev/kustomization.yaml': kustomization('resources: [../../base]\nimages:\n  - name: ghcr.io/acme/api\n    newTag: dev-latest'),
    });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:argo-tag']);
    // kustomize edit set image replaces the overlay's entry for ghcr.io/acme/api: its newTag line no longer decides the image
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 11 },
    ]);
    expect(state.images[0]?.app).toMatchObject({ name: 'api', kind: 'argocd-application', path: 'svc/overlays/dev', definedAt: { file: 'apps/api.yaml', line: 4 } });
  });

  it('reports a kustomize.images entry that kustomize edit set image rejects at its line, and applies the others', async () => {
    const state = await resolveFiles({
      'apps/api.yaml': application('api', `repoURL: ${SELF}\npath: svc/base\nkustomize:\n  images:\n    - nginx\n    - ghcr.io/acme/api:argo-tag\n    - =ghcr.io/acme/api:x`),
      'svc/base/kustomization.yaml': kustomization('resources: [deploy.yaml]'),
      'svc/base/deploy.yaml': deployment('api', 'ghcr.io/acme/api:latest'),
    });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:argo-tag']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 12 },
    ]);
    expect(codes(state)).toEqual(['INVALID_RESOURCE apps/api.yaml:11', 'INVALID_RESOURCE apps/api.yaml:13']);
    expect(state.findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('"nginx"') });
  });

  it('reads only the top directory of a plain source unless directory.recurse is set', async () => {
    const files = {
      'apps/flat.yaml': application('flat', 'path: manifests'),
      'apps/deep.yaml': application('deep', 'path: manifests\ndirectory:\n  recurse: true'),
      'manifests/a.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'manifests/sub/b.yaml': deployment('b', 'ghcr.io/acme/b:1'),
    };
    const state = await resolveFiles(files);
    expect(rows(state)).toEqual([
      'deep | Deployment/deep-ns/a | a | ghcr.io/acme/a:1',
      'deep | Deployment/deep-ns/b | b | ghcr.io/acme/b:1',
      'flat | Deployment/flat-ns/a | a | ghcr.io/acme/a:1',
    ]);
  });

  it('reports an Application that reads another repository, and a Helm repository chart, as REMOTE_RESOURCE', async () => {
    const state = await resolveFiles(
      {
        'apps/other.yaml': application('other', 'repoURL: https://github.com/acme/elsewhere\npath: x'),
        'apps/chart.yaml': application('chart', 'repoURL: https://charts.bitnami.com/bitnami\nchart: redis\ntargetRevision: 18.0.0'),
        'apps/self.yaml': application('self', 'repoURL: git@github.com:ACME/gitops.git\npath: m'),
        'm/a.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      },
      { repoUrls: [SELF] },
    );
    expect(rows(state)).toEqual(['self | Deployment/self-ns/a | a | ghcr.io/acme/a:1']);
    expect(codes(state)).toEqual(['REMOTE_RESOURCE apps/chart.yaml:8', 'REMOTE_RESOURCE apps/other.yaml:7']);
    expect(state.findings[0]?.message).toContain('Helm chart "redis"');
    expect(state.findings[1]?.message).toContain('1 app reads another repository, https://github.com/acme/elsewhere (other)');
    expect(state.findings[1]?.severity).toBe('warning');
  });

  it('audits the images a remote chart gets from $ref values files of this repository, and says the chart is not fetched', async () => {
    const state = await resolveFiles(
      {
        'apps/redis.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: redis
spec:
  sources:
    - repoURL: https://charts.bitnami.com/bitnami
      chart: redis
      targetRevision: 18.0.0
      helm:
        valueFiles: [values.yaml, $values/redis/values.yaml]
    - repoURL: ${SELF}
      ref: values
`,
        'redis/values.yaml': 'image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2.4\n',
      },
      { repoUrls: [SELF] },
    );
    expect(rows(state)).toEqual(['redis | HelmValues/-/image | redis | docker.io/bitnami/redis:7.2.4']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'redis/values.yaml', line: 2 },
      { file: 'redis/values.yaml', line: 3 },
      { file: 'redis/values.yaml', line: 4 },
    ]);
    expect(codes(state)).toEqual(['REMOTE_RESOURCE apps/redis.yaml:8']);
    expect(state.findings[0]?.message).toContain('only images set in the values it passes are audited');
  });

  it('without repoUrls takes the one repoURL whose path exists to be this repository and says so in a note', async () => {
    const state = await resolveFiles({
      'apps/other.yaml': application('other', 'repoURL: https://github.com/acme/elsewhere\npath: m'),
      'm/a.yaml': deployment('a', 'ghcr.io/acme/a:1'),
    });
    expect(rows(state)).toEqual(['other | Deployment/other-ns/a | a | ghcr.io/acme/a:1']);
    expect(state.notes?.[0]).toBe(
      'the audited repository was taken to be github.com/acme/elsewhere (no --repo-url, no git remote; 1 app path of that URL exists in the tree); pass --repo-url to say otherwise',
    );
  });

  it('without repoUrls and without any path to go by treats every git repoURL as this repository and says so in a note', async () => {
    const state = await resolveFiles({
      'apps/other.yaml': application('other', 'repoURL: https://github.com/acme/elsewhere\npath: gone'),
    });
    expect(codes(state)).toEqual(['MISSING_FILE apps/other.yaml:8']);
    expect(state.notes?.[0]).toContain('repoUrls was not given');
  });

  it('reads an app whose targetRevision is another revision from source.load(revision), once per revision', async () => {
    const state = await resolveFiles(
      {
        'apps/a.yaml': application('a', 'path: m\ntargetRevision: release-1'),
        'apps/b.yaml': application('b', 'path: n\ntargetRevision: release-1'),
        'apps/c.yaml': application('c', 'path: m\ntargetRevision: HEAD'),
        'm/a.yaml': deployment('a', 'ghcr.io/acme/a:head'),
      },
      {},
      { 'release-1': { 'm/a.yaml': deployment('a', 'ghcr.io/acme/a:r1'), 'n/b.yaml': deployment('b', 'ghcr.io/acme/b:r1') } },
    );
    expect(rows(state)).toEqual([
      'a | Deployment/a-ns/a | a | ghcr.io/acme/a:r1',
      'b | Deployment/b-ns/b | b | ghcr.io/acme/b:r1',
      'c | Deployment/c-ns/a | a | ghcr.io/acme/a:head',
    ]);
    expect(state.images[0]?.app.revision).toBe('release-1');
    expect(state.loads).toEqual(['', 'release-1']);
  });

  it('falls back to the audited tree for a revision the source cannot read, marked assumed, with REVISION_UNREADABLE on its line', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: m\ntargetRevision: v9.9.9'),
      'm/a.yaml': deployment('a', 'ghcr.io/acme/a:head'),
    });
    expect(rows(state)).toEqual(['a | Deployment/a-ns/a | a | ghcr.io/acme/a:head']);
    expect(state.images[0]?.revisionAssumed).toBe(true);
    expect(state.images[0]?.app.revision).toBe('v9.9.9');
    expect(codes(state)).toEqual(['REVISION_UNREADABLE apps/a.yaml:8']);
    expect(state.findings[0]?.severity).toBe('warning');
    expect(state.findings[0]?.hint).toContain('--ref v9.9.9');
  });

  it('withholds the images of a kustomize build that fails (a patch that matches nothing) and says so at the kustomization', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: overlay'),
      'base/kustomization.yaml': kustomization('resources:\n  - d.yaml\n'),
      'base/d.yaml': deployment('web', 'ghcr.io/acme/web:1'),
      'overlay/kustomization.yaml': kustomization(`resources:
  - ../base
images:
  - name: ghcr.io/acme/web
    newTag: dev-latest
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: no-such-deployment
      spec:
        replicas: 2
`),
    });
    expect(rows(state)).toEqual([]);
    const withheld = state.findings.find((f) => f.file === 'overlay/kustomization.yaml' && f.message.includes('withheld'));
    expect(withheld?.severity).toBe('error');
    expect(withheld?.message).toContain('kustomize build of overlay (Application a) fails');
    expect(withheld?.message).toContain('its 1 image is withheld from the desired state');
    // The finding that explains the failure is still there.
    expect(state.findings.some((f) => f.code === 'INVALID_RESOURCE' && f.message.includes('kustomize build fails'))).toBe(true);
  });

  it('with --revisions strict reports REVISION_UNAVAILABLE on the targetRevision line and resolves nothing for that app', async () => {
    const state = await resolveFiles(
      {
        'apps/a.yaml': application('a', 'path: m\ntargetRevision: v9.9.9'),
        'm/a.yaml': deployment('a', 'ghcr.io/acme/a:head'),
      },
      { revisions: 'strict' },
    );
    expect(rows(state)).toEqual([]);
    expect(codes(state)).toEqual(['REVISION_UNAVAILABLE apps/a.yaml:8']);
    expect(state.findings[0]?.message).toContain("Application a's desired state is not resolved");
  });

  it('follows app-of-apps recursively, across revisions, and stops at cycles', async () => {
    const state = await resolveFiles(
      {
        'apps/root.yaml': application('root', 'path: apps'),
        'apps/child.yaml': application('child', 'path: more\ntargetRevision: v2'),
      },
      {},
      {
        v2: {
          'more/grandchild.yaml': application('grandchild', 'path: svc\ntargetRevision: v2'),
          'more/loop.yaml': application('loop', 'path: more\ntargetRevision: v2'),
          'svc/a.yaml': deployment('a', 'ghcr.io/acme/a:v2'),
        },
      },
    );
    expect(rows(state)).toEqual(['grandchild | Deployment/grandchild-ns/a | a | ghcr.io/acme/a:v2']);
    expect(state.images[0]?.app.definedAt).toEqual({ file: 'more/grandchild.yaml', line: 4 });
  });

  it('reports a source rendered by a config management plugin as UNRESOLVED_APP instead of guessing from its directory', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: m\nplugin:\n  name: sops'),
      'm/a.yaml': deployment('a', 'ghcr.io/acme/a:1'),
    });
    expect(rows(state)).toEqual([]);
    expect(codes(state)).toEqual(['UNRESOLVED_APP apps/a.yaml:9']);
  });

  it('reports a path that is not in the repository as MISSING_FILE', async () => {
    const state = await resolveFiles({ 'apps/a.yaml': application('a', 'path: nowhere') });
    expect(codes(state)).toEqual(['MISSING_FILE apps/a.yaml:7']);
  });

  it('merges Helm values in Argo CD order: chart values, valueFiles ($ref too), values, valuesObject, parameters', async () => {
    const state = await resolveFiles({
      'apps/web.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  sources:
    - repoURL: ${SELF}
      ref: conf
    - repoURL: ${SELF}
      path: charts/web
      helm:
        valueFiles: [values-prod.yaml, $conf/env/prod.yaml, missing.yaml]
        values: |
          side:
            image: ghcr.io/acme/side:from-values
        valuesObject:
          db:
            image:
              tag: from-object
        parameters:
          - name: api.image.tag
            value: from-param
`,
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\nappVersion: "2.0.0"\n',
      'charts/web/values.yaml':
        'api:\n  image:\n    repository: ghcr.io/acme/api\n    tag: ""\ndb:\n  image:\n    repository: ghcr.io/acme/db\n    tag: "1"\nside:\n  image: ghcr.io/acme/side:1\ncache:\n  image:\n    repository: ghcr.io/acme/cache\n',
      'charts/web/values-prod.yaml': 'cache:\n  image:\n    tag: from-file\n',
      'env/prod.yaml': 'cache:\n  image:\n    registry: ghcr.io\n    repository: acme/cache-ref\n',
      'charts/web/templates/deployment.yaml': 'image: {{ .Values.api.image.repository }}\n  bad: [',
    });
    expect(state.images.map((i) => `${i.container} ${i.image}`)).toEqual([
      'api ghcr.io/acme/api:from-param',
      'cache ghcr.io/acme/cache-ref:from-file',
      'db ghcr.io/acme/db:from-object',
      'side ghcr.io/acme/side:from-values',
    ]);
    const api = state.images[0];
    expect(api?.locations).toEqual([
      { file: 'charts/web/values.yaml', line: 3 },
      { file: 'apps/web.yaml', line: 21 },
    ]);
    expect(state.images[3]?.locations).toEqual([{ file: 'apps/web.yaml', line: 15 }]);
    expect(codes(state)).toEqual(['MISSING_FILE apps/web.yaml:12', 'HELM_NOT_RENDERED charts/web/Chart.yaml:0']);
  });

  it('sets Helm parameters into the values before them as --set does, each value located at its parameter line', async () => {
    const state = await resolveFiles({
      'apps/web.yaml': application(
        'web',
        `path: charts/web
helm:
  valuesObject:
    sidecars:
      - name: a
        image: ghcr.io/acme/a:1
      - name: b
        image: ghcr.io/acme/b:1
  parameters:
    - name: sidecars[1].image
      value: ghcr.io/acme/b:2
    - name: api.image.tag
      value: "1.10"
    - name: extra[0].image
      value: ghcr.io/acme/x:1
    - name: extra[1].image
      value: ghcr.io/acme/y:1
    - name: bad[x]
      value: "1"`,
      ),
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
      'charts/web/values.yaml': 'api:\n  image:\n    repository: ghcr.io/acme/api\n    tag: "1.0"\n',
    });
    const byImage = Object.fromEntries(state.images.map((i) => [i.image, i.locations]));
    expect(Object.keys(byImage).sort()).toEqual(['ghcr.io/acme/a:1', 'ghcr.io/acme/api:1.10', 'ghcr.io/acme/b:2', 'ghcr.io/acme/x:1', 'ghcr.io/acme/y:1']);
    // the list element the parameter did not touch keeps its valuesObject line
    expect(byImage['ghcr.io/acme/a:1']).toEqual([{ file: 'apps/web.yaml', line: 12 }]);
    expect(byImage['ghcr.io/acme/b:2']).toEqual([{ file: 'apps/web.yaml', line: 16 }]);
    expect(byImage['ghcr.io/acme/api:1.10']).toEqual([
      { file: 'charts/web/values.yaml', line: 3 },
      { file: 'apps/web.yaml', line: 18 },
    ]);
    expect(byImage['ghcr.io/acme/x:1']).toEqual([{ file: 'apps/web.yaml', line: 20 }]);
    expect(byImage['ghcr.io/acme/y:1']).toEqual([{ file: 'apps/web.yaml', line: 22 }]);
    expect(codes(state)).toEqual(['INVALID_RESOURCE apps/web.yaml:24', 'HELM_NOT_RENDERED charts/web/Chart.yaml:0']);
  });

  it('reports broken inline Helm values at their line in the Application and keeps the chart\'s images', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: charts/web\nhelm:\n  values: |\n    ok: 1\n    image: [unclosed'),
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
      'charts/web/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: "1"\n',
    });
    expect(rows(state)).toEqual(['a | HelmValues/a-ns/image | web | ghcr.io/acme/web:1']);
    expect(state.findings.filter((f) => f.code === 'YAML_ERROR').map((f) => `${f.file}:${f.line}`)).toEqual(['apps/a.yaml:12']);
  });

  it('falls back to appVersion for an empty tag and reports HELM_NOT_RENDERED once per chart', async () => {
    const state = await resolveFiles({
      'apps/a.yaml': application('a', 'path: charts/web'),
      'apps/b.yaml': application('b', 'path: charts/web'),
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\nappVersion: "2.0.0"\n',
      'charts/web/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: ""\n',
    });
    expect(rows(state)).toEqual([
      'a | HelmValues/a-ns/image | web | ghcr.io/acme/web:2.0.0',
      'b | HelmValues/b-ns/image | web | ghcr.io/acme/web:2.0.0',
    ]);
    expect(state.images[0]?.locations).toContainEqual({ file: 'charts/web/Chart.yaml', line: 4 });
    expect(codes(state)).toEqual(['HELM_NOT_RENDERED charts/web/Chart.yaml:0']);
  });
});

describe('ApplicationSets in a repository', () => {
  it('generates Applications from a git directory generator with Go templates and resolves each', async () => {
    const state = await resolveFiles({
      'apps/set.yaml': `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: svcs
spec:
  goTemplate: true
  generators:
    - git:
        repoURL: ${SELF}
        revision: HEAD
        directories:
          - path: services/*
          - path: services/old
            exclude: true
  template:
    metadata:
      name: '{{.path.basename}}'
    spec:
      source:
        repoURL: ${SELF}
        path: '{{.path.path}}'
      destination:
        namespace: '{{.path.basename}}'
`,
      'services/a/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      'services/b/d.yaml': deployment('b', 'ghcr.io/acme/b:1'),
      'services/old/d.yaml': deployment('old', 'ghcr.io/acme/old:1'),
    });
    expect(rows(state)).toEqual([
      'a | Deployment/a/a | a | ghcr.io/acme/a:1',
      'b | Deployment/b/b | b | ghcr.io/acme/b:1',
      'services/old | Deployment/-/old | old | ghcr.io/acme/old:1',
    ]);
    expect(state.images[0]?.app.definedAt).toEqual({ file: 'apps/set.yaml', line: 17 });
    expect(state.images[2]?.app.unreferenced).toBe(true);
  });

  it('reports UNSUPPORTED_GENERATOR on the generator line and generates nothing from it', async () => {
    const state = await resolveFiles({
      'apps/set.yaml': `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: per-cluster
spec:
  generators:
    - clusters:
        selector:
          matchLabels: { env: prod }
  template:
    metadata:
      name: '{{name}}-api'
    spec:
      source:
        path: m
`,
    });
    expect(rows(state)).toEqual([]);
    expect(codes(state)).toEqual(['UNSUPPORTED_GENERATOR apps/set.yaml:8']);
  });

  it('reports a git generator over another repository as REMOTE_RESOURCE and expands one at an unreadable revision over the audited tree, marked assumed', async () => {
    const set = (name: string, git: string) => `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: ${name}
spec:
  generators:
    - git:
${git}
        directories:
          - path: services/*
  template:
    metadata:
      name: '${name}-{{path.basename}}'
    spec:
      source:
        path: '{{path}}'
`;
    const state = await resolveFiles(
      {
        'apps/remote.yaml': set('remote', '        repoURL: https://github.com/acme/other'),
        'apps/old.yaml': set('old', `        repoURL: ${SELF}\n        revision: v0.1.0`),
        'services/a/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
      },
      { repoUrls: [SELF] },
    );
    expect(codes(state)).toEqual(['REVISION_UNREADABLE apps/old.yaml:9', 'REMOTE_RESOURCE apps/remote.yaml:8']);
    expect(state.findings[1]?.message).toContain('another repository, https://github.com/acme/other (ApplicationSet remote (git generator))');
    expect(state.findings[0]?.message).toContain('ApplicationSet old (git generator)');
    expect(rows(state)).toEqual(['old-a | Deployment/-/a | a | ghcr.io/acme/a:1']);
    expect(state.images[0]?.revisionAssumed).toBe(true);
  });
});
