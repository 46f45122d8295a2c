/**
 * The Helm values an Argo CD Application passes to a chart kept in this repository, as ordered layers
 * (later wins): `valueFiles` (relative to the chart, or `$ref/...` from another source of the same
 * Application), `values` (a YAML string), `valuesObject`, then `parameters`.
 */
import { loadYamlDocuments } from '../../yaml/index.js';
import type { Emit, Locate } from '../context.js';
import { parameterLayer, type ValuesLayer } from '../helm.js';
import type { ResolveRun } from '../run.js';
import { normalisePath, type Workspace } from '../workspace.js';
import type { ArgoApplication, ArgoSource } from './application.js';
import { isRecord } from './template.js';

export async function argoHelmLayers(
  run: ResolveRun,
  ws: Workspace,
  /** The chart's directory in `ws`; undefined for a chart from a Helm repository (its own files cannot be read). */
  chartDir: string | undefined,
  app: ArgoApplication,
  source: ArgoSource,
  appFile: string,
  locate: Locate,
  emit: Emit,
): Promise<ValuesLayer[]> {
  const helm = source.helm;
  if (!helm) return [];
  const layers: ValuesLayer[] = [];
  for (const entry of helm.valueFiles) {
    const file = entry.value;
    if (/^[a-z]+:\/\//i.test(file)) {
      emit('REMOTE_RESOURCE', entry.at, 'warning', `values file ${file} is remote and not fetched; its values are not applied`);
      continue;
    }
    let target: Workspace | undefined = ws;
    let path: string | undefined;
    const ref = /^\$([^/]+)\/(.*)$/.exec(file);
    if (ref) {
      const named = app.sources.find((other) => other.ref === ref[1]);
      if (!named) {
        emit('UNRESOLVED_APP', entry.at, 'error', `values file ${file} refers to source "$${ref[1]}", which this Application does not define`);
        continue;
      }
      if (!run.isSelf(named.repoURL)) {
        emit('UNRESOLVED_APP', entry.at, 'warning', `values file ${file} comes from another repository (${named.repoURL}); its values are not applied`);
        continue;
      }
      target = await run.workspaceAt(named.targetRevision, emit, [...named.at, 'targetRevision'], `values file ${file}`);
      path = normalisePath(ref[2] ?? '');
    } else if (chartDir === undefined) {
      continue; // a file inside a remote chart
    } else {
      path = normalisePath(file, chartDir);
    }
    if (!target) continue;
    if (path === undefined || !target.has(path)) {
      if (!helm.ignoreMissingValueFiles) {
        emit('MISSING_FILE', entry.at, 'error', `values file ${file} (${path ?? 'outside the repository'}) is not in the repository; Argo CD would fail to render Application ${app.name}`);
      }
      continue;
    }
    for (const doc of target.documents(path)) {
      if (isRecord(doc.value)) layers.push({ values: doc.value, file: path, locate: (p) => doc.lineOf(p), label: path });
    }
  }
  if (helm.values) {
    const base = locate(helm.values.at);
    const loaded = loadYamlDocuments(appFile, helm.values.value);
    // Lines inside the string are counted from the `values: |` line.
    for (const finding of loaded.findings) run.findings.push({ ...finding, line: base + finding.line });
    for (const doc of loaded.documents) {
      if (isRecord(doc.value)) layers.push({ values: doc.value, file: appFile, locate: (p) => base + doc.lineOf(p), label: 'helm.values' });
    }
  }
  if (helm.valuesObject) {
    const at = helm.valuesObject.at;
    layers.push({ values: helm.valuesObject.value, file: appFile, locate: (p) => locate([...at, ...p]), label: 'helm.valuesObject' });
  }
  for (const parameter of helm.parameters) {
    const layer = parameterLayer(parameter.value, appFile, locate(parameter.at));
    if (layer) layers.push(layer);
    else emit('INVALID_RESOURCE', parameter.at, 'error', `Helm parameter name "${parameter.value.name}" cannot be parsed`);
  }
  return layers;
}
