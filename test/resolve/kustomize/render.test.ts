import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SourceLocation } from '../../../lambdas/engine/model.js';
import {
  findKustomizationFile,
  isKustomizationDir,
  renderKustomization,
  type KustomizeRender,
  type RenderedContainerImage,
} from '../../../lambdas/engine/resolve/kustomize/index.js';
import { directoryTree, memoryTree } from '../../support/memory-tree.js';
import { loadCached } from '../../../lambdas/engine/resolve/kustomize/files.js';

const fixtures = fileURLToPath(new URL('./__fixtures__', import.meta.url));
const tree = directoryTree(fixtures);

/** The location of the `occurrence`-th line of a fixture file that contains `needle`. */
function at(file: string, needle: string, occurrence = 1): SourceLocation {
  const lines = readFileSync(join(fixtures, file), 'utf8').split('\n');
  let seen = 0;
  for (const [i, text] of lines.entries()) {
    if (text.includes(needle) && ++seen === occurrence) return { file, line: i + 1 };
  }
  throw new Error(`${needle} not found ${occurrence} time(s) in ${file}`);
}

function image(render: KustomizeRender, workload: string, container: string): RenderedContainerImage {
  const found = render.images.find((i) => i.workload.name === workload && i.container === container);
  if (!found) throw new Error(`no image for ${workload}/${container}: ${JSON.stringify(render.images.map((i) => `${i.workload.name}/${i.container}`))}`);
  return found;
}

const written = (render: KustomizeRender): Record<string, string> =>
  Object.fromEntries(render.images.map((i) => [`${i.workload.kind}/${i.workload.name}/${i.container}`, i.written]));

describe('renderKustomization: images as the overlay renders them', () => {
  it('reports the tag the overlay sets, with the base image line and the overlay newTag line', () => {
    const render = renderKustomization(tree, 'incident/overlays/dev');
    expect(render.images).toEqual([
      {
        workload: { kind: 'Deployment', namespace: 'auth-dev', name: 'auth-api' },
        container: 'auth-api',
        written: 'ghcr.io/acme/auth-api:dev-latest',
        locations: [at('incident/base/deployment.yaml', 'image: ghcr.io/acme/auth-api:latest'), at('incident/overlays/dev/kustomization.yaml', 'newTag: dev-latest')],
        pod: { serviceAccount: 'default', pullSecrets: [] },
      },
    ]);
    expect(render.findings).toEqual([]);
  });

  it('lists every kustomization directory and file the render read', () => {
    const render = renderKustomization(tree, 'incident/overlays/prod/');
    expect(render.kustomizationDirs).toEqual(['incident/overlays/prod', 'incident/base']);
    expect(render.files).toEqual([
      'incident/overlays/prod/kustomization.yaml',
      'incident/base/kustomization.yaml',
      'incident/base/deployment.yaml',
      'incident/base/service.yaml',
    ]);
  });

  it('applies newName keeping the tag, and matches names exactly as written (the registry port is part of the name)', () => {
    const render = renderKustomization(tree, 'new-name/overlay');
    expect(written(render)).toEqual({
      'Deployment/worker/worker': 'ghcr.io/acme/worker:2.1',
      // written docker.io/prom/statsd-exporter: the short name in images: does not match it
      'Deployment/worker/metrics': 'docker.io/prom/statsd-exporter:v0.26.0',
      'Deployment/worker/proxy': 'mirror.gcr.io/library/nginx:1.27-alpine',
      'Deployment/worker/registry-port': 'registry.internal:5000/team/proxy:4',
      // kustomize compiles the name as a regular expression: '.' matches 'X'
      'Deployment/worker/lookalike': 'ghcrXio/acme/tool:2',
      'Deployment/worker/tool': 'ghcr.io/acme/tool:2',
      // acme/worker does not match acme/worker-extra
      'Deployment/worker/suffix-only': 'acme/worker-extra:1',
    });
    expect(image(render, 'worker', 'metrics').locations).toEqual([at('new-name/base/workers.yaml', 'image: docker.io/prom/statsd-exporter')]);
    expect(image(render, 'worker', 'worker').locations).toEqual([at('new-name/base/workers.yaml', 'image: acme/worker:2.1'), at('new-name/overlay/kustomization.yaml', 'newName: ghcr.io/acme/worker')]);
  });

  it('replaces the tag with a digest, keeps newTag and digest together, and drops a base digest on newTag', () => {
    const render = renderKustomization(tree, 'digest/overlay');
    expect(written(render)).toEqual({
      'StatefulSet/store/digest-only': 'ghcr.io/acme/store@sha256:4444444444444444444444444444444444444444444444444444444444444444',
      'StatefulSet/store/tag-and-digest': 'ghcr.io/acme/cache:2.0@sha256:5555555555555555555555555555555555555555555555555555555555555555',
      'StatefulSet/store/tag-with-digest': 'ghcr.io/acme/index:2.0@sha256:6666666666666666666666666666666666666666666666666666666666666666',
      'StatefulSet/store/pinned-in-base': 'ghcr.io/acme/pinned:3.0',
      'StatefulSet/store/new-tag-drops-digest': 'ghcr.io/acme/agent:1.0',
    });
    expect(image(render, 'store', 'digest-only').locations.at(-1)).toEqual(at('digest/overlay/kustomization.yaml', 'digest: sha256:4444'));
  });

  it('applies each level of a three-deep overlay chain in order, inner first, with every location', () => {
    const render = renderKustomization(tree, 'nested/region/eu-west');
    const web = image(render, 'team-web-staging', 'web');
    expect(web.workload).toEqual({ kind: 'Deployment', namespace: 'web-eu-west', name: 'team-web-staging' });
    expect(web.written).toBe('eu.gcr.io/acme-mirror/web:1.2-rc.1');
    expect(web.locations).toEqual([
      at('nested/base/web.yaml', 'image: web:1.0', 2),
      at('nested/base/kustomization.yaml', 'newName: ghcr.io/acme/web'),
      at('nested/team/kustomization.yaml', 'newTag: "1.1"'),
      at('nested/env/staging/kustomization.yaml', 'newTag: 1.2-rc.1'),
      at('nested/region/eu-west/kustomization.yaml', 'newName: eu.gcr.io/acme-mirror/web'),
    ]);
    expect(image(render, 'team-web-staging', 'migrate').locations[0]).toEqual(at('nested/base/web.yaml', 'image: web:1.0', 1));
    const sidecar = image(render, 'team-web-staging', 'sidecar');
    expect(sidecar.written).toBe('eu.gcr.io/acme-mirror/envoy:v1.31.0');
    // the inline patch's image line inside the kustomization file
    expect(sidecar.locations).toEqual([
      at('nested/base/web.yaml', 'image: envoyproxy/envoy:v1.30.0'),
      at('nested/env/staging/kustomization.yaml', 'image: envoyproxy/envoy:v1.31.0'),
      at('nested/region/eu-west/kustomization.yaml', 'newName: eu.gcr.io/acme-mirror/envoy'),
    ]);
    expect(render.kustomizationDirs).toEqual(['nested/region/eu-west', 'nested/env/staging', 'nested/team', 'nested/base']);
  });

  it('applies components after resources: their patches and images reach the including kustomization\'s resources', () => {
    const render = renderKustomization(tree, 'components/overlay');
    expect(written(render)).toEqual({
      'Deployment/api/debugger': 'busybox:1.36',
      'Deployment/api/api': 'ghcr.io/acme/api:3.2.0-debug',
      'Deployment/api/otel-agent': 'ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.100.0',
      'DaemonSet/otel-collector/collector': 'ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.100.0',
    });
    expect(image(render, 'api', 'otel-agent').locations).toEqual([
      at('components/components/tracing/kustomization.yaml', 'image: otel/opentelemetry-collector:0.98.0'),
      at('components/components/tracing/kustomization.yaml', 'newTag: 0.99.0'),
      at('components/overlay/kustomization.yaml', 'newTag: 0.100.0'),
    ]);
    expect(image(render, 'api', 'debugger').locations).toEqual([at('components/components/debug/debug-patch.yaml', 'image: busybox:1.36')]);
    expect(render.kustomizationDirs).toContain('components/components/tracing');
  });

  it('applies strategic merge and JSON 6902 patches, from files and inline, and records the patch lines', () => {
    const render = renderKustomization(tree, 'patches/overlay');
    expect(written(render)).toEqual({
      'Deployment/frontend/frontend': 'ghcr.io/acme/frontend:1.1.0',
      'Deployment/frontend/nginx': 'nginx:1.27',
      'Deployment/backend/log-shipper': 'fluent/fluent-bit:3.1',
      'Deployment/backend/backend': 'ghcr.io/acme/backend:2.0.0',
      'Deployment/backend/wait-for-db': 'busybox:1.36',
      'Deployment/batch/log-shipper': 'fluent/fluent-bit:3.1',
      'Deployment/batch/batch': 'ghcr.io/acme/batch:1.0.0',
    });
    expect(image(render, 'frontend', 'frontend').locations).toEqual([
      at('patches/base/apps.yaml', 'image: ghcr.io/acme/frontend:1.0.0'),
      at('patches/overlay/frontend-image.yaml', 'image: ghcr.io/acme/frontend:1.1.0'),
    ]);
    expect(image(render, 'frontend', 'nginx').locations).toEqual([at('patches/base/apps.yaml', 'image: nginx:1.25'), at('patches/overlay/kustomization.yaml', '"value": "nginx:1.27"')]);
    expect(image(render, 'backend', 'backend').locations).toEqual([
      at('patches/base/apps.yaml', 'image: ghcr.io/acme/backend:1.0.0'),
      at('patches/overlay/backend-json.yaml', 'value: ghcr.io/acme/backend:2.0.0'),
    ]);
    expect(image(render, 'backend', 'wait-for-db').locations).toEqual([at('patches/overlay/backend-json.yaml', 'image: busybox:1.36')]);
    expect(image(render, 'batch', 'log-shipper').locations).toEqual([
      at('patches/overlay/kustomization.yaml', 'image: fluent/fluent-bit:3.0'),
      at('patches/overlay/kustomization.yaml', 'newTag: "3.1"'),
    ]);
    expect(render.files).toEqual(expect.arrayContaining(['patches/overlay/frontend-image.yaml', 'patches/overlay/backend-json.yaml']));
  });

  it('applies legacy bases, patchesStrategicMerge (file and inline), patchesJson6902 and imageTags', () => {
    const render = renderKustomization(tree, 'patches/legacy');
    expect(written(render)).toEqual({
      'Deployment/frontend/frontend': 'ghcr.io/acme/frontend:0.9.0',
      'Deployment/frontend/nginx': 'nginx:1.25',
      'Deployment/backend/backend': 'ghcr.io/acme/backend:1.5.0',
      'Deployment/batch/batch-init-sidecar': 'ghcr.io/acme/sidecar:0.4',
      'Deployment/batch/batch': 'ghcr.io/acme/batch:1.2.0',
    });
    expect(image(render, 'batch', 'batch').locations.at(-1)).toEqual(at('patches/legacy/batch-patch.yaml', 'image: ghcr.io/acme/batch:1.2.0'));
    expect(image(render, 'backend', 'backend').locations.at(-1)).toEqual(at('patches/legacy/kustomization.yaml', 'image: ghcr.io/acme/backend:1.5.0'));
    expect(image(render, 'frontend', 'frontend').locations.at(-1)).toEqual(at('patches/legacy/frontend-json.yaml', 'value: ghcr.io/acme/frontend:0.9.0'));
    expect(image(render, 'batch', 'batch-init-sidecar').locations).toEqual([
      at('patches/legacy/kustomization.yaml', 'image: ghcr.io/acme/sidecar:0.3'),
      at('patches/legacy/kustomization.yaml', 'newTag: "0.4"'),
    ]);
  });

  it('runs images after patches in the same kustomization, and chains entries in order', () => {
    const render = renderKustomization(tree, 'order/overlay');
    expect(written(render)).toEqual({ 'Deployment/app/app': 'registry.acme.io/app:from-overlay', 'Deployment/app/cache': 'mirror.gcr.io/library/redis:7.4' });
    expect(image(render, 'app', 'app').locations).toEqual([
      at('order/base/app.yaml', 'image: ghcr.io/acme/app:1.0'),
      at('order/base/kustomization.yaml', 'image: ghcr.io/acme/app:from-base-patch'),
      at('order/base/kustomization.yaml', 'newTag: from-base-images'),
      at('order/overlay/kustomization.yaml', 'newName: registry.acme.io/app'),
      at('order/overlay/kustomization.yaml', 'newTag: from-overlay'),
    ]);
    // the name-only `redis` entry in the base changed nothing and is not a location
    expect(image(render, 'app', 'cache').locations).toEqual([
      at('order/base/app.yaml', 'image: redis:7.2'),
      at('order/overlay/kustomization.yaml', 'value: redis:7.4'),
      at('order/overlay/kustomization.yaml', 'newName: mirror.gcr.io/library/redis'),
    ]);
  });

  it('covers CronJobs, Jobs, DaemonSets, Pods, List items and CRD pod templates, containers and initContainers but not ephemeralContainers', () => {
    const render = renderKustomization(tree, 'workloads/overlay');
    expect(written(render)).toEqual({
      'CronJob/prod-nightly-report/fetch': 'curlimages/curl:8.8.0',
      'CronJob/prod-nightly-report/report': 'ghcr.io/acme/report:2024.06',
      'Job/prod-db-migrate/migrate': 'ghcr.io/acme/migrate:1.0',
      'DaemonSet/prod-node-agent/sysctl': 'busybox:1.37',
      'DaemonSet/prod-node-agent/agent': 'ghcr.io/acme/node-agent:0.5',
      'Pod/prod-debug-pod/shell': 'busybox:1.37',
      'Pod/prod-debug-pod/debugger': 'busybox:1.36',
      'ReplicaSet/prod-legacy-rs/legacy': 'ghcr.io/acme/legacy-v2:0.1',
      'Rollout/prod-checkout/checkout': 'ghcr.io/acme/checkout:5.1',
    });
    // namespace: overrides the namespace written in the base
    expect(image(render, 'prod-node-agent', 'agent').workload.namespace).toBe('batch');
    expect(image(render, 'prod-legacy-rs', 'legacy').locations[0]).toEqual(at('workloads/base/list.yaml', 'image: ghcr.io/acme/legacy:0.1'));
    expect(image(render, 'prod-db-migrate', 'migrate').locations).toEqual([at('workloads/base/multi.yaml', 'image: ghcr.io/acme/migrate:1.0')]);
  });

  it('matches patches by the original or the current id, and applies $patch: replace and whole-list JSON replacements', () => {
    const render = renderKustomization(tree, 'edge/replace');
    expect(written(render)).toEqual({ 'Deployment/blue-edge/only': 'ghcr.io/acme/only:1', 'Deployment/blue-listed/replaced-list': 'ghcr.io/acme/replaced:2' });
    expect(image(render, 'blue-edge', 'only').locations).toEqual([at('edge/replace/kustomization.yaml', 'image: ghcr.io/acme/only:1')]);
    expect(image(render, 'blue-listed', 'replaced-list').locations).toEqual([at('edge/replace/kustomization.yaml', 'image: ghcr.io/acme/replaced:2')]);
  });

  it('renders the same base twice when two overlays tell the copies apart', () => {
    const render = renderKustomization(tree, 'edge/diamond');
    expect(written(render)).toEqual({
      'Deployment/blue-edge/edge': 'ghcr.io/acme/edge:blue',
      'Deployment/blue-edge/helper': 'ghcr.io/acme/helper:1.0',
      'Deployment/blue-listed/listed': 'ghcr.io/acme/listed:1.0',
      'Deployment/edge/edge': 'ghcr.io/acme/edge:1.0',
      'Deployment/edge/helper': 'ghcr.io/acme/helper:1.0',
      'Deployment/listed/listed': 'ghcr.io/acme/listed:1.1',
    });
    expect(render.findings).toEqual([]);
  });
});

describe('renderKustomization: replacements', () => {
  it('copies values into images after the images field, with the source field as the location', () => {
    const render = renderKustomization(tree, 'replacements/overlay');
    expect(written(render)).toEqual({
      'Deployment/x-api/init': 'ghcr.io/acme/worker:from-configmap',
      'Deployment/x-api/api': 'ghcr.io/acme/api:4.5.6',
      'Deployment/x-api/worker': 'ghcr.io/acme/worker:from-configmap',
    });
    expect(image(render, 'x-api', 'api').locations).toEqual([
      at('replacements/base/app.yaml', 'image: ghcr.io/acme/api:1.0'),
      at('replacements/overlay/kustomization.yaml', 'newTag: from-images'),
      at('replacements/base/versions.yaml', 'api: "4.5.6"'),
    ]);
    expect(image(render, 'x-api', 'init').locations).toEqual([at('replacements/base/app.yaml', 'image: busybox:1.0'), at('replacements/base/versions.yaml', 'worker-image:')]);
  });
});

describe('renderKustomization: transformers and generators fields', () => {
  it('runs builtin transformer configurations after the images field, from files, inline text and directories', () => {
    const render = renderKustomization(tree, 'transformers/overlay');
    expect(written(render)).toEqual({ 'Deployment/tx-app/app': 'ghcr.io/acme/app:from-transformer', 'Deployment/tx-app/cache': 'redis:from-inline-transformer-tx-tx' });
    expect(image(render, 'tx-app', 'app').locations.slice(-2)).toEqual([
      at('transformers/overlay/kustomization.yaml', 'newTag: from-images'),
      at('transformers/overlay/image-transformers.yaml', 'newTag: from-transformer'),
    ]);
    expect(image(render, 'tx-app', 'cache').locations.slice(-2)).toEqual([
      at('transformers/overlay/kustomization.yaml', 'value: redis:from-inline-transformer'),
      at('transformers/configs/suffix.yaml', 'tagSuffix: -tx'),
    ]);
    expect(render.findings).toEqual([]);
  });

  it('reports transformer and generator plugins it cannot run, and renders the rest', () => {
    const render = renderKustomization(tree, 'errors/plugin');
    expect(render.findings.map((f) => [f.code, f.file, f.line])).toEqual([
      ['REMOTE_RESOURCE', 'errors/plugin/generate.yaml', 1],
      ['REMOTE_RESOURCE', 'errors/plugin/set-image.yaml', 1],
    ]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.0' });
  });
});

describe('renderKustomization: what cannot be rendered becomes findings, the rest still renders', () => {
  it('warns about a file outside the kustomization directory (kustomize refuses it by default) and renders it', () => {
    const render = renderKustomization(tree, 'errors/outside-root');
    expect(render.findings).toEqual([
      expect.objectContaining({ code: 'INVALID_RESOURCE', severity: 'warning', line: 2, message: expect.stringContaining('outside errors/outside-root') }),
    ]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.0' });
  });

  it('reports remote bases with their lines and renders the local ones', () => {
    const render = renderKustomization(tree, 'errors/remote');
    expect(render.findings.map((f) => [f.code, f.line])).toEqual([
      ['REMOTE_RESOURCE', 3],
      ['REMOTE_RESOURCE', 4],
      ['REMOTE_RESOURCE', 5],
    ]);
    expect(render.findings.every((f) => f.file === 'errors/remote/kustomization.yaml')).toBe(true);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.1' });
  });

  it('reports missing resources, directories and patches at the line of their entry', () => {
    const render = renderKustomization(tree, 'errors/missing');
    expect(render.findings.map((f) => [f.code, f.file, f.line])).toEqual([
      ['MISSING_FILE', 'errors/missing/kustomization.yaml', 3],
      ['MISSING_FILE', 'errors/missing/kustomization.yaml', 4],
      ['MISSING_FILE', 'errors/missing/kustomization.yaml', 6],
    ]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.2' });
  });

  it('reports a cycle with its chain and renders what the cycle does not involve', () => {
    const render = renderKustomization(tree, 'errors/cycle-a');
    expect(render.findings).toEqual([
      expect.objectContaining({
        code: 'KUSTOMIZE_CYCLE',
        file: 'errors/cycle-b/kustomization.yaml',
        line: 2,
        message: expect.stringContaining('errors/cycle-a → errors/cycle-b → errors/cycle-a'),
      }),
    ]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.0' });
  });

  it('reports helm charts as not rendered offline', () => {
    const render = renderKustomization(tree, 'errors/helm');
    expect(render.findings).toEqual([expect.objectContaining({ code: 'REMOTE_RESOURCE', line: 4, message: expect.stringContaining('helm chart redis') })]);
    expect(render.images).toHaveLength(1);
  });

  it('keeps the YAML loader\'s findings for a broken file and renders the other files', () => {
    const render = renderKustomization(tree, 'errors/bad-yaml');
    expect(render.findings).toEqual([expect.objectContaining({ code: 'YAML_ERROR', file: 'errors/bad-yaml/broken.yaml' })]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.0', 'Job/good/good': 'ghcr.io/acme/good:1' });
  });

  it('refuses a Component under resources and a plain kustomization under components, as kustomize does', () => {
    const render = renderKustomization(tree, 'errors/wrong-kind');
    expect(render.findings.map((f) => [f.code, f.line])).toEqual([
      ['INVALID_RESOURCE', 3],
      ['INVALID_RESOURCE', 5],
    ]);
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc:1.0' });
  });

  it('reports an unquoted numeric newTag (kustomize refuses it) and a directory without kustomization, and applies the valid entries', () => {
    const render = renderKustomization(tree, 'errors/number-tag');
    expect(render.findings.map((f) => [f.code, f.line])).toEqual([
      ['INVALID_RESOURCE', 6],
      ['MISSING_FILE', 3],
    ]);
    expect(render.findings[0]?.message).toContain('newTag must be a string');
    expect(written(render)).toEqual({ 'Deployment/svc/svc': 'ghcr.io/acme/svc-renamed:1.0' });
  });

  it('reports a container that a patch leaves without an image, at the patch line', () => {
    const memory = memoryTree({
      'app/kustomization.yaml': 'resources:\n  - pod.yaml\npatches:\n  - patch: |-\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: p\n      spec:\n        containers:\n          - name: a\n            image: null\n',
      'app/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: busybox:1\n    - name: b\n      image: busybox:2\n',
    });
    const render = renderKustomization(memory, 'app');
    expect(render.images.map((i) => i.container)).toEqual(['b']);
    expect(render.findings).toEqual([expect.objectContaining({ code: 'INVALID_RESOURCE', file: 'app/kustomization.yaml', line: 12, message: expect.stringContaining('"a" has no image') })]);
  });

  it('reports a resource included twice', () => {
    const render = renderKustomization(tree, 'errors/duplicate');
    expect(render.findings).toEqual([expect.objectContaining({ code: 'INVALID_RESOURCE', line: 3, message: expect.stringContaining('included twice') })]);
    expect(render.images).toHaveLength(1);
  });

  it('reports a kustomization that patches a resource it does not have', () => {
    const render = renderKustomization(tree, 'components/components/debug');
    expect(render.findings).toEqual([expect.objectContaining({ code: 'INVALID_RESOURCE', message: expect.stringContaining('no resource matches strategic merge patch') })]);
  });

  it('reports a directory that is not a kustomization', () => {
    const render = renderKustomization(tree, 'errors/no-kustomization');
    expect(render.findings).toEqual([expect.objectContaining({ code: 'MISSING_FILE', file: 'errors/no-kustomization' })]);
    expect(render.images).toEqual([]);
  });
});

describe('renderKustomization: options and trees', () => {
  it('gives workloads without a namespace the default namespace', () => {
    const render = renderKustomization(tree, 'incident/base', { namespace: 'apps' });
    expect(render.images[0]?.workload).toEqual({ kind: 'Deployment', namespace: 'apps', name: 'auth-api' });
    expect(renderKustomization(tree, 'incident/overlays/dev', { namespace: 'apps' }).images[0]?.workload.namespace).toBe('auth-dev');
  });

  it('applies extra images after the kustomization\'s own, with their location last', () => {
    const argo = { file: 'apps/auth.yaml', line: 12 };
    const render = renderKustomization(tree, 'incident/overlays/dev', { extraImages: [{ name: 'ghcr.io/acme/auth-api', newTag: 'sha-1234', location: argo }] });
    expect(render.images[0]?.written).toBe('ghcr.io/acme/auth-api:sha-1234');
    expect(render.images[0]?.locations).toEqual([at('incident/base/deployment.yaml', 'image: ghcr.io/acme/auth-api'), at('incident/overlays/dev/kustomization.yaml', 'newTag: dev-latest'), argo]);
  });

  it('replaces the kustomization\'s entry of the same name in argocd and flux modes (kustomize edit set image)', () => {
    const argo = { file: 'apps/auth.yaml', line: 12 };
    for (const mode of ['argocd', 'flux'] as const) {
      const render = renderKustomization(tree, 'nested/team', {
        extraImages: [{ name: 'ghcr.io/acme/web', newName: 'ghcr.io/acme/web-next', location: argo }],
        extraImagesMerge: mode,
      });
      // team's newTag "1.1" is replaced, not applied: the tag comes from the base
      expect(image(render, 'team-web', 'web').written).toBe('ghcr.io/acme/web-next:1.0');
      expect(image(render, 'team-web', 'web').locations.at(-1)).toEqual(argo);
    }
    const preserved = renderKustomization(tree, 'nested/team', {
      extraImages: [{ name: 'ghcr.io/acme/web', newName: 'ghcr.io/acme/web-next', newTag: '*', location: argo }],
      extraImagesMerge: 'argocd',
    });
    expect(image(preserved, 'team-web', 'web').written).toBe('ghcr.io/acme/web-next:1.1');
  });

  it('applies an app\'s kustomize edits (prefix, namespace, components, inline patches) as kustomize edit would', () => {
    const app = { file: 'apps/web.yaml', line: 30 };
    const render = renderKustomization(tree, 'nested/team', {
      edits: {
        namePrefix: 'argo-',
        namespace: 'argo-ns',
        components: [{ path: '../../components/components/tracing', location: app }],
        patches: [
          {
            patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: sidecar\n          image: envoyproxy/envoy:argo\n',
            location: app,
            firstLine: 31,
          },
        ],
      },
    });
    // kubectl kustomize renders these images for the same kustomization edited by hand
    expect(written(render)).toEqual({
      'Deployment/argo-web/migrate': 'ghcr.io/acme/web:1.1',
      'Deployment/argo-web/web': 'ghcr.io/acme/web:1.1',
      'Deployment/argo-web/sidecar': 'envoyproxy/envoy:argo',
      'DaemonSet/argo-otel-collector/collector': 'ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.99.0',
    });
    expect(image(render, 'argo-web', 'sidecar').workload.namespace).toBe('argo-ns');
    expect(image(render, 'argo-web', 'sidecar').locations).toEqual([at('nested/base/web.yaml', 'image: envoyproxy/envoy:v1.30.0'), { file: 'apps/web.yaml', line: 40 }]);
    // the edits do not leak into later renders of the same directory
    expect(written(renderKustomization(tree, 'nested/team'))['Deployment/team-web/sidecar']).toBe('envoyproxy/envoy:v1.30.0');
  });

  it('renders from an in-memory tree, at the repository root, and refuses paths that climb out of it', () => {
    const memory = memoryTree({
      'kustomization.yaml': 'resources:\n  - app.yaml\n  - ../outside\nimages:\n  - name: app\n    newTag: v2\n',
      'app.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: app:v1\n',
    });
    expect(isKustomizationDir(memory, '')).toBe(true);
    expect(findKustomizationFile(memory, '.')).toBe('kustomization.yaml');
    const render = renderKustomization(memory, '');
    expect(render.images).toEqual([
      {
        workload: { kind: 'Pod', name: 'app' },
        container: 'app',
        written: 'app:v2',
        locations: [{ file: 'app.yaml', line: 8 }, { file: 'kustomization.yaml', line: 6 }],
        pod: { serviceAccount: 'default', pullSecrets: [] },
      },
    ]);
    expect(render.findings).toEqual([expect.objectContaining({ code: 'MISSING_FILE', line: 3, message: expect.stringContaining('outside the repository') })]);
  });

  it('gives the same result when a shared base is rendered again after other overlays changed their copies', () => {
    const first = renderKustomization(tree, 'incident/overlays/dev');
    renderKustomization(tree, 'incident/overlays/prod');
    renderKustomization(tree, 'incident/overlays/prod', { extraImages: [{ name: 'ghcr.io/acme/auth-api', newTag: 'x', location: { file: 'a', line: 1 } }] });
    expect(renderKustomization(tree, 'incident/overlays/dev')).toEqual(first);
    expect(renderKustomization(tree, 'incident/base').images[0]?.written).toBe('ghcr.io/acme/auth-api:latest');
  });

  it('renders an overlay the same the first time, when rendered again, and when another overlay includes it later', () => {
    const files = {
      'base/kustomization.yaml': 'resources:\n  - deploy.yaml\n',
      'base/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.0\n',
      'dev/kustomization.yaml': 'namespace: dev\nresources:\n  - ../base\nimages:\n  - name: ghcr.io/acme/api\n    newTag: dev\n',
      'top/kustomization.yaml': 'namePrefix: top-\nresources:\n  - ../dev\nimages:\n  - name: ghcr.io/acme/api\n    newTag: top\n',
    };
    // Top-level builds are kept only once asked for twice: each order must give the same renders.
    const devFirst = memoryTree(files);
    const dev = [renderKustomization(devFirst, 'dev'), renderKustomization(devFirst, 'dev'), renderKustomization(devFirst, 'dev')];
    const top = renderKustomization(devFirst, 'top');
    const topFirst = memoryTree(files);
    expect(renderKustomization(topFirst, 'top')).toEqual(top);
    expect(renderKustomization(topFirst, 'dev')).toEqual(dev[0]);
    expect(dev[1]).toEqual(dev[0]);
    expect(dev[2]).toEqual(dev[0]);
    expect(written(dev[0] as KustomizeRender)).toEqual({ 'Deployment/api/api': 'ghcr.io/acme/api:dev' });
    expect(written(top)).toEqual({ 'Deployment/top-api/api': 'ghcr.io/acme/api:top' });
    expect(image(top, 'top-api', 'api').locations).toEqual([
      { file: 'base/deploy.yaml', line: 10 },
      { file: 'dev/kustomization.yaml', line: 6 },
      { file: 'top/kustomization.yaml', line: 6 },
    ]);
  });

  it('renders every fixture kustomization the same alone and after all the others: shared bases and cached builds never leak changes', () => {
    // Components included: rendered on their own first, a kustomization listing one under resources still gets the
    // "is a Component" error.
    const dirs = tree
      .paths()
      .filter((path) => /(^|\/)(kustomization\.ya?ml|Kustomization)$/.test(path))
      .map((path) => path.slice(0, path.lastIndexOf('/')));
    expect(dirs.some((dir) => /^kind: *Component\b/m.test(tree.read(`${dir}/kustomization.yaml`)?.toString('utf8') ?? ''))).toBe(true);
    expect(dirs.length).toBeGreaterThan(30);
    const alone = dirs.map((dir) => renderKustomization(directoryTree(fixtures), dir));
    // One tree for all, in order and then in reverse (later renders read what earlier ones cached and shared).
    const shared = directoryTree(fixtures);
    const forward = dirs.map((dir) => renderKustomization(shared, dir));
    const backward = [...dirs].reverse().map((dir) => renderKustomization(shared, dir)).reverse();
    expect(forward).toEqual(alone);
    expect(backward).toEqual(alone);
  });

  it('refuses a Component listed under resources whether or not it was rendered (and cached) on its own before', () => {
    const files = {
      'component/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - deploy.yaml\n',
      'component/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.0\n',
      'app/kustomization.yaml': 'resources:\n  - ../component\n',
    };
    const fresh = renderKustomization(memoryTree(files), 'app');
    expect(fresh.findings).toEqual([expect.objectContaining({ code: 'INVALID_RESOURCE', file: 'app/kustomization.yaml', line: 2, message: expect.stringContaining('is a Component') })]);
    expect(fresh.images).toEqual([]);
    // The Component rendered on its own once (kept for replay) and twice (cached): the include is still refused.
    for (const times of [1, 2]) {
      const shared = memoryTree(files);
      for (let i = 0; i < times; i++) expect(renderKustomization(shared, 'component').images).toHaveLength(1);
      expect(renderKustomization(shared, 'app')).toEqual(fresh);
    }
  });

  it('never changes the parsed documents a base shares: each transformer works on a copy', () => {
    const overlays: Record<string, string> = {
      namespace: 'namespace: x\n',
      prefix: 'namePrefix: p-\n',
      suffix: 'nameSuffix: -s\n',
      labels: 'commonLabels:\n  team: a\n',
      annotations: 'commonAnnotations:\n  note: b\n',
      patch: 'patches:\n  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: api\n      spec:\n        replicas: 3\n        template:\n          spec:\n            containers:\n              - name: api\n                image: ghcr.io/acme/api:patched\n',
      json6902: 'patches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/image\n        value: ghcr.io/acme/api:json\n      - op: add\n        path: /metadata/labels/added\n        value: x\n',
      'legacy-sm': 'patchesStrategicMerge:\n  - |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: api\n    spec:\n      replicas: 4\n',
      'legacy-json': 'patchesJson6902:\n  - target:\n      group: apps\n      version: v1\n      kind: Deployment\n      name: api\n    patch: |-\n      - op: replace\n        path: /spec/replicas\n        value: 7\n',
      images: 'images:\n  - name: ghcr.io/acme/api\n    newTag: from-images\n',
      replacements: 'replacements:\n  - source:\n      kind: Deployment\n      name: api\n      fieldPath: metadata.name\n    targets:\n      - select:\n          kind: Deployment\n        fieldPaths:\n          - metadata.labels.tier\n',
      transformers: 'transformers:\n  - |-\n    apiVersion: builtin\n    kind: NamespaceTransformer\n    metadata:\n      name: ns\n      namespace: from-plugin\n',
      'with-component': 'components:\n  - ../component\n',
    };
    const files: Record<string, string> = {
      'base/kustomization.yaml': 'resources:\n  - deploy.yaml\n',
      'base/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels:\n    app: api\n    tier: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.0\n',
      // A layer that only lists the base: its build shares the base's documents too.
      'mid/kustomization.yaml': 'resources:\n  - ../base\n',
      'component/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n  - name: ghcr.io/acme/api\n    newTag: from-component\n',
    };
    for (const [name, text] of Object.entries(overlays)) {
      files[`${name}/kustomization.yaml`] = `resources:\n  - ../base\n${text}`;
      files[`via-mid-${name}/kustomization.yaml`] = `resources:\n  - ../mid\n${text}`;
    }
    const dirs = Object.keys(files)
      .filter((path) => path.endsWith('/kustomization.yaml') && path !== 'component/kustomization.yaml')
      .map((path) => path.slice(0, -'/kustomization.yaml'.length));
    const shared = memoryTree(files);
    const parsed = loadCached(shared, 'base/deploy.yaml').documents.map((document) => document.value);
    const pristine = structuredClone(parsed);
    const renders = [...dirs, ...dirs].map((dir) => renderKustomization(shared, dir));
    expect(parsed).toEqual(pristine);
    expect(renders).toEqual([...dirs, ...dirs].map((dir) => renderKustomization(memoryTree(files), dir)));
    expect(written(renders[dirs.indexOf('via-mid-patch')] as KustomizeRender)).toEqual({ 'Deployment/api/api': 'ghcr.io/acme/api:patched' });
    expect(written(renders[dirs.indexOf('via-mid-with-component')] as KustomizeRender)).toEqual({ 'Deployment/api/api': 'ghcr.io/acme/api:from-component' });
    expect(written(renders[dirs.indexOf('base')] as KustomizeRender)).toEqual({ 'Deployment/api/api': 'ghcr.io/acme/api:1.0' });
  });

  it('finds kustomization.yaml, kustomization.yml and Kustomization, and nothing in other directories', () => {
    expect(findKustomizationFile(tree, 'edge/base')).toBe('edge/base/kustomization.yml');
    expect(findKustomizationFile(tree, 'edge/capital')).toBe('edge/capital/Kustomization');
    expect(findKustomizationFile(tree, 'incident/base')).toBe('incident/base/kustomization.yaml');
    expect(isKustomizationDir(tree, 'errors/no-kustomization')).toBe(false);
    expect(isKustomizationDir(tree, 'incident')).toBe(false);
  });
});

describe('renderKustomization: bounded builds', () => {
  it('stops reading YAML past MAX_YAML_DOCUMENTS_PER_RUN (50,000 documents per tree), one finding per unread file', () => {
    const files: Record<string, string> = {};
    for (let f = 0; f < 6; f++) files[`m${f}.yaml`] = 'a: 1\n---\n'.repeat(9_999);
    const tree = memoryTree(files);
    const loaded = Object.keys(files).map((file) => loadCached(tree, file));
    expect(loaded.slice(0, 5).map((l) => l.documents.length)).toEqual([9_999, 9_999, 9_999, 9_999, 9_999]);
    expect(loaded[5]?.documents).toEqual([]);
    expect(loaded[5]?.findings).toEqual([expect.objectContaining({ file: 'm5.yaml', code: 'LIMIT_EXCEEDED', message: expect.stringContaining('(MAX_YAML_DOCUMENTS_PER_RUN)') })]);
  });

  /** Two overlays per level, each including both of the level below under its own name prefix: 2^(levels+1) resources. */
  function diamond(levels: number): Record<string, string> {
    const files: Record<string, string> = {};
    const deployment = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/${name}:1.0\n`;
    for (const side of ['a', 'b']) {
      files[`l0/${side}/kustomization.yaml`] = 'resources:\n  - deploy.yaml\n';
      files[`l0/${side}/deploy.yaml`] = deployment(side);
    }
    for (let level = 1; level <= levels; level++) {
      for (const side of ['a', 'b']) {
        files[`l${level}/${side}/kustomization.yaml`] = `namePrefix: ${side}-\nresources:\n  - ../../l${level - 1}/a\n  - ../../l${level - 1}/b\n`;
      }
    }
    files['kustomization.yaml'] = `resources:\n  - l${levels}/a\n`;
    return files;
  }

  it('renders a small diamond of overlays in full: every path through it is a resource', () => {
    const render = renderKustomization(memoryTree(diamond(3)), '');
    expect(render.images).toHaveLength(2 ** 4 / 2);
    expect(render.findings).toEqual([]);
  });

  it('stops a 60-level diamond (2^60 resources from 242 small files) at MAX_KUSTOMIZE_RESOURCES, with one finding per capped build and no images', () => {
    const render = renderKustomization(memoryTree(diamond(60)), '');
    expect(render.images).toEqual([]);
    const caps = render.findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED');
    expect(caps.length).toBeGreaterThan(0);
    expect(caps[0]?.message).toContain('more than the cap of 10000 resources (MAX_KUSTOMIZE_RESOURCES)');
    // Each capped build is reported once, however many paths lead to it.
    expect(new Set(caps.map((finding) => `${finding.file}:${finding.line}`)).size).toBe(caps.length);
  });

  it('counts an overlay rendered several times once against MAX_KUSTOMIZE_RESOURCES_PER_RUN, as its first build', () => {
    // Five overlays of 9,000 resources and one of 4,000: 49,000 in all, just under the cap when each counts once.
    const configMaps = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${prefix}${i}\n`).join('---\n');
    const files: Record<string, string> = {};
    const sizes = [9_000, 9_000, 9_000, 9_000, 9_000, 4_000];
    sizes.forEach((size, o) => {
      files[`o${o}/kustomization.yaml`] = 'resources:\n  - many.yaml\n  - deploy.yaml\n';
      files[`o${o}/many.yaml`] = configMaps(`c${o}-`, size - 1);
      files[`o${o}/deploy.yaml`] = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app${o}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app${o}:1.0\n`;
    });
    const tree = memoryTree(files);
    const renders = sizes.flatMap((_, o) => [renderKustomization(tree, `o${o}`), renderKustomization(tree, `o${o}`), renderKustomization(tree, `o${o}`)]);
    expect(renders.flatMap((render) => render.findings)).toEqual([]);
    expect(renders.map((render) => render.images.map((i) => i.written))).toEqual(sizes.flatMap((_, o) => Array(3).fill([`ghcr.io/acme/app${o}:1.0`])));
  });

  it('stops the builds of a tree past MAX_KUSTOMIZE_RESOURCES_PER_RUN: many independent capped diamonds stay bounded', () => {
    const files: Record<string, string> = {};
    for (let d = 0; d < 4; d++) for (const [path, text] of Object.entries(diamond(20))) files[`d${d}/${path}`] = text;
    const tree = memoryTree(files);
    const renders = [0, 1, 2, 3].map((d) => renderKustomization(tree, `d${d}`));
    const capNames = renders.flatMap((render) => render.findings.filter((f) => f.code === 'LIMIT_EXCEEDED').map((f) => /\((MAX_[A-Z_]+)\)/.exec(f.message)?.[1]));
    expect(capNames).toContain('MAX_KUSTOMIZE_RESOURCES');
    expect(capNames).toContain('MAX_KUSTOMIZE_RESOURCES_PER_RUN');
    expect(renders.every((render) => render.images.length === 0)).toBe(true);
  });
});
