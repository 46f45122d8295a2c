/**
 * The CI model: which GitHub Actions workflows push which image names with which tag patterns, and
 * the verdict for desired images (CI_NEVER_PUSHES_TAG). No I/O. See readme.md.
 */
export { extractCiModel, isWorkflowFile, WORKFLOW_DIR, type CiModel, type CiPush, type CiExtractOptions } from './workflow.js';
export { applyCiModel, ciEvidenceFor, locationText } from './verdict.js';

import type { FileTree, Finding } from '../model.js';
import { extractCiModel as extract, type CiModel as Model } from './workflow.js';

/**
 * The CI model of the audited tree (its own `.github/workflows`) joined with models read from other
 * repositories (config `sources:`, ghcr.io package links). `github.repository` is known for GitHub sources.
 */
export function ciModelOfTree(tree: Pick<FileTree, 'paths' | 'read' | 'description'>, others: readonly Model[] = []): { model: Model; findings: Finding[] } {
  const repository = tree.description.kind === 'github' ? tree.description.location : undefined;
  const own = extract(tree, { repository });
  return { model: mergeCiModels([own.model, ...others]), findings: own.findings };
}

export function mergeCiModels(models: readonly Model[]): Model {
  return { pushes: models.flatMap((m) => m.pushes), workflows: models.flatMap((m) => m.workflows) };
}
