import type { Finding, PodPullConfig, Workload } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import { isRecord, type ContainerImageSite, type ContainerList, type Extracted, type ValuePath } from '../types.js';
import { podPullConfig } from './pull-secrets.js';
import { listResources, type KubernetesResource } from './resources.js';

const CONTAINER_LISTS: readonly ContainerList[] = ['containers', 'initContainers', 'ephemeralContainers'];

/** Where pod specs live, by kind; anything else is probed generically (see findPodSpecPaths). */
const POD_SPEC_PATHS: Readonly<Record<string, readonly ValuePath[]>> = {
  Pod: [['spec']],
  PodTemplate: [['template', 'spec']],
  CronJob: [['spec', 'jobTemplate', 'spec', 'template', 'spec']],
};
const GENERIC_POD_SPEC_PATHS: readonly ValuePath[] = [
  ['spec', 'template', 'spec'], // Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Argo Rollout, most CRDs
  ['spec', 'jobTemplate', 'spec', 'template', 'spec'], // CronJob-like CRDs
];

/** One container's image slot in a resource, before it is judged: `image` is whatever the YAML holds. */
export interface ContainerImageSlot {
  containerList: ContainerList;
  /** `name`, or `#<index>` when the container has none. */
  container: string;
  /** Path of the `image` node inside the resource. */
  path: ValuePath;
  image: unknown;
  /** The pod spec's ServiceAccount and imagePullSecrets. */
  pod: PodPullConfig;
}

/**
 * Images of every pod template in a document (List items included).
 * Returns `{ sites, findings }`: a container whose image is missing or not a string gives an
 * INVALID_RESOURCE finding at the container's line instead of a site.
 */
export function extractPodImages(document: YamlDocument): Extracted<ContainerImageSite> {
  const sites: ContainerImageSite[] = [];
  const findings: Finding[] = [];
  for (const resource of listResources(document)) {
    const extracted = extractResourcePodImages(resource);
    sites.push(...extracted.sites);
    findings.push(...extracted.findings);
  }
  return { sites, findings };
}

/** Same as extractPodImages, for one resource (useful after List expansion or on rendered objects). */
export function extractResourcePodImages(resource: KubernetesResource): Extracted<ContainerImageSite> {
  const sites: ContainerImageSite[] = [];
  const findings: Finding[] = [];
  const workload: Workload = { kind: resource.kind, name: resource.name ?? '' };
  if (resource.namespace !== undefined) workload.namespace = resource.namespace;
  const { document } = resource;
  const lineOf = (path: ValuePath): number => document.lineOf([...resource.path, ...path]);
  const label = `${resource.kind} ${resource.name ?? '(unnamed)'}`;

  for (const slot of findContainerImages(resource.value, (problem, path) => {
    findings.push(invalidResource(document.file, lineOf(path), `${label}: ${problem}`));
  })) {
    if (typeof slot.image === 'string') {
      sites.push({
        workload,
        container: slot.container,
        containerList: slot.containerList,
        written: slot.image,
        location: { file: document.file, line: lineOf(slot.path) },
        path: slot.path,
        pod: slot.pod,
      });
      continue;
    }
    const what = slot.image === undefined || slot.image === null ? 'has no image' : `has an image that is not a string (${typeof slot.image})`;
    findings.push(invalidResource(document.file, lineOf(slot.path), `${label}: ${slot.containerList} "${slot.container}" ${what}`));
  }
  return { sites, findings };
}

/**
 * Image slots of the pod specs in a resource object, with paths relative to it. Pure: works on
 * rendered or patched objects too. `onProblem` hears about container lists that are not lists.
 */
export function findContainerImages(
  resource: unknown,
  onProblem: (problem: string, path: ValuePath) => void = () => {},
): ContainerImageSlot[] {
  const slots: ContainerImageSlot[] = [];
  for (const specPath of findPodSpecPaths(resource)) {
    const spec = valueAt(resource, specPath);
    if (!isRecord(spec)) continue;
    const pod = podPullConfig(spec);
    for (const list of CONTAINER_LISTS) {
      const containers = spec[list];
      if (containers === undefined || containers === null) continue;
      if (!Array.isArray(containers)) {
        onProblem(`${list} is not a list`, [...specPath, list]);
        continue;
      }
      containers.forEach((container, index) => {
        const containerPath = [...specPath, list, index];
        if (!isRecord(container)) {
          onProblem(`${list}[${index}] is not an object`, containerPath);
          return;
        }
        const name = typeof container['name'] === 'string' ? container['name'] : `#${index}`;
        slots.push({ containerList: list, container: name, path: [...containerPath, 'image'], image: container['image'], pod });
      });
    }
  }
  return slots;
}

/** Paths of pod specs inside a resource: known kinds first, then any `spec.template.spec` that holds containers. */
export function findPodSpecPaths(resource: unknown): ValuePath[] {
  if (!isRecord(resource)) return [];
  const kind = typeof resource['kind'] === 'string' ? resource['kind'] : '';
  const known = POD_SPEC_PATHS[kind];
  if (known) return known.filter((path) => isRecord(valueAt(resource, path))).map((path) => [...path]);
  return GENERIC_POD_SPEC_PATHS.filter((path) => looksLikePodSpec(valueAt(resource, path))).map((path) => [...path]);
}

function looksLikePodSpec(value: unknown): boolean {
  return isRecord(value) && CONTAINER_LISTS.some((list) => Array.isArray(value[list]));
}

function valueAt(value: unknown, path: ValuePath): unknown {
  let current = value;
  for (const segment of path) {
    if (isRecord(current)) current = current[String(segment)];
    else if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else return undefined;
  }
  return current;
}

function invalidResource(file: string, line: number, message: string): Finding {
  return { file, line, code: 'INVALID_RESOURCE', message, severity: 'warning' };
}
