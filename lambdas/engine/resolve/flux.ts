/**
 * Flux objects kept in the repository (read by the flux extractor, resolved here).
 * - HelmRelease: `spec.values` over the chart's values when the chart is a path of this repository
 *   (`sourceRef.kind: GitRepository`); otherwise the values alone, with an info finding.
 * - Kustomization: `spec.path` rendered (a kustomization, or Flux's generated one over every manifest
 *   below the path), `spec.images` applied last, `postBuild.substitute` applied to `${VAR}` in images.
 */
import type { AppRef, SourceLocation } from '../model.js';
import {
  readFluxKustomization,
  readHelmRelease,
  substituteFluxVariables,
  type FluxHelmRelease,
  type FluxKustomization,
} from '../extractors/flux/index.js';
import type { YamlDocument } from '../yaml/index.js';
import { isRecord } from '../extractors/types.js';
import type { RenderedImage } from './attribution.js';
import { emitterFor, type RenderResult, type YamlPath } from './context.js';
import { renderDirectory } from './directory.js';
import { renderChart, type ValuesLayer } from './helm.js';
import { hasEffect, transformImage } from './kustomize/images.js';
import { mergeImageOverrides } from './kustomize/overrides.js';
import { renderKustomization, type KustomizeImageOverride } from './kustomize/render.js';
import { renderPath, withholdFailedBuild } from './render.js';
import { renderRepoChart, type ReleaseOptions } from './helm-render.js';
import { followRenderedApps } from './rendered-apps.js';
import { fluxValuesFrom, renderFluxRemoteChart } from './flux-charts.js';
import { mapExternalArtifact } from './flux-artifacts.js';
import type { FluxGitRepository, ResolveRun, TargetWorkspace } from './run.js';
import type { RevisionRequest } from './revisions.js';
import { dirname, normalisePath, type Workspace } from './workspace.js';

export type FluxKind = 'HelmRelease' | 'Kustomization';

export function fluxKind(value: unknown): FluxKind | undefined {
  if (!isRecord(value) || typeof value.apiVersion !== 'string') return undefined;
  if (value.kind === 'HelmRelease' && value.apiVersion.startsWith('helm.toolkit.fluxcd.io/')) return 'HelmRelease';
  if (value.kind === 'Kustomization' && value.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')) return 'Kustomization';
  return undefined;
}

export async function resolveFluxDocument(run: ResolveRun, ws: Workspace, doc: YamlDocument): Promise<void> {
  const kind = fluxKind(doc.value);
  const key = `${ws.revision ?? ''}:${doc.file}#${doc.index}`;
  if (!kind || run.visited.has(key)) return;
  run.visited.add(key);
  if (kind === 'HelmRelease') {
    const { release, findings } = readHelmRelease(doc);
    run.findings.push(...findings);
    if (release) await resolveHelmRelease(run, ws, doc, release);
  } else {
    const { kustomization, findings } = readFluxKustomization(doc);
    run.findings.push(...findings);
    if (kustomization) await resolveKustomization(run, ws, doc, kustomization);
  }
}

export function recordGitRepository(run: ResolveRun, doc: YamlDocument): void {
  const { value } = doc;
  if (!isRecord(value) || !isRecord(value.metadata) || !isRecord(value.spec)) return;
  const { name, namespace } = value.metadata;
  if (typeof name !== 'string' || typeof value.spec.url !== 'string') return;
  const { ref, at } = gitRepositoryRef(value.spec.ref);
  run.gitRepositories.set(`${typeof namespace === 'string' ? namespace : ''}/${name}`, {
    name,
    url: value.spec.url,
    ref,
    at,
    where: { file: doc.file, line: doc.lineOf(at) },
  });
}

/** `spec.ref` as Flux reads it: commit, then name, then semver, then tag, then branch; no ref is branch master. */
function gitRepositoryRef(ref: unknown): { ref: RevisionRequest; at: YamlPath } {
  if (isRecord(ref)) {
    for (const form of ['commit', 'name', 'semver', 'tag', 'branch'] as const) {
      const text = ref[form];
      if (typeof text === 'string' && text.trim() !== '') return { ref: { text: text.trim(), form }, at: ['spec', 'ref', form] };
    }
  }
  return { ref: { text: 'master', form: 'branch' }, at: ['spec', 'url'] };
}

/** The GitRepository a sourceRef names, when this repository keeps it. */
function gitRepositoryOf(run: ResolveRun, ref: { name: string; namespace?: string }, ownNamespace: string | undefined): FluxGitRepository | undefined {
  const namespace = ref.namespace ?? ownNamespace;
  return run.gitRepositories.get(`${namespace ?? ''}/${ref.name}`) ?? (namespace === undefined ? undefined : run.gitRepositories.get(`/${ref.name}`));
}

/**
 * The url of the GitRepository a sourceRef names, when that is another repository; undefined when it is this
 * one or unknown (a GitRepository not kept in this repository is assumed to be this repository).
 */
function otherRepository(run: ResolveRun, ref: { name: string; namespace?: string }, ownNamespace: string | undefined): string | undefined {
  const url = gitRepositoryOf(run, ref, ownNamespace)?.url;
  return url !== undefined && !run.isSelf(url) ? url : undefined;
}

/**
 * The workspace at the revision of the GitRepository a sourceRef names (the audited tree when this
 * repository does not keep that GitRepository); undefined when it cannot be read (strict mode).
 */
async function fluxTarget(
  run: ResolveRun,
  ws: Workspace,
  ref: { name: string; namespace?: string } | undefined,
  ownNamespace: string | undefined,
  /** `Kustomization x`, `HelmRelease y`. */
  label: string,
): Promise<TargetWorkspace | undefined> {
  const repository = ref ? gitRepositoryOf(run, ref, ownNamespace) : undefined;
  // Objects found at another revision already are that revision's.
  if (!repository || ws !== run.audited) return { ws };
  return run.target(repository.ref, {
    emit: emitterFor(repository.where.file, () => repository.where.line, run.findings),
    at: repository.at,
    where: repository.where,
    what: `${label}'s desired state`,
    app: label.replace(/^\S+ /, ''),
    controller: 'Flux',
  });
}

async function resolveHelmRelease(run: ResolveRun, audited: Workspace, doc: YamlDocument, release: FluxHelmRelease): Promise<void> {
  const emit = emitterFor(doc.file, (path) => doc.lineOf(path), run.findings);
  const definedAt = { file: doc.file, line: doc.lineOf(['metadata', 'name']) };
  const layers: ValuesLayer[] = [...fluxValuesFromLayers(run, audited, release)];
  if (isRecord(release.values) && Object.keys(release.values).length > 0) {
    layers.push({ values: release.values, file: doc.file, locate: (path) => doc.lineOf(['spec', 'values', ...path]), label: 'spec.values' });
  }
  const chart = release.chart && 'name' in release.chart ? release.chart : undefined;
  const chartPath = chart?.sourceRef.kind === 'GitRepository' ? normalisePath(chart.name) : undefined;
  const app: AppRef = { name: release.name, kind: 'flux-helmrelease', definedAt };
  const other = chart?.sourceRef.kind === 'GitRepository' ? otherRepository(run, chart.sourceRef, release.namespace) : undefined;
  if (other !== undefined) {
    run.readsOtherRepository(other, `HelmRelease ${release.name}`, { file: doc.file, line: doc.lineOf(['spec', 'chart', 'spec', 'sourceRef']) });
    return;
  }
  const gitSource = chart?.sourceRef.kind === 'GitRepository' ? chart.sourceRef : undefined;
  const target = await fluxTarget(run, audited, gitSource, release.namespace, `HelmRelease ${release.name}`);
  if (!target) return;
  const { ws } = target;
  markRevision(app, ws, target.assumed);
  let render: RenderResult;
  if (chartPath !== undefined && ws.isChartDir(chartPath)) {
    app.path = chartPath;
    render = await renderRepoChart(run, ws, chartPath, layers, fluxRelease(release));
  } else {
    // A chart from a HelmRepository, OCIRepository or HelmChart: fetched and rendered when the run does that.
    const remote = chartPath === undefined && release.chart ? await renderFluxRemoteChart(run, ws, release, layers, fluxRelease(release), emit) : undefined;
    if (remote) {
      run.addRender(app, remote, release.targetNamespace ?? release.namespace, false);
      await followRenderedApps(run, ws, remote, emit, ['spec', 'chart'], target.assumed);
      return;
    }
    if (chartPath !== undefined) {
      emit('MISSING_FILE', ['spec', 'chart', 'spec', 'chart'], 'error', `HelmRelease ${release.name}: chart path ${chartPath} has no Chart.yaml in this repository`);
    } else if (release.chart) {
      const ref = 'chartRef' in release.chart ? release.chart.chartRef : release.chart.sourceRef;
      emit(
        'REMOTE_RESOURCE',
        'chartRef' in release.chart ? ['spec', 'chartRef'] : ['spec', 'chart', 'spec', 'chart'],
        'info',
        `HelmRelease ${release.name}: chart ${chart?.name ?? ''} comes from ${ref.kind} ${ref.name} and is not fetched; only images in spec.values are audited`,
      );
    }
    render = renderChart(ws, undefined, layers, chart?.name ?? release.name);
  }
  run.addRender(app, render, release.targetNamespace ?? release.namespace, ws === run.audited);
  await followRenderedApps(run, ws, render, emit, ['spec', 'chart'], target.assumed);
}

/** `spec.valuesFrom` found in the repository, replacing the extractor's "cluster object" note for each. */
function fluxValuesFromLayers(run: ResolveRun, ws: Workspace, release: FluxHelmRelease): ValuesLayer[] {
  const { layers, resolved, findings } = fluxValuesFrom(ws, release);
  const notes = new Set(resolved.map((ref) => `${ref.location.file}:${ref.location.line}`));
  for (let i = run.findings.length - 1; i >= 0; i--) {
    const finding = run.findings[i];
    if (finding?.code === 'REMOTE_RESOURCE' && finding.severity === 'info' && notes.has(`${finding.file}:${finding.line}`)) run.findings.splice(i, 1);
  }
  run.findings.push(...findings);
  return layers;
}

/** Flux's release name: `spec.releaseName`, else `[<targetNamespace>-]<name>`; installed into targetNamespace, else the object's namespace. */
function fluxRelease(release: FluxHelmRelease): ReleaseOptions {
  const releaseName = release.releaseName ?? (release.targetNamespace ? `${release.targetNamespace}-${release.name}` : release.name);
  return { releaseName, namespace: release.targetNamespace ?? release.namespace };
}

async function resolveKustomization(run: ResolveRun, audited: Workspace, doc: YamlDocument, object: FluxKustomization): Promise<void> {
  const emit = emitterFor(doc.file, (path) => doc.lineOf(path), run.findings);
  const { name } = object;
  if (object.sourceRef?.kind === 'ExternalArtifact') {
    // An ArtifactGenerator's copy of this repository's directories: read as the directories copied.
    const mapped = mapExternalArtifact(run, object.sourceRef, object.namespace, object.path, doc.file);
    if ('problem' in mapped) {
      emit('UNRESOLVED_APP', ['spec', 'sourceRef'], 'warning', `Kustomization ${name} reads ExternalArtifact ${object.sourceRef.name}: ${mapped.problem}; its images are not audited`);
      return;
    }
    run.notes.push(mapped.note);
    object = { ...object, sourceRef: mapped.sourceRef, path: mapped.path };
  }
  if (object.sourceRef && object.sourceRef.kind !== 'GitRepository') {
    emit('UNRESOLVED_APP', ['spec', 'sourceRef'], 'warning', `Kustomization ${name} reads from ${object.sourceRef.kind} ${object.sourceRef.name}, not from this repository; its images are not audited`);
    return;
  }
  const other = object.sourceRef ? otherRepository(run, object.sourceRef, object.namespace) : undefined;
  if (other !== undefined) {
    run.readsOtherRepository(other, `Kustomization ${name}`, { file: doc.file, line: doc.lineOf(['spec', 'sourceRef']) });
    return;
  }
  const path = normalisePath(object.path);
  // The path counts as pointed at even when its revision cannot be read: it is not unreferenced.
  if (path !== undefined) run.referencedDirs.add(path);
  const target = await fluxTarget(run, audited, object.sourceRef, object.namespace, `Kustomization ${name}`);
  if (!target) return;
  const { ws } = target;
  if (path === undefined || !ws.isDirectory(path)) {
    if (target.assumed !== undefined) {
      emit('MISSING_FILE', ['spec', 'path'], 'info', `Kustomization ${name}: path ${object.path || './'} is not in the audited tree standing in for revision ${target.assumed}; no images are shown for it`);
      return;
    }
    emit('MISSING_FILE', ['spec', 'path'], 'error', `Kustomization ${name}: path ${object.path || './'} is not in the repository${ws.revision ? ` at ${ws.revision}` : ''}`);
    return;
  }
  const images: KustomizeImageOverride[] = object.images.map(({ path: _path, ...image }) => image);
  const render = ws.kustomizationFile(path)
    ? renderPath(run, ws, { path, emit, at: ['spec', 'path'], label: `Kustomization ${name}`, prefer: 'kustomize', imageOverrides: images })
    : generatedKustomization(ws, path, images);
  const namespace = object.targetNamespace;
  if (namespace) render.images = render.images.map((image) => ({ ...image, workload: { ...image.workload, namespace } }));
  render.images = render.images.map((image) => substitute(image, object.substitute, object.substituteLocations));
  const definedAt = { file: doc.file, line: doc.lineOf(['metadata', 'name']) };
  const app: AppRef = { name, kind: 'flux-kustomization', definedAt, path };
  markRevision(app, ws, target.assumed);
  run.addRender(app, render, undefined, ws === run.audited);
}

/** The revision an app was read at (when not the audited tree), or the one the audited tree stands in for. */
function markRevision(app: AppRef, ws: Workspace, assumed: string | undefined): void {
  if (assumed !== undefined) {
    app.revision = assumed;
    app.revisionAssumed = true;
  } else if (ws.revision !== undefined) {
    app.revision = ws.revision;
  }
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
  result.images = result.images.filter((image) => !image.locations.some((location) => inside(location.file)));
  result.files = result.files.filter((file) => !inside(file));
  for (const dir of tops) {
    const rendered = withholdFailedBuild(renderKustomization(ws.tree, dir), ws.kustomizationFile(dir) ?? dir, `kustomization ${dir}`);
    result.images.push(...rendered.images);
    (result.serviceAccounts ??= []).push(...rendered.serviceAccounts);
    result.findings.push(...rendered.findings);
    result.files.push(...rendered.files);
    result.kustomizationDirs.push(...rendered.kustomizationDirs);
  }
  // The generated kustomization's `images:` are spec.images merged as Flux merges them (a later entry of a
  // name replaces the earlier one), each applied as kustomize's image transformer does.
  const entries = mergeImageOverrides([], images, 'flux');
  result.images = result.images.map((image) => {
    let current = image;
    for (const entry of entries) {
      const changed = transformImage(current.written, entry);
      if (changed !== undefined && hasEffect(entry)) {
        current = { ...current, written: changed, locations: [...current.locations, entry.location] };
      }
    }
    return current;
  });
  return result;
}

function substitute(image: RenderedImage, vars: Record<string, string>, locations: Record<string, SourceLocation>): RenderedImage {
  if (!image.written.includes('${')) return image;
  const { text } = substituteFluxVariables(image.written, vars);
  if (text === image.written) return image;
  const used = Object.keys(vars).filter((key) => /^\w+$/.test(key) && new RegExp(`\\$\\{${key}(?!\\w)`).test(image.written));
  return { ...image, written: text, locations: [...image.locations, ...used.flatMap((key) => (locations[key] ? [locations[key]] : []))] };
}
