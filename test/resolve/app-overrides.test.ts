/**
 * How an app's image overrides join the kustomization's own `images:`. Argo CD runs
 * `kustomize edit set image` (an override replaces the entry of the same name, `*` keeps one of its
 * values) and Flux replaces the entry of the same name in place: neither appends, so an overlay entry
 * that renames the image cannot hide it from the app's override.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { application, codes, deployment, kustomization, resolveFiles, rows } from './helpers.js';

const SELF = 'https://github.com/acme/gitops';
const hasKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).status === 0;

const base = {
  'svc/base/kustomization.yaml': kustomization('resources: [deploy.yaml]'),
  'svc/base/deploy.yaml': deployment('api', 'ghcr.io/acme/api:latest'),
};

const argoApp = (images: string[]) => ({
  'apps/api.yaml': application('api', `repoURL: ${SELF}\npath: svc/overlay\nkustomize:\n  images:\n${images.map((i) => `    - ${i}`).join('\n')}`),
});

const fluxApp = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: api
spec:
  path: ./svc/overlay
  sourceRef:
    kind: GitRepository
    name: gitops
  images:
    - name: ghcr.io/acme/api
      newTag: b
`;

/** `kubectl kustomize` of a directory written from `files`; undefined without kubectl. */
function kubectlImages(files: Record<string, string>, dir: string): string[] | undefined {
  if (!hasKubectl) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'app-overrides-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const out = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    return [...out.matchAll(/image: (\S+)/g)].map((m) => m[1] ?? '');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('Argo CD kustomize.images replace the overlay entry of the same name (kustomize edit set image)', () => {
  it('X=X:b over an overlay newTag a gives b, with the app line last and the replaced overlay line gone', async () => {
    const state = await resolveFiles({
      ...base,
      'svc/overlay/kustomization.yaml': kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newTag: a'),
      ...argoApp(['ghcr.io/acme/api=ghcr.io/acme/api:b']),
    });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:b']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 11 },
    ]);
    expect(codes(state)).toEqual([]);
  });

  it('an override is not hidden by an overlay entry that renames the image (append would give the overlay image)', async () => {
    const overlay = kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newName: ghcr.io/acme/api-next\n    newTag: a');
    const state = await resolveFiles({ ...base, 'svc/overlay/kustomization.yaml': overlay, ...argoApp(['ghcr.io/acme/api:b']) });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:b']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 11 },
    ]);
    // The kustomization as `kustomize edit set image ghcr.io/acme/api:b` leaves it, built by kubectl.
    const edited = kubectlImages(
      { ...base, 'svc/overlay/kustomization.yaml': kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newTag: b') },
      'svc/overlay',
    );
    if (edited) expect(edited).toEqual([state.images[0]?.image]);
  });

  it('`*` keeps the overlay value, and the overlay entry then decides the image too', async () => {
    const overlay = kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newName: ghcr.io/acme/api-next\n    newTag: a');
    const state = await resolveFiles({ ...base, 'svc/overlay/kustomization.yaml': overlay, ...argoApp(['ghcr.io/acme/api=*:b']) });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api-next:b']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'svc/overlay/kustomization.yaml', line: 7 },
      { file: 'apps/api.yaml', line: 11 },
    ]);
    const edited = kubectlImages(
      {
        ...base,
        'svc/overlay/kustomization.yaml': kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newName: ghcr.io/acme/api-next\n    newTag: b'),
      },
      'svc/overlay',
    );
    if (edited) expect(edited).toEqual([state.images[0]?.image]);
  });

  it('`*` with no overlay entry to keep from sets nothing; the last override of a name wins', async () => {
    const state = await resolveFiles({
      ...base,
      'svc/overlay/kustomization.yaml': kustomization('resources: [../base]'),
      ...argoApp(['ghcr.io/acme/api=*:b', 'ghcr.io/acme/api:c']),
    });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:c']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 12 },
    ]);
  });
});

describe('Flux spec.images replace the overlay entry of the same name in place', () => {
  it('gives the Flux tag over an overlay entry that renames the image, with the Flux line last', async () => {
    const overlay = kustomization('resources: [../base]\nimages:\n  - name: ghcr.io/acme/api\n    newName: ghcr.io/acme/api-next\n    newTag: a');
    const state = await resolveFiles({ ...base, 'svc/overlay/kustomization.yaml': overlay, 'clusters/api.yaml': fluxApp });
    expect(rows(state)).toEqual(['api | Deployment/-/api | api | ghcr.io/acme/api:b']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'clusters/api.yaml', line: 11 },
    ]);
  });
});

describe('Argo CD kustomize namePrefix, nameSuffix, namespace, components and patches (kustomize edit)', () => {
  it('renders the overlay edited as Argo CD edits it, and reports an inline patch image at its line in the Application', async () => {
    const files = {
      ...base,
      'svc/overlay/kustomization.yaml': kustomization('resources: [../base]\nnamespace: team'),
      'svc/components/sidecar/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/-\n        value:\n          name: sidecar\n          image: ghcr.io/acme/sidecar:1\n',
      'apps/api.yaml': application(
        'api',
        `repoURL: ${SELF}
path: svc/overlay
kustomize:
  namePrefix: argo-
  nameSuffix: -x
  namespace: argo-ns
  components:
    - ../components/sidecar
    - ../components/missing
  ignoreMissingComponents: true
  patches:
    - target:
        kind: Deployment
        name: api
      patch: |-
        - op: replace
          path: /spec/template/spec/containers/0/image
          value: ghcr.io/acme/api:patched`,
      ),
    };
    const state = await resolveFiles(files);
    expect(rows(state)).toEqual([
      'api | Deployment/argo-ns/argo-api-x | api | ghcr.io/acme/api:patched',
      'api | Deployment/argo-ns/argo-api-x | sidecar | ghcr.io/acme/sidecar:1',
    ]);
    expect(state.images[0]?.locations).toEqual([
      { file: 'svc/base/deploy.yaml', line: 10 },
      { file: 'apps/api.yaml', line: 24 },
    ]);
    expect(codes(state)).toEqual([]);
    const edited = kubectlImages(
      {
        ...files,
        'svc/overlay/kustomization.yaml': kustomization(
          'resources: [../base]\nnamespace: argo-ns\nnamePrefix: argo-\nnameSuffix: -x\ncomponents: [../components/sidecar]\npatches:\n  - target:\n      kind: Deployment\n      name: api\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/image\n        value: ghcr.io/acme/api:patched\n',
        ),
      },
      'svc/overlay',
    );
    if (edited) expect(edited).toEqual(state.images.map((i) => i.image));
  });
});

describe('Flux spec.images over a plain directory (the kustomization Flux generates)', () => {
  it('keeps the last entry of a name, which decides the image even when it writes the base tag again', async () => {
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
    - name: ghcr.io/acme/b
      newTag: "1"
`,
      'deploy/b.yaml': deployment('b', 'ghcr.io/acme/b:1'),
    });
    expect(rows(state)).toEqual(['app | Deployment/-/b | b | ghcr.io/acme/b:1']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'deploy/b.yaml', line: 10 },
      { file: 'flux/app.yaml', line: 10 },
    ]);
  });
});

describe('Argo CD kustomize.components', () => {
  it('adds a component the overlay already lists only once, as kustomize edit add component does', async () => {
    const state = await resolveFiles({
      ...base,
      'svc/overlay/kustomization.yaml': kustomization('resources: [../base]\ncomponents: [../components/sidecar]'),
      'svc/components/sidecar/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [sidecar.yaml]\n',
      'svc/components/sidecar/sidecar.yaml': deployment('sidecar', 'ghcr.io/acme/sidecar:1'),
      'apps/api.yaml': application('api', `repoURL: ${SELF}\npath: svc/overlay\nkustomize:\n  components:\n    - ../components/sidecar`),
    });
    expect(rows(state)).toEqual(['api | Deployment/api-ns/api | api | ghcr.io/acme/api:latest', 'api | Deployment/api-ns/sidecar | sidecar | ghcr.io/acme/sidecar:1']);
    expect(codes(state)).toEqual([]);
  });
});
