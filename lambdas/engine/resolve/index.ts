/**
 * The desired-state resolver: which images each app of a GitOps repository really deploys, overlays
 * applied, with the app and the file lines that decided each one.
 *
 * Apps are Argo CD Applications (ApplicationSets expanded, app-of-apps followed), Flux HelmReleases
 * and Kustomizations, docker compose files, and, listed as unreferenced, top-level kustomizations,
 * charts and manifest directories that nothing points at. Bad input anywhere becomes a finding with
 * file and line; the run goes on.
 */
import type { DesiredImage, DesiredState, FileTree, Finding, RepoSource } from '../model.js';
import { applyCiModel, ciModelOfTree, type CiModel } from '../ci/index.js';
import { createPathFilter } from '../sources/relevance.js';
import { dedupeDesiredImages, dedupeFindings, referenceFindings } from './attribution.js';
import { resolveArgoDocument } from './argocd/resolve.js';
import { resolveComposeFile } from './compose.js';
import { discover } from './discover.js';
import { recordGitRepository, resolveFluxDocument } from './flux.js';
import { ResolveRun } from './run.js';
import { unrenderedChartsFinding, useChartRendering, type ChartRendering } from './helm-render.js';
import { resolveUnreferenced } from './unreferenced.js';
import { Workspace } from './workspace.js';

export interface ResolveOptions {
  /**
   * Audit only apps, kustomizations, charts and directories declared under these repository paths.
   * Apps may still render paths outside them (`../../base`).
   */
  paths?: string[] | undefined;
  /** URLs of the audited repository, as apps write them; other repoURLs are reported, not followed. */
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
}

export async function resolveDesiredState(source: RepoSource, options: ResolveOptions = {}): Promise<DesiredState> {
  let tree = options.tree;
  if (!tree) {
    try {
      tree = await source.load();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        source: source.description,
        images: [],
        findings: [{ file: '', line: 0, code: 'SOURCE_ERROR', severity: 'error', message: `cannot load the repository: ${message}` }],
      };
    }
  }
  const findings: Finding[] = [...tree.findings];
  const ws = new Workspace(tree, undefined, findings);
  const run = new ResolveRun(source, ws, options.repoUrls, findings);
  useChartRendering(run, options.charts);
  const found = discover(ws, createPathFilter(options.paths));

  for (const doc of found.gitRepositories) recordGitRepository(run, doc.value);
  for (const doc of found.argo) await resolveArgoDocument(run, ws, doc);
  for (const doc of found.flux) await resolveFluxDocument(run, ws, doc);
  for (const file of found.compose) resolveComposeFile(run, ws, file);
  resolveUnreferenced(run, ws, found);
  const unrendered = unrenderedChartsFinding(run);
  if (unrendered) run.findings.push(unrendered);

  const images = sortImages(dedupeDesiredImages(run.images));
  // What CI can push, read offline from the workflows: evidence on each image and CI_NEVER_PUSHES_TAG.
  const ci = ciModelOfTree(tree, options.ciModels);
  const ciFindings = applyCiModel(images, ci.model);
  const all = dedupeFindings([...run.findings, ...referenceFindings(images), ...ci.findings, ...ciFindings]).sort(compareFindings);
  const state: DesiredState = { source: tree.description, images, findings: all };
  if (run.notes.length > 0) state.notes = [...new Set(run.notes)];
  return state;
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
