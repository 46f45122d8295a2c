/**
 * Flux objects kept in the repository.
 * - HelmRelease: `spec.values` over the chart's values when the chart is a path of this repository
 *   (`sourceRef.kind: GitRepository`); otherwise the values alone, with an info finding.
 * - Kustomization: `spec.path` rendered (a kustomization, or Flux's generated one over every manifest
 *   below the path), `spec.images` applied last, `postBuild.substitute` applied to `${VAR}` in images.
 */
import type { AppRef, SourceLocation } from '../model.js';
import { substituteVariables } from '../extractors/substitute.js';
import type { YamlDocument } from '../yaml/index.js';
import { isRecord } from './argocd/template.js';
import type { RenderedImage } from './attribution.js';
import { emitterFor, type Emit, type Locate, type RenderResult } from './context.js';
import { renderDirectory } from './directory.js';
import type { ValuesLayer } from './helm.js';
import { renderChart } from './helm.js';
import { transformImage } from './kustomize/images.js';
import { renderKustomization, type KustomizeImageOverride } from './kustomize/render.js';
import { renderPath } from './render.js';
import type { ResolveRun } from './run.js';
import { dirname, normalisePath, type Workspace } from './workspace.js';

export type FluxKind = 'HelmRelease' | 'Kustomization';

export function fluxKind(value: unknown): FluxKind | undefined {
  if (!isRecord(value) || typeof value.apiVersion !== 'string') return undefined;
  if (value.kind === 'HelmRelease' && value.apiVersion.startsWith('helm.toolkit.fluxcd.io/')) return 'HelmRelease';
  if (value.kind === 'Kustomization' && value.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')) return 'Kustomization';
  return undefined;
}

export function resolveFluxDocument(run: ResolveRun, ws: Workspace, doc: YamlDocument): void {
  const kind = fluxKind(doc.value);
  const key = `${ws.revision ?? ''}:${doc.file}#${doc.index}`;
  if (!kind || run.visited.has(key) || !isRecord(doc.value)) return;
  run.visited.add(key);
  const locate: Locate = (path) => doc.lineOf(path);
  const emit = emitterFor(doc.file, locate, run.findings);
  const metadata = isRecord(doc.value.metadata) ? doc.value.metadata : {};
  const spec = isRecord(doc.value.spec) ? doc.value.spec : undefined;
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  if (!name || !spec) {
    emit('INVALID_RESOURCE', name ? ['spec'] : ['metadata'], 'error', `Flux ${kind} has no ${name ? 'spec' : 'metadata.name'}`);
    return;
  }
  const definedAt = { file: doc.file, line: locate(['metadata', 'name']) };
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  if (kind === 'HelmRelease') resolveHelmRelease(run, ws, { name, spec, definedAt, locate, emit, namespace });
  else resolveKustomization(run, ws, { name, spec, definedAt, locate, emit });
}

interface FluxObject {
  name: string;
  spec: Record<string, unknown>;
  definedAt: SourceLocation;
  locate: Locate;
  emit: Emit;
  namespace?: string | undefined;
}

function resolveHelmRelease(run: ResolveRun, ws: Workspace, object: FluxObject): void {
  const { name, spec, definedAt, locate, emit } = object;
  const chartSpec = isRecord(spec.chart) && isRecord(spec.chart.spec) ? spec.chart.spec : undefined;
  const chart = typeof chartSpec?.chart === 'string' ? chartSpec.chart : undefined;
  const sourceRef = isRecord(chartSpec?.sourceRef) ? chartSpec.sourceRef : {};
  const namespace =
    typeof spec.targetNamespace === 'string' ? spec.targetNamespace : (object.namespace ?? undefined);
  const layers: ValuesLayer[] = [];
  if (isRecord(spec.values)) {
    layers.push({ values: spec.values, file: definedAt.file, locate: (p) => locate(['spec', 'values', ...p]), label: 'spec.values' });
  }
  if (Array.isArray(spec.valuesFrom) && spec.valuesFrom.length > 0) {
    emit('UNRESOLVED_APP', ['spec', 'valuesFrom'], 'info', `HelmRelease ${name}: valuesFrom (ConfigMaps/Secrets in the cluster) is not read; images set there are not audited`);
  }
  const chartPath = chart !== undefined && sourceRef.kind === 'GitRepository' ? normalisePath(chart) : undefined;
  const app: AppRef = { name, kind: 'flux-helmrelease', definedAt };
  let render: RenderResult;
  if (chartPath !== undefined && ws.isChartDir(chartPath)) {
    app.path = chartPath;
    render = renderChart(ws, chartPath, layers);
  } else {
    if (chartPath !== undefined) {
      emit('MISSING_FILE', ['spec', 'chart', 'spec', 'chart'], 'error', `HelmRelease ${name}: chart path ${chartPath} has no Chart.yaml in this repository`);
    } else {
      const from = typeof sourceRef.kind === 'string' ? `${sourceRef.kind} ${String(sourceRef.name ?? '')}` : 'a chart source';
      emit(
        'REMOTE_RESOURCE',
        spec.chartRef !== undefined ? ['spec', 'chartRef'] : ['spec', 'chart', 'spec', 'chart'],
        'info',
        `HelmRelease ${name}: chart ${chart ?? ''} comes from ${from} and is not fetched; only images in spec.values are audited`,
      );
    }
    render = renderChart(ws, undefined, layers, chart ?? name);
  }
  run.addRender(app, render, namespace, ws === run.audited);
}

function resolveKustomization(run: ResolveRun, ws: Workspace, object: FluxObject): void {
  const { name, spec, definedAt, locate, emit } = object;
  const sourceRef = isRecord(spec.sourceRef) ? spec.sourceRef : {};
  if (sourceRef.kind !== undefined && sourceRef.kind !== 'GitRepository') {
    emit('UNRESOLVED_APP', ['spec', 'sourceRef'], 'warning', `Kustomization ${name} reads from ${String(sourceRef.kind)} ${String(sourceRef.name ?? '')}, not from this repository; its images are not audited`);
    return;
  }
  const written = typeof spec.path === 'string' ? spec.path : '';
  const path = normalisePath(written);
  if (path === undefined || !ws.isDirectory(path)) {
    emit('MISSING_FILE', ['spec', 'path'], 'error', `Kustomization ${name}: path ${written || './'} is not in the repository`);
    return;
  }
  const images = imageOverrides(spec.images, definedAt.file, locate, emit);
  const targetNamespace = typeof spec.targetNamespace === 'string' ? spec.targetNamespace : undefined;
  const render = ws.kustomizationFile(path)
    ? renderPath(run, ws, { path, emit, at: ['spec', 'path'], label: `Kustomization ${name}`, prefer: 'kustomize', imageOverrides: images })
    : generatedKustomization(ws, path, images);
  if (targetNamespace) render.images = render.images.map((image) => ({ ...image, workload: { ...image.workload, namespace: targetNamespace } }));
  const postBuild = isRecord(spec.postBuild) ? spec.postBuild : {};
  const vars = isRecord(postBuild.substitute) ? postBuild.substitute : {};
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(vars)) strings[key] = String(value);
  if (Array.isArray(postBuild.substituteFrom) && postBuild.substituteFrom.length > 0) {
    emit('UNRESOLVED_APP', ['spec', 'postBuild', 'substituteFrom'], 'info', `Kustomization ${name}: postBuild.substituteFrom (ConfigMaps/Secrets in the cluster) is not read; variables set there stay unresolved`);
  }
  render.images = render.images.map((image) => substitute(image, strings, (key) => ({ file: definedAt.file, line: locate(['spec', 'postBuild', 'substitute', key]) })));
  run.addRender({ name, kind: 'flux-kustomization', definedAt, path }, render, undefined, ws === run.audited);
}

/** Flux's generated kustomization: every manifest below the path; sub-directories with a kustomization are built as such. */
function generatedKustomization(ws: Workspace, path: string, images: KustomizeImageOverride[]): RenderResult {
  const kustomizations = new Set<string>();
  for (const file of ws.filesBelow(path)) {
    const dir = dirname(file);
    if (ws.kustomizationFile(dir)) kustomizations.add(dir);
  }
  const tops = [...kustomizations].filter((dir) => ![...kustomizations].some((other) => other !== dir && dir.startsWith(`${other}/`)));
  const inside = (file: string) => tops.some((dir) => file.startsWith(`${dir}/`));
  const result = renderDirectory(ws, path, { recurse: true });
  result.images = result.images.filter((image) => !image.locations.some((l) => inside(l.file)));
  result.files = result.files.filter((file) => !inside(file));
  for (const dir of tops) {
    const rendered = renderKustomization(ws.tree, dir);
    result.images.push(...rendered.images);
    result.findings.push(...rendered.findings);
    result.files.push(...rendered.files);
    result.kustomizationDirs.push(...rendered.kustomizationDirs);
  }
  result.images = result.images.map((image) => {
    let current = image;
    for (const override of images) {
      const changed = transformImage(current.written, { ...override });
      if (changed !== undefined && changed !== current.written) {
        current = { ...current, written: changed, locations: [...current.locations, override.location] };
      }
    }
    return current;
  });
  return result;
}

function imageOverrides(value: unknown, file: string, locate: Locate, emit: Emit): KustomizeImageOverride[] {
  if (!Array.isArray(value)) return [];
  const out: KustomizeImageOverride[] = [];
  value.forEach((entry, index) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') {
      emit('INVALID_RESOURCE', ['spec', 'images', index], 'error', 'spec.images entry needs a name');
      return;
    }
    const override: KustomizeImageOverride = { name: entry.name, location: { file, line: locate(['spec', 'images', index]) } };
    if (typeof entry.newName === 'string') override.newName = entry.newName;
    if (entry.newTag !== undefined) override.newTag = String(entry.newTag);
    if (typeof entry.digest === 'string') override.digest = entry.digest;
    out.push(override);
  });
  return out;
}

function substitute(image: RenderedImage, vars: Record<string, string>, locate: (key: string) => SourceLocation): RenderedImage {
  if (!image.written.includes('${')) return image;
  const { text } = substituteVariables(image.written, vars, { dialect: 'flux' });
  if (text === image.written) return image;
  const used = Object.keys(vars).filter((key) => new RegExp(`\\$\\{${key}(?:[:}=?+-])`).test(image.written));
  return { ...image, written: text, locations: [...image.locations, ...used.map(locate)] };
}
