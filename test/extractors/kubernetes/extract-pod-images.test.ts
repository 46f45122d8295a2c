import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractPodImages, findContainerImages, listResources } from '../../../lambdas/engine/extractors/kubernetes/index.js';
import { loadYamlDocuments, yamlDocumentFromValue, type YamlDocument } from '../../../lambdas/engine/yaml/index.js';

function load(name: string): YamlDocument[] {
  const file = `test/extractors/kubernetes/__fixtures__/${name}`;
  const { documents, findings } = loadYamlDocuments(name, readFileSync(file));
  expect(findings).toEqual([]);
  return documents;
}

function loadText(text: string): YamlDocument {
  const [doc] = loadYamlDocuments('inline.yaml', text).documents;
  if (!doc) throw new Error('no document');
  return doc;
}

describe('extractPodImages', () => {
  it('finds containers, initContainers and ephemeralContainers of built-in workloads and Rollouts, with lines and paths', () => {
    const rows = load('workloads.yaml').flatMap((doc) => {
      const { sites, findings } = extractPodImages(doc);
      expect(findings).toEqual([]);
      return sites.map((s) => [s.workload.kind, s.workload.name, s.workload.namespace, s.containerList, s.container, s.written, s.location.line, s.path.join('.')]);
    });
    expect(rows).toEqual([
      ['Deployment', 'auth-api', 'auth', 'containers', 'api', 'ghcr.io/acme/auth-api:dev-latest', 14, 'spec.template.spec.containers.0.image'],
      ['Deployment', 'auth-api', 'auth', 'containers', 'proxy', 'envoyproxy/envoy:v1.31.0', 16, 'spec.template.spec.containers.1.image'],
      ['Deployment', 'auth-api', 'auth', 'initContainers', 'migrate', 'ghcr.io/acme/auth-migrate:1.4.0', 11, 'spec.template.spec.initContainers.0.image'],
      ['CronJob', 'nightly', undefined, 'containers', 'report', 'ghcr.io/acme/report:2', 30, 'spec.jobTemplate.spec.template.spec.containers.0.image'],
      ['Pod', 'debug', undefined, 'containers', 'shell', 'busybox', 39, 'spec.containers.0.image'],
      ['Pod', 'debug', undefined, 'ephemeralContainers', 'dbg', 'nicolaka/netshoot', 42, 'spec.ephemeralContainers.0.image'],
      ['Rollout', 'web', undefined, 'containers', 'web', `ghcr.io/acme/web@sha256:${'a'.repeat(64)}`, 55, 'spec.template.spec.containers.0.image'],
    ]);
    expect(extractPodImages(load('workloads.yaml')[0] as YamlDocument).sites[0]?.location.file).toBe('workloads.yaml');
  });

  it('expands List items with their own lines and paths', () => {
    const [doc] = load('list.yaml');
    const resources = listResources(doc as YamlDocument);
    expect(resources.map((r) => [r.kind, r.name, r.path, r.location.line])).toEqual([
      ['StatefulSet', 'db', ['items', 0], 4],
      ['DaemonSet', 'agent', ['items', 1], 14],
    ]);
    const { sites } = extractPodImages(doc as YamlDocument);
    expect(sites.map((s) => [s.workload.name, s.written, s.location.line, s.path.join('.')])).toEqual([
      ['db', 'postgres:16', 13, 'spec.template.spec.containers.0.image'],
      ['agent', 'ghcr.io/acme/agent:3', 23, 'spec.template.spec.containers.0.image'],
    ]);
  });

  it('finds pod templates in unknown custom resources by shape', () => {
    const doc = loadText(`apiVersion: example.com/v1
kind: Worker
metadata: {name: w}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: run
              image: ghcr.io/acme/worker:1
`);
    expect(extractPodImages(doc).sites.map((s) => [s.workload.kind, s.written, s.location.line])).toEqual([['Worker', 'ghcr.io/acme/worker:1', 11]]);
  });

  it('reports containers without an image or with a non-string image as INVALID_RESOURCE and keeps the others', () => {
    const doc = loadText(`apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  template:
    spec:
      containers:
        - name: noimage
        - name: number
          image: 42
        - name: ok
          image: nginx
        - just-a-string
`);
    const { sites, findings } = extractPodImages(doc);
    expect(sites.map((s) => s.container)).toEqual(['ok']);
    expect(findings.map((f) => [f.code, f.line, f.message])).toEqual([
      ['INVALID_RESOURCE', 13, 'Deployment broken: containers[3] is not an object'],
      ['INVALID_RESOURCE', 8, 'Deployment broken: containers "noimage" has no image'],
      ['INVALID_RESOURCE', 10, 'Deployment broken: containers "number" has an image that is not a string (number)'],
    ]);
  });

  it('reports a container list that is not a list', () => {
    const doc = loadText('kind: Pod\nmetadata: {name: p}\nspec:\n  containers: {name: x, image: y}\n');
    const { sites, findings } = extractPodImages(doc);
    expect(sites).toEqual([]);
    expect(findings.map((f) => [f.line, f.message])).toEqual([[4, 'Pod p: containers is not a list']]);
  });

  it('ignores documents that are not resources and resources without pod templates', () => {
    expect(extractPodImages(loadText('just: data\nimage: nginx\n'))).toEqual({ sites: [], findings: [] });
    expect(extractPodImages(loadText('- a\n- b\n'))).toEqual({ sites: [], findings: [] });
    expect(extractPodImages(loadText('kind: Service\nmetadata: {name: s}\nspec: {ports: []}\n'))).toEqual({ sites: [], findings: [] });
  });

  it('works on rendered objects through yamlDocumentFromValue and findContainerImages', () => {
    const rendered = { kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'ghcr.io/o/a:1' }] } } } };
    expect(findContainerImages(rendered)).toEqual([
      { containerList: 'containers', container: 'a', path: ['spec', 'template', 'spec', 'containers', 0, 'image'], image: 'ghcr.io/o/a:1', pod: { serviceAccount: 'default', pullSecrets: [] } },
    ]);
    const { sites } = extractPodImages(yamlDocumentFromValue('overlay/kustomization.yaml', rendered, 7));
    expect(sites[0]?.location).toEqual({ file: 'overlay/kustomization.yaml', line: 7 });
  });
});
