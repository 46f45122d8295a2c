/**
 * What a Flux HelmRelease needs from other Flux and Kubernetes objects kept in the repository:
 * - the chart source: `spec.chart.spec` with a HelmRepository (HTTP or `type: oci`), or `spec.chartRef` to an
 *   OCIRepository or a HelmChart; the chart is then fetched and rendered by helm (helm-render.ts);
 * - `spec.valuesFrom` ConfigMaps and Secrets: their values, in order, under `spec.values`, as helm-controller
 *   merges them (`targetPath` sets one value). A Secret that is not in Git (or is encrypted) is said so.
 */
import type { FluxHelmRelease, FluxObjectRef, FluxSourceRef } from '../extractors/flux/index.js';
import { isRecord, valueAt } from '../extractors/types.js';
import type { ChartRequest } from '../helm/fetch.js';
import type { Finding } from '../model.js';
import { loadYamlDocuments, type YamlDocument } from '../yaml/index.js';
import type { Emit, RenderResult } from './context.js';
import { helmOf, renderRemoteChart, type ReleaseOptions } from './helm-render.js';
import { renderChart, type ValuesLayer } from './helm.js';
import type { ResolveRun } from './run.js';
import type { Workspace } from './workspace.js';

const KINDS = ['HelmRepository', 'OCIRepository', 'HelmChart', 'ConfigMap', 'Secret'];
const objectsByWorkspace = new WeakMap<Workspace, YamlDocument[]>();

/** Source objects, ConfigMaps and Secrets of the workspace (files that mention one of the kinds are parsed). */
function objects(ws: Workspace): YamlDocument[] {
  let found = objectsByWorkspace.get(ws);
  if (!found) {
    found = [];
    for (const file of ws.tree.paths()) {
      if (!ws.isYamlFile(file) || ws.isHelmTemplate(file)) continue;
      const text = ws.text(file) ?? '';
      if (!KINDS.some((kind) => text.includes(kind))) continue;
      for (const doc of ws.documents(file)) if (isRecord(doc.value) && KINDS.includes(String(doc.value.kind))) found.push(doc);
    }
    objectsByWorkspace.set(ws, found);
  }
  return found;
}

function findObject(ws: Workspace, kind: string, name: string, namespace: string | undefined): YamlDocument | undefined {
  const matches = objects(ws).filter((doc) => {
    const value = doc.value as Record<string, unknown>;
    const metadata = isRecord(value.metadata) ? value.metadata : {};
    return value.kind === kind && metadata.name === name;
  });
  return (
    matches.find((doc) => valueAt(doc.value, ['metadata', 'namespace']) === namespace) ??
    matches.find((doc) => valueAt(doc.value, ['metadata', 'namespace']) === undefined) ??
    (namespace === undefined ? matches[0] : undefined)
  );
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
}

/** The chart request a HelmRelease's remote chart source amounts to; a string says why there is none. */
export function fluxChartRequest(ws: Workspace, release: FluxHelmRelease): ChartRequest | string | undefined {
  const chart = release.chart;
  if (!chart) return undefined;
  const namespaceOf = (ref: FluxSourceRef) => ref.namespace ?? release.namespace;
  const fromHelmRepository = (ref: FluxSourceRef, name: string, version: string | undefined): ChartRequest | string => {
    const repo = findObject(ws, 'HelmRepository', ref.name, namespaceOf(ref));
    if (!repo) return `HelmRepository ${ref.name} is not in this repository`;
    const url = text(valueAt(repo.value, ['spec', 'url']));
    if (!url) return `HelmRepository ${ref.name} has no spec.url`;
    const oci = valueAt(repo.value, ['spec', 'type']) === 'oci' || url.startsWith('oci://');
    return { repoURL: oci && !url.startsWith('oci://') ? `oci://${url}` : url, chart: name, version };
  };
  if ('chartRef' in chart) {
    const ref = chart.chartRef;
    if (ref.kind === 'OCIRepository') {
      const repo = findObject(ws, 'OCIRepository', ref.name, namespaceOf(ref));
      if (!repo) return `OCIRepository ${ref.name} is not in this repository`;
      const url = text(valueAt(repo.value, ['spec', 'url']))?.replace(/\/+$/, '');
      if (!url) return `OCIRepository ${ref.name} has no spec.url`;
      const slash = url.lastIndexOf('/');
      const version = text(valueAt(repo.value, ['spec', 'ref', 'semver'])) ?? text(valueAt(repo.value, ['spec', 'ref', 'tag']));
      return { repoURL: url.slice(0, slash), chart: url.slice(slash + 1), version };
    }
    if (ref.kind === 'HelmChart') {
      const helmChart = findObject(ws, 'HelmChart', ref.name, namespaceOf(ref));
      if (!helmChart) return `HelmChart ${ref.name} is not in this repository`;
      const name = text(valueAt(helmChart.value, ['spec', 'chart']));
      const sourceKind = text(valueAt(helmChart.value, ['spec', 'sourceRef', 'kind']));
      const sourceName = text(valueAt(helmChart.value, ['spec', 'sourceRef', 'name']));
      if (!name || sourceKind !== 'HelmRepository' || !sourceName) return `HelmChart ${ref.name} does not name a chart of a HelmRepository`;
      return fromHelmRepository({ kind: sourceKind, name: sourceName, ...(ref.namespace ? { namespace: ref.namespace } : {}) }, name, text(valueAt(helmChart.value, ['spec', 'version'])));
    }
    return `chartRef kind ${ref.kind} is not supported`;
  }
  if (chart.sourceRef.kind !== 'HelmRepository') return undefined;
  return fromHelmRepository(chart.sourceRef, chart.name, chart.version);
}

/**
 * Renders a HelmRelease's remote chart with helm. Undefined when the chart is not remote or the run
 * fetches no charts (the caller reads the values, as before).
 */
export async function renderFluxRemoteChart(run: ResolveRun, ws: Workspace, release: FluxHelmRelease, layers: ValuesLayer[], options: ReleaseOptions, emit: Emit): Promise<RenderResult | undefined> {
  const request = fluxChartRequest(ws, release);
  if (request === undefined || !(await helmOf(run))?.found) return undefined;
  const at = release.chart && 'chartRef' in release.chart ? ['spec', 'chartRef'] : ['spec', 'chart', 'spec', 'sourceRef'];
  const name = release.chart && 'name' in release.chart ? release.chart.name : release.name;
  if (typeof request === 'string') {
    emit('REMOTE_RESOURCE', at, 'warning', `HelmRelease ${release.name}: the chart cannot be located (${request}); only images in its values are audited`);
    return renderChart(ws, undefined, layers, name);
  }
  const outcome = await renderRemoteChart(run, request, layers, options);
  if (!outcome) return undefined;
  if ('failed' in outcome) {
    emit('REMOTE_RESOURCE', at, 'error', `HelmRelease ${release.name}: chart ${request.chart} from ${request.repoURL}: ${outcome.failed}; only images in its values are audited`, 'Make the chart source reachable (or fill the chart cache), then audit again.');
    return outcome.result;
  }
  return outcome.rendered;
}

/**
 * `spec.valuesFrom` layers, in order, for the ConfigMaps and Secrets kept in the repository. Those that are
 * not (or a Secret whose data is encrypted) get a finding; an optional one that is missing is skipped, as Flux does.
 * Returns the refs it resolved, so that the extractor's "cluster object" notes can be dropped for them.
 */
export function fluxValuesFrom(ws: Workspace, release: FluxHelmRelease): { layers: ValuesLayer[]; resolved: FluxObjectRef[]; findings: Finding[] } {
  const layers: ValuesLayer[] = [];
  const resolved: FluxObjectRef[] = [];
  const findings: Finding[] = [];
  for (const ref of release.valuesFrom) {
    const doc = ref.kind === 'ConfigMap' || ref.kind === 'Secret' ? findObject(ws, ref.kind, ref.name, release.namespace) : undefined;
    if (!doc) {
      if (ref.kind === 'Secret') {
        resolved.push(ref);
        findings.push({
          ...ref.location,
          code: 'REMOTE_RESOURCE',
          severity: 'warning',
          message: `HelmRelease ${release.name}: valuesFrom Secret ${ref.name} is not in Git; the values it sets are not audited`,
          hint: 'Images set through that Secret may differ from what this audit shows.',
        });
      }
      continue; // a ConfigMap not in Git: the extractor's note says so
    }
    const key = ref.valuesKey ?? 'values.yaml';
    const value = doc.value as Record<string, unknown>;
    const encrypted = ref.kind === 'Secret' && isRecord(value.sops);
    let content: string | undefined;
    let dataPath: (string | number)[] = ['data', key];
    if (!encrypted) {
      const stringData = valueAt(value, ['stringData', key]);
      const data = valueAt(value, ['data', key]);
      if (typeof stringData === 'string') {
        content = stringData;
        dataPath = ['stringData', key];
      } else if (typeof data === 'string') content = ref.kind === 'Secret' ? Buffer.from(data, 'base64').toString('utf8') : data;
    }
    resolved.push(ref);
    if (content === undefined) {
      if (encrypted || !ref.optional) {
        findings.push({
          ...ref.location,
          code: 'REMOTE_RESOURCE',
          severity: 'warning',
          message: encrypted
            ? `HelmRelease ${release.name}: valuesFrom Secret ${ref.name} is encrypted in Git; the values it sets are not audited`
            : `HelmRelease ${release.name}: valuesFrom ${ref.kind} ${ref.name} has no key ${key}; Flux fails to reconcile this release`,
        });
      }
      continue;
    }
    const line = doc.lineOf(dataPath);
    // A base64 Secret's lines mean nothing: its values are located at its key.
    const plain = !(ref.kind === 'Secret' && dataPath[0] === 'data');
    if (ref.targetPath) {
      const values = setPath({}, ref.targetPath.split('.'), content);
      layers.push({ values, file: doc.file, locate: () => line, label: `${ref.kind} ${ref.name}` });
      continue;
    }
    const loaded = loadYamlDocuments(doc.file, content);
    for (const inner of loaded.documents) {
      if (!isRecord(inner.value)) continue;
      layers.push({ values: inner.value, file: doc.file, locate: (path) => (plain ? line + inner.lineOf(path) : line), label: `${ref.kind} ${ref.name}` });
    }
  }
  return { layers, resolved, findings };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  let current = target;
  path.forEach((key, index) => {
    if (index === path.length - 1) current[key] = value;
    else {
      const next = isRecord(current[key]) ? (current[key] as Record<string, unknown>) : {};
      current[key] = next;
      current = next;
    }
  });
  return target;
}
