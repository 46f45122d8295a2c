/**
 * A deterministic generated GitOps repository for the benchmarks: per service a kustomize base
 * (two files of nine documents), a dev overlay with an image override and a patch, a prod overlay
 * with two overrides and more resources, and an ApplicationSet over both. 625 services make
 * 5,000 files and 20,000 documents.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface GeneratedRepository {
  files: number;
  documents: number;
  overlays: string[];
}

function deployment(name: string, image: string, sidecar: boolean): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: { app: ${name} }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      initContainers:
        - name: init
          image: ghcr.io/acme-corp/init:1.0.0
      containers:
        - name: ${name}
          image: ${image}
          ports: [{ containerPort: 8080 }]
          env:
            - { name: LOG_LEVEL, value: info }
${sidecar ? '        - name: proxy\n          image: ghcr.io/acme-corp/envoy-proxy:1.29.1\n' : ''}`;
}

const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;

const configMap = (name: string, i: number) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
data:
  SETTING_${i}: "value-${i}"
  FEATURE_FLAGS: "a,b,c"
`;

const serviceAccount = (name: string) => `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
`;

const cronJob = (name: string, image: string) => `apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}-cleanup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: ${image}
`;

/** Nine documents: three Deployments, a CronJob, two Services, a ConfigMap, a ServiceAccount, a PDB. */
function nineDocuments(svc: string, part: string, i: number): string {
  const repo = `ghcr.io/acme-corp/${svc}`;
  return [
    deployment(`${svc}-${part}-a`, `${repo}:latest`, true),
    deployment(`${svc}-${part}-b`, `${repo}-worker:latest`, false),
    deployment(`${svc}-${part}-c`, `${repo}-${part}:1.${i % 7}.0`, false),
    cronJob(`${svc}-${part}`, `ghcr.io/acme-corp/cleanup:2.${i % 3}`),
    service(`${svc}-${part}-a`),
    service(`${svc}-${part}-b`),
    configMap(`${svc}-${part}`, i),
    serviceAccount(`${svc}-${part}`),
    `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: ${svc}-${part}\nspec:\n  minAvailable: 1\n`,
  ].join('---\n');
}

export function generateGitOpsRepository(root: string, services = 625): GeneratedRepository {
  let files = 0;
  let documents = 0;
  const overlays: string[] = [];
  const write = (path: string, text: string) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
    files++;
    documents += text.split(/^---$/m).filter((part) => part.trim() !== '').length;
  };
  for (let i = 0; i < services; i++) {
    const svc = `svc${String(i).padStart(4, '0')}`;
    const dir = `services/${svc}`;
    const repo = `ghcr.io/acme-corp/${svc}`;
    write(`${dir}/base/kustomization.yaml`, `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - workloads.yaml\n  - more.yaml\n`);
    write(`${dir}/base/workloads.yaml`, nineDocuments(svc, 'core', i));
    write(`${dir}/base/more.yaml`, nineDocuments(svc, 'extra', i + 1));
    write(
      `${dir}/overlays/dev/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${svc}-dev\nresources:\n  - ../../base\npatches:\n  - path: patch.yaml\nimages:\n  - name: ${repo}\n    newTag: dev-${i}\n`,
    );
    write(
      `${dir}/overlays/dev/patch.yaml`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${svc}-core-a\nspec:\n  template:\n    spec:\n      containers:\n        - name: proxy\n          image: ghcr.io/acme-corp/envoy-proxy:1.30.0\n`,
    );
    write(
      `${dir}/overlays/prod/kustomization.yaml`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${svc}-prod\nresources:\n  - ../../base\n  - resources.yaml\nimages:\n  - name: ${repo}\n    newTag: ${(0x3f9c2e1 + i).toString(16)}\n  - name: ${repo}-worker\n    newTag: "1.${i % 5}.0"\n`,
    );
    write(`${dir}/overlays/prod/resources.yaml`, nineDocuments(svc, 'prod', i + 2));
    write(
      `apps/${svc}.yaml`,
      `apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: ${svc}\nspec:\n  generators:\n    - list:\n        elements: [{ env: dev }, { env: prod }]\n  template:\n    metadata:\n      name: '${svc}-{{env}}'\n    spec:\n      source:\n        repoURL: https://github.com/acme-corp/gitops\n        targetRevision: HEAD\n        path: '${dir}/overlays/{{env}}'\n      destination:\n        namespace: '${svc}-{{env}}'\n`,
    );
    overlays.push(`${dir}/overlays/dev`, `${dir}/overlays/prod`);
  }
  return { files, documents, overlays };
}

