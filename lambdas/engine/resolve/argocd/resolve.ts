/**
 * Follows Argo CD Applications and ApplicationSets to the images they deploy. Each source is located
 * (this repository? which revision?), rendered as a kustomization, a chart or a directory, and its
 * images attributed to the Application. Applications found in what an Application renders
 * (app-of-apps) are followed in turn, once each, in the revision they were found in.
 */
import type { AppRef, FileTree } from '../../model.js';
import type { YamlDocument } from '../../yaml/index.js';
import { emitterFor, type Emit, type Locate } from '../context.js';
import { inlineFirstLine, type KustomizationEdits } from '../kustomize/index.js';
import { renderAppPath, type RenderRequest } from '../render.js';
import { argoRelease, followRenderedApps, renderArgoRemoteChart } from '../rendered-apps.js';
import type { ResolveRun } from '../run.js';
import { normalisePath, type Workspace } from '../workspace.js';
import { readApplication, type ArgoApplication, type ArgoKustomizeEdits, type ArgoSource } from './application.js';
import { expandApplicationSet } from './applicationset.js';
import { MAX_GENERATED_APPS_PER_RUN } from './generators.js';
import { argoHelmLayers } from './helm-values.js';
import { renderChart } from '../helm.js';
import { hasTemplate, isRecord } from './template.js';

export type ArgoKind = 'Application' | 'ApplicationSet';

export function argoKind(value: unknown): ArgoKind | undefined {
  if (!isRecord(value) || typeof value.apiVersion !== 'string' || !value.apiVersion.startsWith('argoproj.io/')) return undefined;
  return value.kind === 'Application' || value.kind === 'ApplicationSet' ? value.kind : undefined;
}

/**
 * Processes an Application or ApplicationSet document found in `ws`; does nothing the second time.
 * `assumed`: the document was found in the audited tree standing in for this revision (app-of-apps).
 */
export async function resolveArgoDocument(run: ResolveRun, ws: Workspace, doc: YamlDocument, assumed?: string): Promise<void> {
  const kind = argoKind(doc.value);
  const key = `${ws.revision ?? ''}:${doc.file}#${doc.index}`;
  if (!kind || run.visited.has(key)) return;
  run.visited.add(key);
  const locate: Locate = (path) => doc.lineOf(path);
  if (kind === 'Application') {
    await resolveApplication(run, ws, doc.file, doc.value, locate, assumed);
    return;
  }
  const emit = emitterFor(doc.file, locate, run.findings);
  const appSetName = isRecord(doc.value) && isRecord(doc.value.metadata) && typeof doc.value.metadata.name === 'string' ? doc.value.metadata.name : doc.file;
  let generatorAssumed = assumed;
  const generated = await expandApplicationSet(doc.value, {
    file: doc.file,
    locate,
    emit,
    treeFor: async (repoURL, revision, at) => {
      const url = typeof repoURL === 'string' ? repoURL : undefined;
      if (url !== undefined && !run.isSelf(url)) {
        // Another repository's tree and refs are not ours: the Applications it generates are not audited.
        run.readsOtherRepository(url, `ApplicationSet ${appSetName} (git generator)`, { file: doc.file, line: locate([...at, 'repoURL']) });
        return undefined;
      }
      const where = [...at, 'revision'];
      const target = await run.target(typeof revision === 'string' ? revision : undefined, {
        emit,
        at: where,
        where: { file: doc.file, line: locate(where) },
        what: 'this generator',
        app: `ApplicationSet ${appSetName} (git generator)`,
        controller: 'Argo CD',
      });
      if (target?.assumed !== undefined) generatorAssumed ??= target.assumed;
      return target?.ws.tree;
    },
    readData: (tree, path) => run.workspaceOf(tree).documents(path).map((d) => d.value),
  });
  // SECURITY: each ApplicationSet is capped, and so is the run (a hundred ApplicationSets of 1,000 each, or an
  // app-of-apps that fans out into more ApplicationSets). Past the cap this ApplicationSet generates nothing.
  if (run.generatedApps + generated.length > MAX_GENERATED_APPS_PER_RUN) {
    emit(
      'LIMIT_EXCEEDED',
      ['spec', 'generators'],
      'error',
      `ApplicationSet ${appSetName} would take the Applications generated in this run past the cap of ${MAX_GENERATED_APPS_PER_RUN} (MAX_GENERATED_APPS_PER_RUN); none of its ${generated.length} Applications are audited`,
      'Audit the repository in parts (paths), or reduce the generated Applications.',
    );
    return;
  }
  run.generatedApps += generated.length;
  for (const app of generated) {
    const appKey = `${key}:${app.name}`;
    if (run.visited.has(appKey)) continue;
    run.visited.add(appKey);
    await resolveApplication(run, ws, doc.file, app.value, app.locate, generatorAssumed);
  }
}

async function resolveApplication(run: ResolveRun, ws: Workspace, file: string, value: unknown, locate: Locate, assumed: string | undefined): Promise<void> {
  const emit = emitterFor(file, locate, run.findings);
  const app = readApplication(value, emit);
  if (!app) return;
  const definedAt = { file, line: locate(['metadata', 'name']) };
  for (const source of app.sources) {
    if (source.ref !== undefined && source.path === undefined && source.chart === undefined) continue;
    await resolveSource(run, app, source, definedAt, locate, emit, ws.tree, assumed);
  }
}

async function resolveSource(
  run: ResolveRun,
  app: ArgoApplication,
  source: ArgoSource,
  definedAt: { file: string; line: number },
  locate: Locate,
  emit: Emit,
  /** The tree the Application is written in (for the lines of inline patches). */
  appTree: FileTree,
  /** The Application itself was found in the audited tree standing in for this revision. */
  inheritedAssumption: string | undefined,
): Promise<void> {
  const label = `Application ${app.name}`;
  if (source.chart !== undefined && source.path === undefined) {
    await resolveRemoteChart(run, app, source, definedAt, locate, emit);
    return;
  }
  if (source.repoURL !== undefined && !run.isSelf(source.repoURL)) {
    // Never read from the audited tree or its refs (another repository's v1.0.0 is not ours).
    run.readsOtherRepository(source.repoURL, app.name, { file: definedAt.file, line: locate([...source.at, 'repoURL']) });
    return;
  }
  const path = normalisePath(source.path ?? '');
  // The path counts as pointed at even when its revision cannot be read: it is not unreferenced.
  if (path !== undefined && !hasTemplate(path)) run.referencedDirs.add(path);
  if (source.plugin) {
    emit(
      'UNRESOLVED_APP',
      [...source.at, 'plugin'],
      'warning',
      `${label} is rendered by a config management plugin, which cannot run offline; its images are not audited`,
    );
    return;
  }
  const revisionAt = [...source.at, 'targetRevision'];
  const target = await run.target(source.targetRevision, {
    emit,
    at: revisionAt,
    where: { file: definedAt.file, line: locate(revisionAt) },
    what: `${label}'s desired state`,
    app: app.name,
    controller: 'Argo CD',
  });
  if (!target) return;
  const { ws } = target;
  let assumed = inheritedAssumption ?? target.assumed;
  if (path === undefined || hasTemplate(path)) {
    emit('UNRESOLVED_APP', [...source.at, 'path'], 'warning', `${label} has path "${source.path}" that cannot be resolved in this repository`);
    return;
  }
  if (!ws.isDirectory(path)) {
    if (assumed !== undefined) {
      // Not an error of the revision the app follows: only the audited tree standing in for it lacks the path.
      emit('MISSING_FILE', [...source.at, 'path'], 'info', `${label} points at ${path || '.'}, which the audited tree standing in for revision ${assumed} does not have; no images are shown for it`);
      return;
    }
    emit('MISSING_FILE', [...source.at, 'path'], 'error', `${label} points at ${path || '.'}, which is not in the repository${ws.revision ? ` at ${ws.revision}` : ''}`);
    return;
  }
  const appRef: AppRef = {
    name: app.name,
    kind: 'argocd-application',
    definedAt,
    path,
    ...(ws.revision !== undefined ? { revision: ws.revision } : {}),
  };
  const request: RenderRequest = {
    path,
    emit,
    at: [...source.at, 'path'],
    label,
    kustomizeImages: source.kustomizeImages.map((image) => ({ text: image.value, location: { file: definedAt.file, line: locate(image.at) } })),
    ...(source.kustomizeNamespace ? { kustomizeNamespace: source.kustomizeNamespace } : {}),
    ...(source.kustomize ? { kustomizeEdits: kustomizeEdits(ws, path, source.kustomize, definedAt.file, locate, appTree) } : {}),
    ...(source.directory ? { directory: source.directory } : {}),
    prefer: source.helm ? 'helm' : source.kustomizeImages.length > 0 || source.kustomize ? 'kustomize' : source.directory ? 'directory' : undefined,
  };
  if (ws.isChartDir(path)) {
    request.helmLayers = await argoHelmLayers(run, ws, path, app, source, definedAt.file, locate, emit, (revision) => {
      assumed ??= revision;
    });
  }
  if (assumed !== undefined) {
    appRef.revision = assumed;
    appRef.revisionAssumed = true;
  }
  const render = await renderAppPath(run, ws, request, argoRelease(app, source, ws, path));
  run.addRender(appRef, render, app.namespace, ws === run.audited);
  await followRenderedApps(run, ws, render, emit, [...source.at, 'path'], assumed);
}

/**
 * `spec.source.kustomize` namePrefix, nameSuffix, components and patches, as the `kustomize edit` calls Argo CD
 * makes before building. With `ignoreMissingComponents`, a component directory that does not exist is left out.
 */
function kustomizeEdits(
  ws: Workspace,
  path: string,
  edits: ArgoKustomizeEdits,
  file: string,
  locate: Locate,
  appTree: FileTree,
): Omit<KustomizationEdits, 'namespace'> {
  const out: Omit<KustomizationEdits, 'namespace'> = {};
  if (edits.namePrefix !== undefined) out.namePrefix = edits.namePrefix;
  if (edits.nameSuffix !== undefined) out.nameSuffix = edits.nameSuffix;
  const components = edits.components.filter((component) => {
    if (!edits.ignoreMissingComponents) return true;
    const dir = normalisePath(component.value, path);
    return dir !== undefined && ws.isDirectory(dir);
  });
  if (components.length > 0) out.components = components.map((c) => ({ path: c.value, location: { file, line: locate(c.at) } }));
  if (edits.patches.length > 0) {
    out.patches = edits.patches.map(({ value, at }) => {
      const location = { file, line: locate(at) };
      if (value.patch === undefined) return { ...value, location };
      const patchLine = { file, line: locate([...at, 'patch']) };
      return { ...value, location, firstLine: inlineFirstLine(appTree, patchLine) };
    });
  }
  return out;
}

/**
 * A chart from a Helm repository is not fetched. Images the Application itself sets in values
 * (inline, or `$ref/` files of this repository) are still audited, the way Flux HelmReleases are.
 */
async function resolveRemoteChart(
  run: ResolveRun,
  app: ArgoApplication,
  source: ArgoSource,
  definedAt: { file: string; line: number },
  locate: Locate,
  emit: Emit,
): Promise<void> {
  const label = `Application ${app.name}`;
  const layers = source.helm ? await argoHelmLayers(run, run.audited, undefined, app, source, definedAt.file, locate, emit) : [];
  if (await renderArgoRemoteChart(run, app, source, layers, { name: app.name, kind: 'argocd-application', definedAt }, emit)) return;
  const render = renderChart(run.audited, undefined, layers, source.chart);
  const some = render.images.length > 0 ? 'only images set in the values it passes are audited' : 'its images are not audited';
  emit(
    'REMOTE_RESOURCE',
    [...source.at, 'chart'],
    'warning',
    `${label} installs Helm chart "${source.chart}" from ${source.repoURL ?? 'a Helm repository'}; remote charts are not fetched, so ${some}`,
    'Keep the chart in this repository, or audit the chart repository separately.',
  );
  run.addRender({ name: app.name, kind: 'argocd-application', definedAt }, render, app.namespace, false);
}
