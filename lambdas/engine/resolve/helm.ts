/**
 * Helm charts kept in the repository. Templates are not rendered: images come from the merged values
 * (chart values.yaml, then whatever Argo CD or Flux pass, later wins), read by the helm extractor,
 * with an empty tag falling back to the chart's appVersion. Every value keeps the line of the layer
 * that set it, so an image's locations name the chart default first, then each override.
 * One HELM_NOT_RENDERED note per chart says what was not done.
 */
import type { Finding, SourceLocation } from '../model.js';
import { extractHelmValuesImages, loadHelmChart, mergeHelmValues, subchartKeys, type HelmChart } from '../extractors/helm/index.js';
import { isRecord, valueAt } from '../extractors/types.js';
import type { RenderedImage } from './attribution.js';
import { emptyRender, type RenderResult, type YamlPath } from './context.js';
import { join, type Workspace } from './workspace.js';

/** One source of values, in merge order. */
export interface ValuesLayer {
  values: Record<string, unknown>;
  file: string;
  /** Line of a values path inside `file`; undefined when this layer only carries the value over from an earlier one. */
  locate: (path: YamlPath) => number | undefined;
  label: string;
}

/**
 * Images of a chart kept in the repository (`chartDir`), or of values alone when the chart is elsewhere
 * (`chartDir` undefined, `name` names the chart or release). Subcharts vendored as directories under
 * `charts/` get their own values.yaml under the parent's `<alias or name>:` values.
 */
export function renderChart(
  ws: Workspace,
  chartDir: string | undefined,
  overrides: readonly ValuesLayer[],
  name?: string,
): RenderResult {
  const result = emptyRender();
  const facts: ChartFacts = { name: name ?? chartDir ?? 'values', subchartKeys: [] };
  const layers: ValuesLayer[] = [];
  let chart: HelmChart | undefined;
  if (chartDir !== undefined) {
    const loaded = loadHelmChart((path) => ws.tree.read(path), chartDir);
    result.findings.push(...loaded.findings);
    chart = loaded.chart;
    result.files.push(join(chartDir, 'Chart.yaml'));
  }
  if (chart) {
    Object.assign(facts, chartFacts(chart));
    const own = chartLayer(chart);
    if (own) {
      layers.push(own);
      result.files.push(own.file);
    }
  }
  layers.push(...overrides);
  for (const layer of overrides) if (!result.files.includes(layer.file)) result.files.push(layer.file);
  const fallback: SourceLocation = { file: chart?.chartFile ?? overrides[0]?.file ?? '', line: 0 };
  const extracted = imagesFromValues(mergeLayers(layers), facts, layers, fallback);
  result.images = extracted.images;
  result.findings.push(...extracted.findings);
  if (chart) {
    for (const dependency of chart.dependencies) {
      const sub = subchartImages(ws, chart, dependency.name, dependency.alias ?? dependency.name, layers);
      if (!sub) continue;
      result.images.push(...sub.images);
      result.findings.push(...sub.findings);
      result.files.push(...sub.files);
    }
    result.findings.push({
      file: chart.chartFile,
      line: 0,
      code: 'HELM_NOT_RENDERED',
      severity: 'info',
      message: `chart ${chart.name}: templates are not rendered; images come from values${chart.appVersion ? ` (an empty tag falls back to appVersion ${chart.appVersion})` : ''}`,
      hint: 'Images hard-coded in templates or built from non-standard value keys are not audited.',
    });
  }
  return result;
}

function chartFacts(chart: HelmChart): ChartFacts {
  return {
    name: chart.name,
    appVersion: chart.appVersion,
    appVersionLocation: chart.appVersionLocation,
    subchartKeys: subchartKeys(chart),
  };
}

export function chartLayer(chart: HelmChart): ValuesLayer | undefined {
  const document = chart.valuesDocument;
  if (!chart.valuesFile || !document || !isRecord(chart.values)) return undefined;
  return { values: chart.values, file: chart.valuesFile, locate: (path) => document.lineOf(path), label: chart.valuesFile };
}

/** A subchart vendored as a directory: its values.yaml, then what the parent's layers set under `key`. */
function subchartImages(
  ws: Workspace,
  parent: HelmChart,
  dependency: string,
  key: string,
  parentLayers: readonly ValuesLayer[],
): { images: RenderedImage[]; findings: Finding[]; files: string[] } | undefined {
  const dir = join(parent.dir, `charts/${dependency}`);
  if (!ws.isChartDir(dir)) return undefined; // packaged (.tgz) or not fetched: its defaults cannot be read
  const loaded = loadHelmChart((path) => ws.tree.read(path), dir);
  const sub = loaded.chart;
  if (!sub) return { images: [], findings: loaded.findings, files: [] };
  const layers: ValuesLayer[] = [];
  const own = chartLayer(sub);
  if (own) layers.push(own);
  for (const layer of parentLayers) {
    const values = layer.values[key];
    if (isRecord(values)) layers.push({ ...layer, values, locate: (path) => layer.locate([key, ...path]) });
  }
  const extracted = imagesFromValues(mergeLayers(layers), chartFacts(sub), layers, { file: sub.chartFile, line: 0 });
  const images = extracted.images.map((image) => ({ ...image, workload: { ...image.workload, name: `${key}.${image.workload.name}` } }));
  return { images, findings: [...loaded.findings, ...extracted.findings], files: [sub.chartFile, ...(own ? [own.file] : [])] };
}

interface ChartFacts {
  name: string;
  appVersion?: string | undefined;
  appVersionLocation?: SourceLocation | undefined;
  subchartKeys: string[];
}

function imagesFromValues(
  values: Record<string, unknown>,
  chart: ChartFacts,
  layers: readonly ValuesLayer[],
  fallback: SourceLocation,
): { images: RenderedImage[]; findings: Finding[] } {
  const extracted = extractHelmValuesImages(values, {
    ...(chart.appVersion !== undefined ? { appVersion: chart.appVersion } : {}),
    ...(chart.appVersionLocation ? { appVersionLocation: chart.appVersionLocation } : {}),
    locate: (path) => locateValue(layers, path),
    fallbackLocation: fallback,
    subchartKeys: chart.subchartKeys,
    chartName: chart.name,
  });
  return {
    images: extracted.sites.map((site) => ({
      workload: site.workload,
      container: site.container,
      written: site.written,
      locations: site.locations,
    })),
    findings: extracted.findings,
  };
}

/**
 * Where a values path is written: a scalar at the last layer that set it; a map (an image object)
 * at the first layer that has it, so that an image's locations start at the chart default.
 */
export function locateValue(layers: readonly ValuesLayer[], path: YamlPath): SourceLocation | undefined {
  let first: SourceLocation | undefined;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (!layer) continue;
    const value = valueAt(layer.values, path);
    if (value === undefined || value === null) continue;
    const line = layer.locate(path);
    if (line === undefined) continue;
    const location = { file: layer.file, line };
    if (!isRecord(value)) return location;
    first = location;
  }
  return first;
}

/** Helm's coalescing of the layers (the helm extractor's mergeHelmValues): maps merge deeply, anything else is replaced, `null` deletes the key. */
export function mergeLayers(layers: readonly ValuesLayer[]): Record<string, unknown> {
  const merged = mergeHelmValues(...layers.map((layer) => layer.values));
  return isRecord(merged) ? merged : {};
}
