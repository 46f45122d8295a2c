/**
 * Which repository URLs are the audited repository (see argocd/repo-url.ts for the comparison):
 * 1. `--repo-url` given: those URLs and the tree's own (git remotes, the GitHub source). Nothing inferred.
 * 2. Otherwise the tree's own URLs, when some app or GitRepository uses one of them.
 * 3. Otherwise (a plain directory or tarball, a fork, a mirror, a clone of a local path) the dominant
 *    repoURL: the git URL that Argo CD sources, ApplicationSet git generators and Flux objects use most
 *    for paths that exist in the audited tree. A note says which URL was inferred.
 * 4. Nothing to infer from: every git repoURL is taken to be the audited repository, as before, with a note.
 * Apps of any other repository are reported (REMOTE_RESOURCE), never read from the audited tree or its refs.
 */
import type { TreeIdentity } from '../model.js';
import { isRemoteUrl, normaliseRepoUrl, repoIdentity, type RepoIdentity } from './argocd/repo-url.js';
import { hasTemplate, isRecord } from './argocd/template.js';
import type { Discovery } from './discover.js';
import { normalisePath, type Workspace } from './workspace.js';

/** One use of a git URL by an app, generator or Flux object, and whether the path it reads is in the audited tree. */
export interface RepoUrlUse {
  url: string;
  pathExists: boolean;
}

/** Said when nothing tells which repoURL is the audited repository. */
export const UNKNOWN_REPOSITORY_NOTE =
  'repoUrls was not given (--repo-url) and neither the git remote, the GitHub source nor the paths apps read say which repoURL is the audited repository: every git repoURL of an app is taken to be it; pass the repository URLs to report apps that read other repositories';

export interface ResolvedRepoIdentity {
  identity: RepoIdentity;
  /** What the run should tell the user about it (inferred URLs, or nothing known). */
  note?: string;
}

export function decideRepoIdentity(
  explicit: readonly string[] | undefined,
  tree: Pick<TreeIdentity, 'urls'> | undefined,
  uses: readonly RepoUrlUse[],
): ResolvedRepoIdentity {
  const own = (tree?.urls ?? []).filter((url) => url.trim() !== '');
  if (explicit !== undefined && explicit.length > 0) return { identity: repoIdentity([...explicit, ...own], 'explicit') };
  const used = new Set(uses.map((use) => normaliseRepoUrl(use.url)));
  if (own.some((url) => used.has(normaliseRepoUrl(url)))) return { identity: repoIdentity(own, 'tree') };
  const dominant = dominantRepoUrls(uses);
  if (dominant.urls.length === 0) {
    const identity = repoIdentity(undefined);
    if (used.size === 0) return { identity };
    return { identity, note: UNKNOWN_REPOSITORY_NOTE };
  }
  const identity = repoIdentity([...own, ...dominant.urls.map((url) => `https://${url}`)], 'inferred');
  const others = new Set(uses.filter((use) => !identity.isSelf(use.url)).map((use) => normaliseRepoUrl(use.url))).size;
  const named = dominant.urls.join(' and ');
  const why = own.length > 0 ? 'no app uses the URL of its git remote or GitHub source' : 'no --repo-url, no git remote';
  return {
    identity,
    note: `the audited repository was taken to be ${named} (${why}; ${dominant.votes} app path${dominant.votes === 1 ? '' : 's'} of that URL ${dominant.votes === 1 ? 'exists' : 'exist'} in the tree)${others > 0 ? `; ${others} other repositor${others === 1 ? 'y is' : 'ies are'} reported, not read` : ''}; pass --repo-url to say otherwise`,
  };
}

/** The URL(s) with the most uses whose paths exist (all of them on a tie); none when no path exists. */
function dominantRepoUrls(uses: readonly RepoUrlUse[]): { urls: string[]; votes: number } {
  const votes = new Map<string, { url: string; count: number }>();
  for (const use of uses) {
    if (!use.pathExists) continue;
    const key = normaliseRepoUrl(use.url);
    const entry = votes.get(key) ?? { url: key, count: 0 };
    entry.count += 1;
    votes.set(key, entry);
  }
  const best = Math.max(0, ...[...votes.values()].map((entry) => entry.count));
  if (best === 0) return { urls: [], votes: 0 };
  return { urls: [...votes.values()].filter((entry) => entry.count === best).map((entry) => entry.url).sort(), votes: best };
}

/**
 * Every git URL the discovered documents use, with whether the path each use reads exists in `ws`:
 * Argo CD sources (`repoURL` + `path`, Helm repository sources left out), ApplicationSet git generators
 * (`repoURL` + `directories[].path` / `files[].path`, globs up to their first wildcard), Flux
 * Kustomizations and HelmReleases through the GitRepository their sourceRef names.
 */
export function repoUrlUses(ws: Workspace, found: Pick<Discovery, 'argo' | 'flux' | 'gitRepositories'>): RepoUrlUse[] {
  const uses: RepoUrlUse[] = [];
  for (const doc of found.argo) collectArgoUses(ws, doc.value, uses, 0);
  const repositories = new Map<string, string>();
  for (const doc of found.gitRepositories) {
    const { value } = doc;
    if (!isRecord(value) || !isRecord(value.metadata) || !isRecord(value.spec) || typeof value.spec.url !== 'string') continue;
    if (typeof value.metadata.name !== 'string' || !isRemoteUrl(value.spec.url)) continue;
    const namespace = typeof value.metadata.namespace === 'string' ? value.metadata.namespace : '';
    repositories.set(`${namespace}/${value.metadata.name}`, value.spec.url);
    if (!repositories.has(`*/${value.metadata.name}`)) repositories.set(`*/${value.metadata.name}`, value.spec.url);
  }
  for (const doc of found.flux) {
    const { value } = doc;
    if (!isRecord(value) || !isRecord(value.spec)) continue;
    const namespace = isRecord(value.metadata) && typeof value.metadata.namespace === 'string' ? value.metadata.namespace : '';
    const chartSpec = isRecord(value.spec.chart) && isRecord(value.spec.chart.spec) ? value.spec.chart.spec : undefined;
    const sourceRef = chartSpec?.sourceRef ?? value.spec.sourceRef;
    // A Kustomization without spec.path reads the repository's root, as Flux does.
    const path = chartSpec ? chartSpec.chart : (value.spec.path ?? '');
    if (!isRecord(sourceRef) || sourceRef.kind !== 'GitRepository' || typeof sourceRef.name !== 'string') continue;
    const refNamespace = typeof sourceRef.namespace === 'string' ? sourceRef.namespace : namespace;
    const url = repositories.get(`${refNamespace}/${sourceRef.name}`) ?? repositories.get(`*/${sourceRef.name}`);
    if (url === undefined) continue;
    uses.push({ url, pathExists: typeof path === 'string' && pathExists(ws, path, 'directory') });
  }
  return uses;
}

const MAX_DEPTH = 12;

function collectArgoUses(ws: Workspace, value: unknown, uses: RepoUrlUse[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) collectArgoUses(ws, item, uses, depth + 1);
    return;
  }
  if (!isRecord(value)) return;
  const url = value.repoURL;
  if (typeof url === 'string' && isRemoteUrl(url) && !hasTemplate(url) && value.chart === undefined) {
    const paths: { path: string; kind: 'directory' | 'file' }[] = [];
    if (typeof value.path === 'string') paths.push({ path: value.path, kind: 'directory' });
    for (const [key, kind] of [['directories', 'directory'], ['files', 'file']] as const) {
      const list = value[key];
      if (!Array.isArray(list)) continue;
      for (const entry of list) {
        if (isRecord(entry) && typeof entry.path === 'string' && entry.exclude !== true) paths.push({ path: entry.path, kind });
      }
    }
    uses.push({ url, pathExists: paths.some((entry) => pathExists(ws, entry.path, entry.kind)) });
  }
  for (const [key, child] of Object.entries(value)) {
    if (key !== 'repoURL') collectArgoUses(ws, child, uses, depth + 1);
  }
}

const WILDCARD = /[*?[]|\{\{/;

/** An exact path that exists, or a glob/template whose fixed leading directories exist (and are not the root). */
function pathExists(ws: Workspace, path: string, kind: 'directory' | 'file'): boolean {
  const segments = path.split('/');
  const fixed = segments.findIndex((segment) => WILDCARD.test(segment));
  if (fixed < 0) {
    const normal = normalisePath(path);
    if (normal === undefined) return false;
    return kind === 'file' ? ws.has(normal) : ws.isDirectory(normal);
  }
  const prefix = normalisePath(segments.slice(0, fixed).join('/'));
  return prefix !== undefined && prefix !== '' && ws.isDirectory(prefix);
}
