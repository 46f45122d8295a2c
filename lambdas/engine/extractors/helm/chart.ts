import type { Finding, SourceLocation } from '../../model.js';
import { loadYamlDocuments, type YamlDocument } from '../../yaml/index.js';
import { isRecord, stringField, type ValuePath } from '../types.js';
import type { HelmValuesLayer } from './values.js';

export interface HelmDependency {
  name: string;
  version?: string;
  repository?: string;
  alias?: string;
  condition?: string;
}

export interface HelmChart {
  /** Chart directory, repository-relative (`''` for the root). */
  dir: string;
  name: string;
  version?: string;
  appVersion?: string;
  /** Where `appVersion` is written in Chart.yaml (for images whose tag falls back to it). */
  appVersionLocation?: SourceLocation;
  /** Chart.yaml `dependencies` (apiVersion v2) or requirements.yaml (v1). */
  dependencies: HelmDependency[];
  chartFile: string;
  /** values.yaml as data; `{}` when the chart has none. */
  values: unknown;
  valuesFile?: string;
  /** values.yaml as a document, for lines. */
  valuesDocument?: YamlDocument;
}

/**
 * Reads a chart kept in the repository: Chart.yaml (name, version, appVersion, dependencies) and values.yaml.
 * Templates are not read. A missing or unreadable Chart.yaml gives findings and no chart.
 */
export function loadHelmChart(
  read: (path: string) => Buffer | undefined,
  chartDir: string,
): { chart?: HelmChart; findings: Finding[] } {
  const findings: Finding[] = [];
  const dir = chartDir.replace(/\/+$/, '').replace(/^\.$/, '');
  const chartFile = joinPath(dir, 'Chart.yaml');
  const chartContent = read(chartFile);
  if (chartContent === undefined) {
    findings.push({ file: chartFile, line: 0, code: 'MISSING_FILE', message: `no Chart.yaml in chart directory ${dir || '.'}`, severity: 'error' });
    return { findings };
  }
  const chartYaml = loadYamlDocuments(chartFile, chartContent);
  findings.push(...chartYaml.findings);
  const chartDocument = chartYaml.documents[0];
  const meta = chartDocument?.value;
  if (!chartDocument || !isRecord(meta)) {
    if (chartYaml.findings.length === 0) {
      findings.push({ file: chartFile, line: 0, code: 'INVALID_RESOURCE', message: 'Chart.yaml is not a mapping', severity: 'error' });
    }
    return { findings };
  }
  const name = stringField(meta, 'name');
  if (name === undefined || name === '') {
    findings.push({ file: chartFile, line: chartDocument.startLine, code: 'INVALID_RESOURCE', message: 'Chart.yaml has no name', severity: 'error' });
    return { findings };
  }

  const chart: HelmChart = { dir, name, chartFile, dependencies: [], values: {} };
  const version = scalarText(meta['version']);
  if (version !== undefined) chart.version = version;
  const appVersion = scalarText(meta['appVersion']);
  if (appVersion !== undefined && appVersion !== '') {
    chart.appVersion = appVersion;
    chart.appVersionLocation = { file: chartFile, line: chartDocument.lineOf(['appVersion']) };
  }

  chart.dependencies = readDependencies(meta['dependencies']);
  if (chart.dependencies.length === 0) {
    const requirementsFile = joinPath(dir, 'requirements.yaml');
    const requirements = read(requirementsFile);
    if (requirements !== undefined) {
      const loaded = loadYamlDocuments(requirementsFile, requirements);
      findings.push(...loaded.findings);
      const value = loaded.documents[0]?.value;
      if (isRecord(value)) chart.dependencies = readDependencies(value['dependencies']);
    }
  }

  const valuesFile = joinPath(dir, 'values.yaml');
  const valuesContent = read(valuesFile);
  if (valuesContent !== undefined) {
    chart.valuesFile = valuesFile;
    const loaded = loadYamlDocuments(valuesFile, valuesContent);
    findings.push(...loaded.findings);
    const document = loaded.documents[0];
    if (document && isRecord(document.value)) {
      chart.values = document.value;
      chart.valuesDocument = document;
    } else if (document) {
      findings.push({ file: valuesFile, line: document.startLine, code: 'INVALID_RESOURCE', message: 'values.yaml is not a mapping', severity: 'warning' });
    }
  }
  return { chart, findings };
}

/** The chart's values.yaml as the first, lowest-precedence values layer. */
export function chartValuesLayer(chart: HelmChart): HelmValuesLayer {
  const document = chart.valuesDocument;
  const file = chart.valuesFile ?? chart.chartFile;
  return {
    name: file,
    values: chart.values,
    locate: (valuesPath: ValuePath) => (document ? { file, line: document.lineOf(valuesPath) } : undefined),
  };
}

/** Keys of the values that configure subcharts: each dependency's alias, or its name. */
export function subchartKeys(chart: HelmChart): string[] {
  return chart.dependencies.map((dependency) => dependency.alias ?? dependency.name);
}

function readDependencies(value: unknown): HelmDependency[] {
  if (!Array.isArray(value)) return [];
  const dependencies: HelmDependency[] = [];
  for (const entry of value) {
    if (!isRecord(entry)) continue;
    const name = stringField(entry, 'name');
    if (name === undefined) continue;
    const dependency: HelmDependency = { name };
    const version = scalarText(entry['version']);
    if (version !== undefined) dependency.version = version;
    for (const key of ['repository', 'alias', 'condition'] as const) {
      const field = stringField(entry, key);
      if (field !== undefined) dependency[key] = field;
    }
    dependencies.push(dependency);
  }
  return dependencies;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
