/**
 * The small hooks between the app resolvers (Argo CD, Flux) and helm rendering: how an Argo CD
 * Application names its release, and the apps a rendered chart declares (Applications, ApplicationSets,
 * Flux HelmReleases and Kustomizations), which are followed like apps written in the repository, at
 * most MAX_RENDERED_APP_DEPTH charts deep.
 */
import type { Emit, RenderResult, YamlPath } from './context.js';
import { argoKind, resolveArgoDocument } from './argocd/resolve.js';
import type { ArgoApplication, ArgoSource } from './argocd/application.js';
import { fluxKind, resolveFluxDocument } from './flux.js';
import { isHelmRendered, MAX_RENDERED_APP_DEPTH, renderRemoteChart, withinRenderedApps, type ReleaseOptions } from './helm-render.js';
import type { ValuesLayer } from './helm.js';
import type { AppRef } from '../model.js';
import type { ResolveRun } from './run.js';
import { normalisePath, type Workspace } from './workspace.js';

/** Argo CD's release: `helm.releaseName`, else the Application's name; `fileParameters` relative to the chart. */
export function argoRelease(app: ArgoApplication, source: ArgoSource, ws: Workspace, chartDir: string): ReleaseOptions {
  const setFiles: NonNullable<ReleaseOptions['setFiles']> = [];
  for (const parameter of source.helm?.fileParameters ?? []) {
    const file = normalisePath(parameter.value.path, chartDir);
    if (file !== undefined && ws.has(file)) setFiles.push({ name: parameter.value.name, file, read: ws });
  }
  return { releaseName: source.helm?.releaseName ?? app.name, namespace: app.namespace, ...(setFiles.length > 0 ? { setFiles } : {}) };
}

/** Follows the apps among a render's documents; those helm rendered count one level deeper. */
export async function followRenderedApps(
  run: ResolveRun,
  ws: Workspace,
  render: RenderResult,
  emit: Emit,
  at: YamlPath,
  /** The render came from the audited tree standing in for this revision: the apps in it are assumed too. */
  assumed?: string,
): Promise<void> {
  const written = render.documents.filter((doc) => !isHelmRendered(doc));
  const rendered = render.documents.filter((doc) => isHelmRendered(doc) && (argoKind(doc.value) || fluxKind(doc.value)));
  for (const doc of written) {
    if (argoKind(doc.value)) await resolveArgoDocument(run, ws, doc, assumed);
  }
  if (rendered.length === 0) return;
  await withinRenderedApps(
    run,
    async () => {
      for (const doc of rendered) {
        if (argoKind(doc.value)) await resolveArgoDocument(run, ws, doc, assumed);
        else await resolveFluxDocument(run, ws, doc);
      }
    },
    () => emit('UNRESOLVED_APP', at, 'warning', `charts render apps that render charts more than ${MAX_RENDERED_APP_DEPTH} levels deep; the apps below that are not followed`),
  );
}

/**
 * An Argo CD source with `chart:` from a Helm repository or OCI registry, fetched and rendered by helm.
 * False when the run does not fetch charts (the caller then reads the app's values, as before).
 */
export async function renderArgoRemoteChart(
  run: ResolveRun,
  app: ArgoApplication,
  source: ArgoSource,
  layers: ValuesLayer[],
  appRef: AppRef,
  emit: Emit,
): Promise<boolean> {
  if (source.chart === undefined || source.repoURL === undefined) return false;
  const release: ReleaseOptions = { releaseName: source.helm?.releaseName ?? app.name, namespace: app.namespace };
  const outcome = await renderRemoteChart(run, { repoURL: source.repoURL, chart: source.chart, version: source.targetRevision }, layers, release);
  if (!outcome) return false;
  if ('failed' in outcome) {
    const some = outcome.result.images.length > 0 ? 'only images set in the values it passes are audited' : 'its images are not audited';
    emit('REMOTE_RESOURCE', [...source.at, 'chart'], 'error', `Application ${app.name}: Helm chart "${source.chart}" from ${source.repoURL}: ${outcome.failed}; ${some}`, 'Make the chart source reachable (or fill the chart cache), then audit again.');
    run.addRender(appRef, outcome.result, app.namespace, false);
    return true;
  }
  run.addRender(appRef, outcome.rendered, app.namespace, false);
  await followRenderedApps(run, run.audited, outcome.rendered, emit, [...source.at, 'chart']);
  return true;
}
