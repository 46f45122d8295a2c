/**
 * Decides whether an Argo CD `repoURL` (or a Flux GitRepository url) names the audited repository.
 * URLs are compared in a normalised form: scheme, credentials, port, `.git` suffix and trailing slashes
 * are dropped, `git@host:owner/repo` becomes `host/owner/repo`, host and owner are lower-cased (on github.com
 * the whole path: GitHub's owner and repository names are case-insensitive).
 */

export function normaliseRepoUrl(url: string): string {
  let text = url.trim();
  // scp-like form: git@github.com:owner/repo.git
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(text);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    text = `${scp[1]}/${scp[2]}`;
  } else {
    text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    text = text.replace(/^[^@/]+@/, '');
  }
  text = text.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '');
  const parts = text.split('/');
  // host without its port: one repository is served over ssh and https on different ports
  const host = (parts[0] ?? '').toLowerCase().replace(/:\d*$/, '');
  const owner = (parts[1] ?? '').toLowerCase();
  const rest = host === 'github.com' || host === 'www.github.com' ? parts.slice(2).map((part) => part.toLowerCase()) : parts.slice(2);
  return [host.replace(/^www\.github\.com$/, 'github.com'), owner, ...rest].filter((part, index) => index < 2 || part !== '').join('/');
}

/** True for URLs that look like a remote location (scheme or scp form); false for relative paths. */
export function isRemoteUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^@/\s]+@[^:/\s]+:/.test(url);
}

/**
 * Where the audited repository's URLs come from:
 * - `explicit`: `--repo-url` (with the tree's own remotes);
 * - `tree`: the git remotes or the GitHub source, and some app uses one of them;
 * - `inferred`: neither said it (a plain tree, a fork, a mirror): the repoURL apps use most for paths
 *   that exist in the audited tree;
 * - `unknown`: nothing to go by; every git repoURL is taken to be the audited repository.
 */
export type RepoIdentityBasis = 'explicit' | 'tree' | 'inferred' | 'unknown';

export interface RepoIdentity {
  /** True when the audited repository's URLs are known (given, from the tree, or inferred). */
  readonly known: boolean;
  readonly basis: RepoIdentityBasis;
  /** The URLs taken to be the audited repository, normalised. */
  readonly urls: readonly string[];
  isSelf(url: string | undefined): boolean;
}

export function repoIdentity(repoUrls: readonly string[] | undefined, basis?: RepoIdentityBasis): RepoIdentity {
  const selves = new Set((repoUrls ?? []).map(normaliseRepoUrl).filter((url) => url !== ''));
  const known = selves.size > 0;
  return {
    known,
    basis: known ? (basis ?? 'explicit') : 'unknown',
    urls: [...selves].sort(),
    isSelf(url) {
      if (url === undefined || url.trim() === '' || !isRemoteUrl(url)) return true;
      if (!known) return true;
      return selves.has(normaliseRepoUrl(url));
    },
  };
}
