/**
 * Decides whether an Argo CD `repoURL` (or a Flux GitRepository url) names the audited repository.
 * URLs are compared in a normalised form: scheme, credentials, `.git` suffix and trailing slashes are
 * dropped, `git@host:owner/repo` becomes `host/owner/repo`, host and owner are lower-cased.
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
  // host without default ports
  const host = (parts[0] ?? '').toLowerCase().replace(/:(443|22|80)$/, '');
  const owner = (parts[1] ?? '').toLowerCase();
  return [host, owner, ...parts.slice(2)].filter((part, index) => index < 2 || part !== '').join('/');
}

/** True for URLs that look like a remote location (scheme or scp form); false for relative paths. */
export function isRemoteUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^@/\s]+@[^:/\s]+:/.test(url);
}

export interface RepoIdentity {
  /** True when the caller listed the audited repository's URLs. */
  readonly known: boolean;
  isSelf(url: string | undefined): boolean;
}

export function repoIdentity(repoUrls: readonly string[] | undefined): RepoIdentity {
  const known = repoUrls !== undefined && repoUrls.length > 0;
  const selves = new Set((repoUrls ?? []).map(normaliseRepoUrl));
  return {
    known,
    isSelf(url) {
      if (url === undefined || url.trim() === '' || !isRemoteUrl(url)) return true;
      if (!known) return true;
      return selves.has(normaliseRepoUrl(url));
    },
  };
}
