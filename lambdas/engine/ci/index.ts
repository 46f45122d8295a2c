/**
 * The CI model: which GitHub Actions workflows push which image names with which tag patterns, and
 * the verdict for desired images (CI_NEVER_PUSHES_TAG). No I/O. See readme.md.
 */
export { extractCiModel, isWorkflowFile, WORKFLOW_DIR, type CiModel, type CiPush, type CiExtractOptions } from './workflow.js';
export { applyCiModel, ciEvidenceFor, locationText } from './verdict.js';
