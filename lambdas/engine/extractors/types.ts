import type { Finding, PodPullConfig, SourceLocation, Workload } from '../model.js';

/** A JSON path inside a resource or values tree. */
export type ValuePath = (string | number)[];

export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

/** One `image:` of a container in a pod template, as written in the file. */
export interface ContainerImageSite {
  workload: Workload;
  container: string;
  containerList: ContainerList;
  /** The image text exactly as written (not normalised). */
  written: string;
  location: SourceLocation;
  /** JSON path of the image node inside the resource (`spec.template.spec.containers[0].image`); kustomize patches need it. */
  path: ValuePath;
  /** The pod spec's ServiceAccount and imagePullSecrets. */
  pod?: PodPullConfig;
}

/** What an extractor found in one document: sites, and the findings about what it could not read. */
export interface Extracted<Site> {
  sites: Site[];
  findings: Finding[];
  /** Things deliberately not done (e.g. compose services that only build). */
  notes?: string[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of keys and list indexes; undefined when the path does not exist. */
export function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isRecord(current)) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

export function stringField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}
