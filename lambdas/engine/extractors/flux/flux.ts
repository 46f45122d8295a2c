import type { Finding, SourceLocation } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import type { HelmValuesLayer } from '../helm/index.js';
import type { KubernetesResource } from '../kubernetes/index.js';
import { substituteVariables, type SubstitutionResult } from '../substitute.js';
import { isRecord, stringField, type ValuePath } from '../types.js';

const HELM_API_GROUP = 'helm.toolkit.fluxcd.io/';
const KUSTOMIZE_API_GROUP = 'kustomize.toolkit.fluxcd.io/';

export interface FluxSourceRef {
  kind: string;
  name: string;
  namespace?: string;
}

/** A reference to a cluster object (ConfigMap or Secret) that we cannot read from Git. */
export interface FluxObjectRef {
  kind: string;
  name: string;
  optional?: boolean;
  valuesKey?: string;
  targetPath?: string;
  location: SourceLocation;
}

export type FluxHelmChartRef =
  | { name: string; version?: string; sourceRef: FluxSourceRef }
  | { chartRef: FluxSourceRef };

export interface FluxHelmRelease {
  name: string;
  namespace?: string;
  releaseName?: string;
  targetNamespace?: string;
  /** `spec.chart.spec` (chart name, version, sourceRef) or `spec.chartRef`; absent when neither is written. */
  chart?: FluxHelmChartRef;
  /** `spec.values`; `{}` when absent. */
  values: unknown;
  /** `spec.values` as a values layer (lines in this file), for mergeHelmValueLayers. */
  valuesLayer: HelmValuesLayer;
  /** `spec.valuesFrom`: cluster objects, not followed. */
  valuesFrom: FluxObjectRef[];
  location: SourceLocation;
}

export interface FluxKustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  location: SourceLocation;
  /** Path of the entry inside the resource (`['spec', 'images', 0]`). */
  path: ValuePath;
}

export interface FluxKustomization {
  name: string;
  namespace?: string;
  /** `spec.path` as written (`./apps/prod`); `''` when absent (the source's root). */
  path: string;
  sourceRef?: FluxSourceRef;
  targetNamespace?: string;
  /** `spec.images`: kustomize image overrides applied on top of the build. */
  images: FluxKustomizeImage[];
  /** `spec.postBuild.substitute`. */
  substitute: Record<string, string>;
  /** Line of each substitute variable, for locations of substituted images. */
  substituteLocations: Record<string, SourceLocation>;
  /** `spec.postBuild.substituteFrom`: cluster objects, not followed. */
  substituteFrom: FluxObjectRef[];
  location: SourceLocation;
}

type ResourceInput = KubernetesResource | YamlDocument;

/**
 * Reads a Flux HelmRelease (helm.toolkit.fluxcd.io, any version). Returns no release for other kinds.
 * `valuesFrom` entries come back with an info finding each: they live in the cluster, not in Git.
 */
export function readHelmRelease(input: ResourceInput): { release?: FluxHelmRelease; findings: Finding[] } {
  const findings: Finding[] = [];
  const resource = asResource(input);
  if (!resource || resource.kind !== 'HelmRelease' || !resource.apiVersion?.startsWith(HELM_API_GROUP)) return { findings };
  const { at, file } = resource;
  const spec = isRecord(resource.value['spec']) ? resource.value['spec'] : {};

  const values = spec['values'] ?? {};
  const release: FluxHelmRelease = {
    name: resource.name,
    values,
    valuesLayer: {
      name: `HelmRelease ${resource.name} values`,
      values,
      locate: (valuesPath) => at(['spec', 'values', ...valuesPath]),
    },
    valuesFrom: readObjectRefs(spec['valuesFrom'], ['spec', 'valuesFrom'], at),
    location: at([]),
  };
  if (resource.namespace !== undefined) release.namespace = resource.namespace;
  for (const key of ['releaseName', 'targetNamespace'] as const) {
    const field = stringField(spec, key);
    if (field !== undefined) release[key] = field;
  }

  const chartSpec = isRecord(spec['chart']) && isRecord(spec['chart']['spec']) ? spec['chart']['spec'] : undefined;
  const chartRef = readSourceRef(spec['chartRef']);
  if (chartSpec) {
    const chartName = stringField(chartSpec, 'chart');
    const sourceRef = readSourceRef(chartSpec['sourceRef']);
    if (chartName !== undefined && sourceRef) {
      const chart: FluxHelmChartRef = { name: chartName, sourceRef };
      const version = chartSpec['version'];
      if (typeof version === 'string' || typeof version === 'number') chart.version = String(version);
      release.chart = chart;
    } else {
      findings.push(invalid(at(['spec', 'chart', 'spec']), `HelmRelease ${resource.name}: spec.chart.spec needs chart and sourceRef (kind, name)`));
    }
  } else if (chartRef) {
    release.chart = { chartRef };
  } else {
    findings.push(invalid(at(['spec']), `HelmRelease ${resource.name}: neither spec.chart.spec nor spec.chartRef`));
  }

  for (const ref of release.valuesFrom) {
    findings.push({
      file,
      line: ref.location.line,
      code: 'REMOTE_RESOURCE',
      severity: 'info',
      message: `HelmRelease ${resource.name}: valuesFrom ${ref.kind}/${ref.name} is a cluster object; values set there are not audited`,
    });
  }
  return { release, findings };
}

/**
 * Reads a Flux Kustomization (kustomize.toolkit.fluxcd.io, any version; not kustomize.config.k8s.io).
 * `postBuild.substituteFrom` entries come back with an info finding each.
 */
export function readFluxKustomization(input: ResourceInput): { kustomization?: FluxKustomization; findings: Finding[] } {
  const findings: Finding[] = [];
  const resource = asResource(input);
  if (!resource || resource.kind !== 'Kustomization' || !resource.apiVersion?.startsWith(KUSTOMIZE_API_GROUP)) return { findings };
  const { at, file } = resource;
  const spec = isRecord(resource.value['spec']) ? resource.value['spec'] : {};
  const postBuild = isRecord(spec['postBuild']) ? spec['postBuild'] : {};

  const kustomization: FluxKustomization = {
    name: resource.name,
    path: stringField(spec, 'path') ?? '',
    images: [],
    substitute: {},
    substituteLocations: {},
    substituteFrom: readObjectRefs(postBuild['substituteFrom'], ['spec', 'postBuild', 'substituteFrom'], at),
    location: at([]),
  };
  if (resource.namespace !== undefined) kustomization.namespace = resource.namespace;
  const targetNamespace = stringField(spec, 'targetNamespace');
  if (targetNamespace !== undefined) kustomization.targetNamespace = targetNamespace;
  const sourceRef = readSourceRef(spec['sourceRef']);
  if (sourceRef) kustomization.sourceRef = sourceRef;
  else findings.push(invalid(at(['spec']), `Kustomization ${resource.name}: spec.sourceRef needs kind and name`));

  const images = spec['images'];
  if (Array.isArray(images)) {
    images.forEach((entry, index) => {
      const path: ValuePath = ['spec', 'images', index];
      const name = isRecord(entry) ? stringField(entry, 'name') : undefined;
      if (!isRecord(entry) || name === undefined) {
        findings.push(invalid(at(path), `Kustomization ${resource.name}: spec.images[${index}] has no name`));
        return;
      }
      const image: FluxKustomizeImage = { name, location: at(path), path };
      for (const key of ['newName', 'newTag', 'digest'] as const) {
        const field = entry[key];
        if (typeof field === 'string' || typeof field === 'number') image[key] = String(field);
      }
      kustomization.images.push(image);
    });
  }

  const substitute = postBuild['substitute'];
  if (isRecord(substitute)) {
    for (const [key, value] of Object.entries(substitute)) {
      const location = at(['spec', 'postBuild', 'substitute', key]);
      if (typeof value === 'string') {
        kustomization.substitute[key] = value;
        kustomization.substituteLocations[key] = location;
      } else {
        // Flux rejects non-string values, so the Kustomization would fail to apply.
        findings.push(invalid(location, `Kustomization ${resource.name}: postBuild.substitute.${key} must be a string (quote it)`));
      }
    }
  }
  for (const ref of kustomization.substituteFrom) {
    findings.push({
      file,
      line: ref.location.line,
      code: 'REMOTE_RESOURCE',
      severity: 'info',
      message: `Kustomization ${resource.name}: substituteFrom ${ref.kind}/${ref.name} is a cluster object; its variables are not known`,
    });
  }
  return { kustomization, findings };
}

/**
 * Flux postBuild substitution: `${VAR}`, `${VAR:=default}`, `${VAR:-default}` (and `=`, `-`, `?`, `+` forms);
 * `$${VAR}` is an escape that leaves `${VAR}`; bare `$VAR` is not touched. Variables without a value stay as
 * written by default (Flux would make them empty unless strict) and are listed in `unresolved`.
 */
export function substituteFluxVariables(
  text: string,
  vars: Readonly<Record<string, string>>,
  options: { onMissing?: 'keep' | 'empty' } = {},
): SubstitutionResult {
  return substituteVariables(text, vars, { dialect: 'flux', ...options });
}

interface ResolvedResource {
  kind: string;
  apiVersion?: string;
  name: string;
  namespace?: string;
  value: Record<string, unknown>;
  file: string;
  at: (path: ValuePath) => SourceLocation;
}

function asResource(input: ResourceInput): ResolvedResource | undefined {
  const isResource = 'document' in input;
  const value = input.value;
  if (!isRecord(value)) return undefined;
  const kind = stringField(value, 'kind');
  if (kind === undefined) return undefined;
  const document = isResource ? input.document : input;
  const prefix: ValuePath = isResource ? input.path : [];
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  const resolved: ResolvedResource = {
    kind,
    name: stringField(metadata, 'name') ?? '',
    value,
    file: document.file,
    at: (path) => ({ file: document.file, line: document.lineOf([...prefix, ...path]) }),
  };
  const apiVersion = stringField(value, 'apiVersion');
  if (apiVersion !== undefined) resolved.apiVersion = apiVersion;
  const namespace = stringField(metadata, 'namespace');
  if (namespace !== undefined) resolved.namespace = namespace;
  return resolved;
}

function readSourceRef(value: unknown): FluxSourceRef | undefined {
  if (!isRecord(value)) return undefined;
  const kind = stringField(value, 'kind');
  const name = stringField(value, 'name');
  if (kind === undefined || name === undefined) return undefined;
  const ref: FluxSourceRef = { kind, name };
  const namespace = stringField(value, 'namespace');
  if (namespace !== undefined) ref.namespace = namespace;
  return ref;
}

function readObjectRefs(value: unknown, path: ValuePath, at: (path: ValuePath) => SourceLocation): FluxObjectRef[] {
  if (!Array.isArray(value)) return [];
  const refs: FluxObjectRef[] = [];
  value.forEach((entry, index) => {
    if (!isRecord(entry)) return;
    const ref: FluxObjectRef = {
      kind: stringField(entry, 'kind') ?? 'ConfigMap',
      name: stringField(entry, 'name') ?? '',
      location: at([...path, index]),
    };
    if (typeof entry['optional'] === 'boolean') ref.optional = entry['optional'];
    for (const key of ['valuesKey', 'targetPath'] as const) {
      const field = stringField(entry, key);
      if (field !== undefined) ref[key] = field;
    }
    refs.push(ref);
  });
  return refs;
}

function invalid(location: SourceLocation, message: string): Finding {
  return { file: location.file, line: location.line, code: 'INVALID_RESOURCE', message, severity: 'warning' };
}
