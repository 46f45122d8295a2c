/**
 * The desired-state resolver: which images each app of a GitOps repository really deploys, overlays
 * applied, with the app and the file lines that decided each one.
 *
 * Apps are Argo CD Applications (ApplicationSets expanded, app-of-apps followed), Flux HelmReleases
 * and Kustomizations, doco-cd stacks, and, listed as unreferenced, top-level kustomizations, charts,
 * manifest directories and docker compose files that nothing points at. Bad input anywhere becomes a finding with
 * file and line; the run goes on.
 */
import type { DesiredImage, DesiredState, FileTree, Finding, RepoSource, TreeIdentity } from '../model.js';
import { applyCiModel, ciModelOfTree, type CiModel } from '../ci/index.js';
import { unknownScope } from '../completeness.js';
import { createPathFilter } from '../sources/relevance.js';
import { attachServiceAccounts, dedupeDesiredImages, dedupeFindings, referenceFindings } from './attribution.js';
import { resolveArgoDocument } from './argocd/resolve.js';
import { resolveUnreferencedCompose } from './compose.js';
import { resolveDocoCdConfigs } from './doco-cd.js';
import { discover } from './discover.js';
import { recordGitRepository, resolveFluxDocument } from './flux.js';
import { recordArtifactGenerator } from './flux-artifacts.js';
import { reportUnrenderedCharts, useChartRendering, type ChartRendering } from './helm-render.js';
import { decideRepoIdentity, repoUrlUses } from './repo-identity.js';
import { RevisionPolicy, type RevisionsMode } from './revisions.js';
import { ResolveRun, identityOf } from './run.js';
import { resolveUnreferenced } from './unreferenced.js';
import { Workspace } from './workspace.js';

export interface ResolveOptions {
  /**
   * Audit only apps, kustomizations, charts and directories declared under these repository paths.
   * Apps may still render paths outside them (`../../base`).
   */
  paths?: string[] | undefined;
  /**
   * URLs of the audited repository, as apps write them (`--repo-url`), joined with the tree's own (git
   * remotes, the GitHub source); other repoURLs are reported, not followed. Absent: the tree's own URLs
   * when an app uses one, else the dominant repoURL of paths that exist (repo-identity.ts).
   */
  repoUrls?: string[] | undefined;
  /** The tree at the audited revision, when the caller already loaded it. */
  tree?: FileTree | undefined;
  /**
   * Render charts with helm (and fetch remote ones). Absent: charts are read from their values, one
   * HELM_NOT_RENDERED per chart. With a helm that was not found: values, and one finding for the run.
   */
  charts?: ChartRendering | undefined;
  /** CI models of other repositories (config `sources:`), joined with the audited tree's own workflows. */
  ciModels?: readonly CiModel[] | undefined;
  /** How app revisions are read: `auto` (default), `strict` or `audited` (see revisions.ts). */
  revisions?: RevisionsMode | undefined;
  /** What the audited tree is; default: the source's own identity, or the tree's description. */
  identity?: TreeIdentity | undefined;
  /** More names of the audited tree (`--ref`, CI variables): apps following them read the audited tree. */
  refs?: readonly string[] | undefined;
  /** The remote's default branch, when the caller knows it better than the source (a CI event). */
  defaultBranch?: string | undefined;
  /** Pull-request head side: the base branch, whose apps (and HEAD's) read the working tree. */
  pullRequestBase?: string | undefined;
}

/** The audited tree's identity: the caller's, else the source's (when `tree` is its default tree), else the tree's description. */
export async function treeIdentity(source: RepoSource, tree: FileTree, options: Pick<ResolveOptions, 'identity' | 'refs' | 'defaultBranch'> = {}): Promise<TreeIdentity> {
  let identity = options.identity;
  if (!identity && source.identify) {
    const own = await source.identify().catch(() => undefined);
    if (own && (tree.description.commit === undefined || own.commit === undefined || own.commit === tree.description.commit)) identity = own;
  }
  identity ??= identityOf(tree.description);
  const refs = [...identity.refs, ...(options.refs ?? [])];
  const defaultBranch = identity.defaultBranch ?? options.defaultBranch;
  return { ...identity, refs: [...new Set(refs)], ...(defaultBranch !== undefined && { defaultBranch }) };
}

export async function resolveDesiredState(source: RepoSource, options: ResolveOptions = {}): Promise<DesiredState> {
  let tree = options.tree;
  if (!tree) {
    try {
      tree = await source.load();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const findings: Finding[] = [{ file: '', line: 0, code: 'SOURCE_ERROR', severity: 'error', message: `cannot load the repository: ${message}` }];
      return { source: source.description, images: [], findings, ...withUnknown(findings, new Map()) };
    }
  }
  const findings: Finding[] = [...tree.findings];
  const ws = new Workspace(tree, undefined, findings);
  const identity = await treeIdentity(source, tree, options);
  const policy = new RevisionPolicy(source, identity, {
    ...(options.revisions !== undefined && { mode: options.revisions }),
    ...(options.pullRequestBase !== undefined && { pullRequestBase: options.pullRequestBase }),
  });
  const inScope = createPathFilter(options.paths);
  const found = discover(ws, inScope);
  const repository = decideRepoIdentity(options.repoUrls, identity, repoUrlUses(ws, found));
  const run = new ResolveRun(source, ws, repository.identity, findings, policy);
  run.notes.push(...(tree.notes ?? []));
  if (repository.note !== undefined) run.notes.push(repository.note);
  useChartRendering(run, options.charts);

  for (const doc of found.gitRepositories) recordGitRepository(run, doc);
  for (const doc of found.artifactGenerators ?? []) recordArtifactGenerator(run, doc);
  for (const doc of found.argo) await resolveArgoDocument(run, ws, doc);
  for (const doc of found.flux) await resolveFluxDocument(run, ws, doc);
  await resolveDocoCdConfigs(run, ws, found.docoCd, inScope);
  resolveUnreferencedCompose(run, ws, found.compose);
  resolveUnreferenced(run, ws, found);
  await reportUnrenderedCharts(run, run.findings);
  run.flushAssumptions();
  run.flushOtherRepositories();

  const images = sortImages(dedupeDesiredImages(attachServiceAccounts(run.images, run.serviceAccounts)));
  // What CI can push, read offline from the workflows: evidence on each image and CI_NEVER_PUSHES_TAG.
  const ci = ciModelOfTree(tree, options.ciModels, options.repoUrls);
  const ciFindings = applyCiModel(images, ci.model);
  const all = dedupeFindings([...run.findings, ...referenceFindings(images), ...ci.findings, ...ciFindings]).sort(compareFindings);
  // Apps whose render met a file that could not be read are unknown: history holds them (completeness.ts).
  const state: DesiredState = { source: tree.description, images, findings: all, ...withUnknown(all, run.renderedApps) };
  if (run.notes.length > 0) state.notes = [...new Set(run.notes)];
  if (repository.identity.known) state.repositoryUrls = [...repository.identity.urls];
  return state;
}

function withUnknown(findings: readonly Finding[], renders: ReadonlyMap<string, ReadonlySet<string>>): Pick<DesiredState, 'unknown'> {
  const unknown = unknownScope(findings, renders);
  return unknown ? { unknown } : {};
}

/** Sorted by app, namespace, workload, container and image; keys are built once per row. */
function sortImages(images: DesiredImage[]): DesiredImage[] {
  const keyed = images.map((image) => ({
    image,
    key: [image.app.name, image.app.kind, image.workload.namespace ?? '', image.workload.kind, image.workload.name, image.container, image.image].join('\u0000'),
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((entry) => entry.image);
}

function compareFindings(a: Finding, b: Finding): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}
