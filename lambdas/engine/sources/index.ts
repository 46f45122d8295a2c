/**
 * Opening the source a run audits: `--dir PATH` (a directory, or a git checkout) or
 * `--repo OWNER/NAME[@REF]` (GitHub through the REST API).
 */
import type { FileTree, RepoSource } from '../model.js';
import { SourceUnavailableError } from './errors.js';
import { createGitHubSource } from './github.js';
import { createLocalSource } from './local.js';
import type { RelevanceOptions } from './relevance.js';
import type { OutboundSettings } from '../registry/outbound.js';
export { SourceUnavailableError, type SourceUnavailableReason } from './errors.js';
export { createGitHubSource, clearGitHubMemoryCache, GITHUB_API_URL, type GitHubSourceOptions } from './github.js';
export { createLocalSource, type LocalSourceOptions } from './local.js';
export { MemoryFileTree } from './memory-tree.js';
export {
  createPathFilter,
  relevantKind,
  LoadBudget,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_SKIPPED_DIRECTORIES,
  type RelevanceOptions,
} from './relevance.js';

export interface SourceSpec extends RelevanceOptions {
  /** A local directory (`--dir`). */
  dir?: string;
  /** `OWNER/NAME[@REF]` (`--repo`). */
  repo?: string;
  /** GitHub token; private repositories need one. */
  token?: string;
  /** GitHub API root, e.g. `https://ghe.example.com/api/v3`. */
  baseUrl?: string;
  /** Where the GitHub source keeps ETags and snapshots. */
  cacheDir?: string;
  fetch?: typeof globalThis.fetch;
  /** The GitHub source's outbound policy settings (`registries.allow`); see GitHubSourceOptions. */
  outbound?: OutboundSettings;
}

export interface RepoSpec {
  owner: string;
  repo: string;
  ref?: string;
}

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Parses `owner/name`, `owner/name@ref` (the ref may itself contain `/` and `@`), also accepting a
 * `https://github.com/owner/name` URL and a trailing `.git`. Throws SourceUnavailableError('invalid').
 */
export function parseRepoSpec(spec: string): RepoSpec {
  const trimmed = spec.trim().replace(/^https?:\/\/[^/]+\//, '');
  const slash = trimmed.indexOf('/');
  const at = trimmed.indexOf('@', slash + 1);
  const owner = trimmed.slice(0, Math.max(slash, 0));
  const name = (at < 0 ? trimmed.slice(slash + 1) : trimmed.slice(slash + 1, at)).replace(/\.git$/, '').replace(/\/+$/, '');
  const ref = at < 0 ? undefined : trimmed.slice(at + 1);
  if (slash <= 0 || !OWNER.test(owner) || !REPO_NAME.test(name) || name === '.' || name === '..' || ref === '') {
    throw new SourceUnavailableError(spec, 'invalid', `"${spec}" is not OWNER/NAME[@REF]`, { hint: 'Example: --repo acme/gitops@main' });
  }
  return { owner, repo: name, ...(ref !== undefined && { ref }) };
}

/** The source for a run: exactly one of `dir` and `repo`. */
export function openSource(spec: SourceSpec): RepoSource {
  const { dir, repo, token, baseUrl, cacheDir, fetch, outbound, ...rules } = spec;
  if ((dir === undefined) === (repo === undefined)) {
    throw new SourceUnavailableError(dir ?? repo ?? '', 'invalid', 'give exactly one of a directory (--dir) and a GitHub repository (--repo)');
  }
  if (dir !== undefined) return createLocalSource(dir, rules);
  const parsed = parseRepoSpec(repo ?? '');
  return createGitHubSource({
    ...rules,
    ...parsed,
    ...(token !== undefined && { token }),
    ...(baseUrl !== undefined && { baseUrl }),
    ...(cacheDir !== undefined && { cacheDir }),
    ...(fetch !== undefined && { fetch }),
    ...(outbound !== undefined && { outbound }),
  });
}

/** What a CI model needs of a repository: its workflows and a GoReleaser config at the root. */
export const WORKFLOW_FILES: readonly string[] = ['.github/workflows', '.goreleaser.yaml', '.goreleaser.yml', 'goreleaser.yaml', 'goreleaser.yml'];

/**
 * Reads the workflows of GitHub repositories (`owner/name[@ref]`) through the REST API, with the run's token,
 * API root, cache directory (ETags, snapshots by commit) and fetch: one archive per repository and commit,
 * of which only WORKFLOW_FILES are kept. For ci/remote.ts (`sources:` and ghcr.io package links).
 */
export function workflowReader(spec: Pick<SourceSpec, 'token' | 'baseUrl' | 'cacheDir' | 'fetch' | 'outbound'>): (repo: string) => Promise<FileTree> {
  return (repo) => openSource({ ...spec, repo, restrictTo: WORKFLOW_FILES }).load();
}
