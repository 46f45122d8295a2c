/**
 * The Helm values an Argo CD Application passes to a chart kept in this repository, as ordered layers
 * (later wins): `valueFiles` (relative to the chart, or `$ref/...` from another source of the same
 * Application), `values` (a YAML string), `valuesObject`, then `parameters`.
 */
import { applyHelmParameters, helmParameterLayer, type HelmParameter } from '../../extractors/helm/index.js';
import type { SourceLocation } from '../../model.js';
import { loadYamlDocuments } from '../../yaml/index.js';
import type { Emit, Locate } from '../context.js';
import { mergeLayers, type ValuesLayer } from '../helm.js';
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
  /** Told the revision when a `$ref` source's revision fell back to the audited tree. */
  onAssumed?: (revision: string) => void,
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
        emit('REMOTE_RESOURCE', entry.at, 'warning', `values file ${file} comes from another repository (${named.repoURL}); its values are not applied`);
        continue;
      }
      const at = [...named.at, 'targetRevision'];
      const found = await run.target(named.targetRevision, {
        emit,
        at,
        where: { file: appFile, line: locate(at) },
        what: `values file ${file}`,
        app: app.name,
        controller: 'Argo CD',
      });
      if (found?.assumed !== undefined) onAssumed?.(found.assumed);
      target = found?.ws;
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
  if (helm.parameters.length > 0) layers.push(parameterLayer(helm.parameters, layers, appFile, locate, emit));
  return layers;
}

/**
 * `helm.parameters`, which Argo CD passes as `--set` / `--set-string`: Helm sets them, in order, into the
 * values the earlier layers give (so `list[1].image` changes one element of a list a values file wrote),
 * before the chart's own values are coalesced under them. The layer holds those values; a path is located at
 * the last parameter that set it (or set inside it), and left to the earlier layers otherwise.
 */
function parameterLayer(
  parameters: NonNullable<ArgoSource['helm']>['parameters'],
  earlier: readonly ValuesLayer[],
  appFile: string,
  locate: Locate,
  emit: Emit,
): ValuesLayer {
  const located: (HelmParameter & { location: SourceLocation })[] = parameters.map((p) => ({ ...p.value, location: { file: appFile, line: locate(p.at) } }));
  const layer = helmParameterLayer('helm.parameters', located);
  for (const rejected of layer.rejected) {
    const parameter = parameters[located.indexOf(rejected as (typeof located)[number])];
    if (parameter) emit('INVALID_RESOURCE', parameter.at, 'error', `Helm parameter name "${rejected.name}" is not valid --set syntax; Argo CD fails to render this Application`);
  }
  const { values } = applyHelmParameters(mergeLayers(earlier), located);
  return { values: isRecord(values) ? values : {}, file: appFile, locate: (path) => layer.locate([...path])?.line, label: 'helm.parameters' };
}
