/**
 * The CI model: which GitHub Actions workflows push which image names with which tag patterns, and
 * the verdict for desired images (CI_NEVER_PUSHES_TAG). No I/O. See readme.md.
 */
export { extractCiModel, isWorkflowFile, WORKFLOW_DIR, type CiModel, type CiPush, type CiExtractOptions } from './workflow.js';
export { applyCiModel, ciEvidenceFor, locationText } from './verdict.js';
export { CiSourceReader, configSourceModels, followPackageLinks, unclaimedGhcrRepositories, MAX_LINKED_REPOSITORIES, type RepositoryReader, type PackageLinkOutcome } from './remote.js';

import type { FileTree, Finding } from '../model.js';
import { extractCiModel as extract, type CiModel as Model } from './workflow.js';

/**
 * The CI model of the audited tree (its own `.github/workflows`) joined with models read from other
 * repositories (config `sources:`, ghcr.io package links). `github.repository` is known for GitHub sources.
 */
export function ciModelOfTree(
  tree: Pick<FileTree, 'paths' | 'read' | 'description'>,
  others: readonly Model[] = [],
  repoUrls: readonly string[] = [],
): { model: Model; findings: Finding[] } {
  const repository = tree.description.kind === 'github' ? tree.description.location : repoUrls.map(githubRepositoryOf).find((name) => name !== undefined);
  const own = extract(tree, { repository });
  return { model: mergeCiModels([own.model, ...others]), findings: own.findings };
}

/** `owner/name` of a github.com URL as apps write it (`https://github.com/o/n(.git)`, `git@github.com:o/n`). */
export function githubRepositoryOf(url: string): string | undefined {
  const m = /^(?:https?:\/\/|ssh:\/\/git@|git@)github\.com[/:]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/i.exec(url.trim());
  return m ? `${m[1]}/${m[2]}` : undefined;
}

export function mergeCiModels(models: readonly Model[]): Model {
  return { pushes: models.flatMap((m) => m.pushes), workflows: models.flatMap((m) => m.workflows) };
}
