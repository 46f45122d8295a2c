/**
 * imagePullSecrets carried into the desired state: from the pod spec, and from the ServiceAccount the pod
 * uses when the repository defines it in the same namespace (plain directories and kustomize output).
 */
import { describe, expect, it } from 'vitest';
import { checkDesiredImages } from '../../lambdas/engine/audit.js';
import type { ImageChecker, ImageReference } from '../../lambdas/engine/model.js';
import { resolveFiles } from './helpers.js';

const podDeployment = (name: string, image: string, podSpec = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: team
spec:
  template:
    spec:
${podSpec}      containers:
        - name: ${name}
          image: ${image}
`;

const serviceAccount = (name: string, namespace: string | undefined, secrets: string[]) => `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}${secrets.length ? `imagePullSecrets:\n${secrets.map((s) => `  - name: ${s}\n`).join('')}` : ''}`;

/** Answers PRIVATE for every image: the registry verdict the pull secrets decide about. */
const privateRegistry: ImageChecker = {
  async check(images: readonly ImageReference[]) {
    return images.map((ref) => ({ image: ref.canonical, status: 'PRIVATE' as const, evidence: {}, hint: 'It is private.' }));
  },
};

describe('pull access in the desired state', () => {
  it('reads imagePullSecrets from the pod spec', async () => {
    const state = await resolveFiles({
      'apps/api.yaml': podDeployment('api', 'ghcr.io/acme/api:1', '      imagePullSecrets:\n        - name: ghcr-pull\n'),
    });
    expect(state.images[0]?.pullAccess).toEqual({ serviceAccount: 'default', pullSecrets: ['ghcr-pull'] });
  });

  it('adds the imagePullSecrets of the named ServiceAccount in the same namespace, with where it is defined', async () => {
    const state = await resolveFiles({
      'apps/api.yaml': podDeployment('api', 'ghcr.io/acme/api:1', '      serviceAccountName: api-runner\n'),
      'apps/sa.yaml': serviceAccount('api-runner', 'team', ['ghcr-pull', 'mirror-pull']),
      'apps/other-ns.yaml': serviceAccount('api-runner', 'elsewhere', ['wrong']),
    });
    expect(state.images[0]?.pullAccess).toEqual({
      serviceAccount: 'api-runner',
      pullSecrets: [],
      serviceAccountSecrets: ['ghcr-pull', 'mirror-pull'],
      serviceAccountAt: { file: 'apps/sa.yaml', line: 1 },
    });
  });

  it('uses the default ServiceAccount when the pod names none, and the kustomize namespace as rendered', async () => {
    const state = await resolveFiles({
      'deploy/kustomization.yaml': 'namespace: team\nresources:\n  - deployment.yaml\n  - sa.yaml\n',
      'deploy/deployment.yaml': podDeployment('api', 'ghcr.io/acme/api:1').replace('  namespace: team\n', ''),
      'deploy/sa.yaml': serviceAccount('default', undefined, ['ghcr-pull']),
    });
    expect(state.images[0]?.workload.namespace).toBe('team');
    expect(state.images[0]?.pullAccess).toMatchObject({ serviceAccount: 'default', pullSecrets: [], serviceAccountSecrets: ['ghcr-pull'] });
  });

  it('a private image pulled by a workload without any pull secret is named in the result and its hint', async () => {
    const state = await resolveFiles({
      'apps/api.yaml': podDeployment('api', 'ghcr.io/acme/api:1', '      serviceAccountName: api-runner\n'),
      'apps/worker.yaml': podDeployment('worker', 'ghcr.io/acme/api:1', '      imagePullSecrets:\n        - name: ghcr-pull\n'),
    });
    const [result] = await checkDesiredImages(state.images, privateRegistry);
    expect(result?.pullAccess).toEqual({
      secrets: ['ghcr-pull'],
      workloadsWithout: ['apps: Deployment/team/api (ServiceAccount api-runner, not in the repository)'],
    });
    expect(result?.hint).toContain('No imagePullSecret on the pod spec or its ServiceAccount for: apps: Deployment/team/api');
  });

  it('says nothing about pull secrets for images whose pod spec is unknown (Helm values)', async () => {
    const state = await resolveFiles({
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
      'charts/web/values.yaml': 'image:\n  repository: ghcr.io/acme/web\n  tag: "1.0"\n',
    });
    expect(state.images.length).toBeGreaterThan(0);
    const [result] = await checkDesiredImages(state.images, privateRegistry);
    expect(result?.pullAccess).toBeUndefined();
    expect(result?.hint).toBe('It is private.');
  });
});
