/**
 * What the command line and the CI environment say about the audited tree: `--ref` names, and in GitHub
 * Actions the branch a push built (GITHUB_REF_NAME) or, for a pull request, the base branch the tree
 * becomes once merged (GITHUB_BASE_REF); the repository's default branch comes from the event payload.
 */
import { readFileSync } from 'node:fs';
import type { ResolveOptions } from '../lambdas/engine/resolve/index.js';
import { REVISIONS_MODES, type RevisionsMode } from '../lambdas/engine/resolve/revisions.js';
import { UsageError } from './exit-codes.js';
import type { Env } from './runtime.js';

export interface RevisionFlags {
  ref?: string[];
  revisions?: string;
}

export type RevisionOptions = Pick<ResolveOptions, 'refs' | 'revisions' | 'defaultBranch'>;

export function revisionOptions(flags: RevisionFlags, env: Env): RevisionOptions {
  const mode = flags.revisions ?? 'auto';
  if (!(REVISIONS_MODES as readonly string[]).includes(mode)) throw new UsageError(`--revisions must be auto, strict or audited, got "${mode}"`);
  const refs = [...(flags.ref ?? [])].map((ref) => ref.trim()).filter(Boolean);
  if (env.GITHUB_ACTIONS === 'true') {
    const event = env.GITHUB_EVENT_NAME ?? '';
    if (event.startsWith('pull_request') && env.GITHUB_BASE_REF) refs.push(env.GITHUB_BASE_REF);
    else if (env.GITHUB_REF_NAME && (env.GITHUB_REF_TYPE === 'branch' || env.GITHUB_REF_TYPE === 'tag')) refs.push(env.GITHUB_REF_NAME);
  }
  const defaultBranch = env.GITHUB_ACTIONS === 'true' ? defaultBranchFromEvent(env.GITHUB_EVENT_PATH) : undefined;
  return {
    revisions: mode as RevisionsMode,
    ...(refs.length > 0 && { refs: [...new Set(refs)] }),
    ...(defaultBranch !== undefined && { defaultBranch }),
  };
}

/** `repository.default_branch` of the GitHub Actions event payload, when it can be read. */
function defaultBranchFromEvent(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    const event: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof event !== 'object' || event === null || !('repository' in event)) return undefined;
    const { repository } = event;
    if (typeof repository !== 'object' || repository === null || !('default_branch' in repository)) return undefined;
    return typeof repository.default_branch === 'string' && repository.default_branch !== '' ? repository.default_branch : undefined;
  } catch {
    return undefined;
  }
}
