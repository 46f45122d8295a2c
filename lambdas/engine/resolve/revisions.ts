/**
 * Which tree an app's revision means, decided the way Argo CD and Flux decide it, by commit:
 * - empty / `HEAD` (Argo CD) is the remote's default branch, as Argo CD resolves it; when the default
 *   branch is unknown (a plain tree), the audited tree;
 * - a branch, tag or commit that points at the audited commit (or is one of the names declared for
 *   the audited tree: `--ref`, CI variables, the pull request's base on its head side) is the audited tree;
 * - a semver range (Argo CD `targetRevision: 1.2.*`, Flux `ref.semver`) is the highest matching tag;
 * - a revision the source resolves to another commit is read from the source;
 * - a revision it cannot resolve falls back to the audited tree, marked assumed: `missing` when the source
 *   sees every ref (a full clone, the GitHub API: the controller cannot resolve it either), `unreadable`
 *   otherwise (a plain tree, a tarball, a shallow or single-branch clone).
 *
 * Modes: `auto` (the above), `strict` (the behaviour before revision resolution: names compared with
 * the audited ref, an unreadable revision leaves its app unresolved), `audited` (every revision is the
 * audited tree).
 */
// Only the functions used: the whole package (its parsers, every range helper) weighs on the Lambda bundle.
import coerceVersion from 'semver/functions/coerce.js';
import greaterThan from 'semver/functions/gt.js';
import satisfiesRange from 'semver/functions/satisfies.js';
import validVersion from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import type { RepoSource, TreeIdentity } from '../model.js';

export const REVISIONS_MODES = ['auto', 'strict', 'audited'] as const;
export type RevisionsMode = (typeof REVISIONS_MODES)[number];

/** A revision as an app writes it. Argo CD writes text; Flux names the form (`ref.branch`, `ref.tag`...). */
export interface RevisionRequest {
  text: string;
  form?: 'branch' | 'tag' | 'semver' | 'commit' | 'name';
}

export type RevisionDecision =
  | { kind: 'audited' }
  /** Read `revision` from the source (a name it resolves to another commit). */
  | { kind: 'read'; revision: string }
  /** Fall back to the audited tree; `missing` when the revision does not exist, `unreadable` when this source cannot tell. */
  | { kind: 'fallback'; problem: 'missing' | 'unreadable'; reason: string };

export interface RevisionPolicyOptions {
  mode?: RevisionsMode;
  /**
   * Pull-request head side: the base branch's name. Apps that follow it (or HEAD) will deploy what the
   * pull request makes of the tree, so they read the working tree.
   */
  pullRequestBase?: string;
}

const SHA = /^[0-9a-f]{7,64}$/i;

export function stripRefPrefix(name: string): string {
  return name.trim().replace(/^refs\/(?:heads|tags)\//, '').replace(/^origin\//, '');
}

/** True for a semver range that is not a plain version (`1.2.*`, `>=1.0.0 <2`, `~1.4`); a plain version is a tag name. */
export function isSemverRange(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '' || validVersion(trimmed) !== null) return false;
  if (!/[*xX^~<>=|]|\s-\s/.test(trimmed)) return false;
  return validRange(trimmed) !== null;
}

export class RevisionPolicy {
  readonly mode: RevisionsMode;
  private readonly decisions = new Map<string, Promise<RevisionDecision>>();
  private readonly names: Set<string>;

  constructor(
    private readonly source: RepoSource,
    readonly identity: TreeIdentity,
    private readonly options: RevisionPolicyOptions = {},
  ) {
    this.mode = options.mode ?? 'auto';
    this.names = new Set(identity.refs.map(stripRefPrefix));
    if (options.pullRequestBase !== undefined) this.names.add(stripRefPrefix(options.pullRequestBase));
  }

  /** The decision for a revision, made once per distinct revision. */
  decide(request: RevisionRequest): Promise<RevisionDecision> {
    const key = `${request.form ?? ''}\u0000${request.text.trim()}`;
    let pending = this.decisions.get(key);
    if (!pending) {
      pending = this.mode === 'strict' ? Promise.resolve(this.decideStrict(request)) : this.decideAuto(request);
      this.decisions.set(key, pending);
    }
    return pending;
  }

  /** The name, commit prefix or tag that points at the audited tree. */
  private isAuditedName(name: string): boolean {
    if (this.names.has(stripRefPrefix(name))) return true;
    const { commit } = this.identity;
    return commit !== undefined && SHA.test(name) && commit.toLowerCase().startsWith(name.toLowerCase());
  }

  private decideStrict(request: RevisionRequest): RevisionDecision {
    const text = request.text.trim();
    if (text === '' || text === 'HEAD' || this.isAuditedName(text)) return { kind: 'audited' };
    return { kind: 'read', revision: text };
  }

  private async decideAuto(request: RevisionRequest): Promise<RevisionDecision> {
    if (this.mode === 'audited') return { kind: 'audited' };
    let name = request.text.trim();
    if (request.form === 'semver' || (request.form === undefined && isSemverRange(name))) {
      const tag = await this.highestTag(name);
      if (tag === undefined) {
        const canList = this.source.listTags !== undefined && this.identity.seesAllRefs;
        return {
          kind: 'fallback',
          problem: canList ? 'missing' : 'unreadable',
          reason: canList ? `no tag matches the semver range ${name}` : `this source cannot list tags to pick one for ${name}`,
        };
      }
      name = tag;
    } else if (name === '' || name === 'HEAD') {
      // Argo CD: the remote's default branch. On a pull request's head side, HEAD is what the PR makes it.
      if (this.options.pullRequestBase !== undefined || this.identity.defaultBranch === undefined) return { kind: 'audited' };
      name = this.identity.defaultBranch;
    }
    if (this.isAuditedName(name)) return { kind: 'audited' };
    if (!this.source.resolveRevision) return { kind: 'read', revision: name };
    let commit: string | undefined;
    try {
      commit = await this.source.resolveRevision(name);
    } catch (error) {
      return { kind: 'fallback', problem: 'unreadable', reason: error instanceof Error ? error.message : String(error) };
    }
    if (commit === undefined) {
      return this.identity.seesAllRefs
        ? { kind: 'fallback', problem: 'missing', reason: `no branch, tag or commit ${name} exists` }
        : { kind: 'fallback', problem: 'unreadable', reason: `this source cannot resolve ${name}` };
    }
    if (commit === this.identity.commit) return { kind: 'audited' };
    return { kind: 'read', revision: name };
  }

  private async highestTag(range: string): Promise<string | undefined> {
    const tags = (await this.source.listTags?.().catch(() => [])) ?? [];
    let best: { tag: string; version: string } | undefined;
    for (const tag of tags) {
      const version = validVersion(coerceVersion(tag, { loose: true }) === null ? null : tag.replace(/^v/, ''), { loose: true });
      if (version === null || !satisfiesRange(version, range, { loose: true })) continue;
      if (!best || greaterThan(version, best.version)) best = { tag, version };
    }
    return best?.tag;
  }
}
