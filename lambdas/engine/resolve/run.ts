/**
 * The state of one resolver run: the findings and notes gathered so far, the attributed images, the
 * workspaces loaded per revision (each revision loaded once), the Applications already followed
 * (cycle protection for app-of-apps) and the repository paths some app points at.
 */
import {
  RevisionUnavailableError,
  type AppRef,
  type DesiredImage,
  type FileTree,
  type Finding,
  type RepoSource,
} from '../model.js';
import { attribute } from './attribution.js';
import type { Emit, RenderResult, YamlPath } from './context.js';
import { repoIdentity, type RepoIdentity } from './argocd/repo-url.js';
import { Workspace } from './workspace.js';

export class ResolveRun {
  readonly notes: string[] = [];
  readonly images: DesiredImage[] = [];
  readonly identity: RepoIdentity;
  /** Keys of Application/ApplicationSet/Flux documents already processed. */
  readonly visited = new Set<string>();
  /** Paths (directories) an app renders, and every file and kustomization a render read. */
  readonly referencedDirs = new Set<string>();
  readonly coveredFiles = new Set<string>();
  readonly includedKustomizations = new Set<string>();
  /** Flux GitRepository urls by `namespace/name` (namespace may be empty). */
  readonly gitRepositories = new Map<string, string>();
  private readonly workspaces = new Map<string, Promise<Workspace | RevisionUnavailableError>>();
  private readonly byTree = new WeakMap<FileTree, Workspace>();
  private warnedRemote = false;

  constructor(
    readonly source: RepoSource,
    readonly audited: Workspace,
    repoUrls: readonly string[] | undefined,
    /** Shared with the workspaces, which add YAML findings to it. */
    readonly findings: Finding[],
  ) {
    this.identity = repoIdentity(repoUrls);
    this.byTree.set(audited.tree, audited);
  }

  /** True when a targetRevision means the audited revision (empty, HEAD, the audited ref or commit). */
  isAuditedRevision(revision: string | undefined): boolean {
    if (revision === undefined) return true;
    const text = revision.trim();
    if (text === '' || text === 'HEAD') return true;
    const { ref, commit } = this.audited.tree.description;
    const strip = (value: string) => value.replace(/^refs\/(heads|tags)\//, '');
    if (ref !== undefined && strip(ref) === strip(text)) return true;
    if (commit !== undefined && text.length >= 7 && /^[0-9a-f]+$/i.test(text) && commit.startsWith(text.toLowerCase())) return true;
    return false;
  }

  /**
   * The workspace for a revision; undefined after a REVISION_UNAVAILABLE finding at `at` when the
   * source cannot read it. `what` names what is then left unresolved.
   */
  async workspaceAt(revision: string | undefined, emit: Emit, at: YamlPath, what: string): Promise<Workspace | undefined> {
    if (this.isAuditedRevision(revision) || revision === undefined) return this.audited;
    const key = revision.trim();
    let pending = this.workspaces.get(key);
    if (!pending) {
      pending = this.source.load(key).then(
        (tree) => {
          const ws = new Workspace(tree, key, this.findings);
          this.byTree.set(tree, ws).set(ws.tree, ws);
          return ws;
        },
        (error: unknown) => {
          if (error instanceof RevisionUnavailableError) return error;
          const reason = error instanceof Error ? error.message : String(error);
          return new RevisionUnavailableError(key, reason);
        },
      );
      this.workspaces.set(key, pending);
    }
    const ws = await pending;
    if (ws instanceof Workspace) return ws;
    emit(
      'REVISION_UNAVAILABLE',
      at,
      'error',
      `targetRevision ${key} cannot be read from this source (${ws.message}); ${what} is not resolved`,
      'Audit that revision directly, or make the revision readable (fetch the branch or tag).',
    );
    return undefined;
  }

  workspaceOf(tree: FileTree): Workspace {
    let ws = this.byTree.get(tree);
    if (!ws) {
      ws = new Workspace(tree, undefined, this.findings);
      this.byTree.set(tree, ws);
    }
    return ws;
  }

  /** True when `url` is the audited repository; emits the one-time note when that is an assumption. */
  isSelf(url: string | undefined): boolean {
    const self = this.identity.isSelf(url);
    if (self && !this.identity.known && url !== undefined && /:\/\/|@/.test(url) && !this.warnedRemote) {
      this.warnedRemote = true;
      this.notes.push(
        'repoUrls was not given: every git repoURL of an app is taken to be the audited repository; pass the repository URLs to report apps that read other repositories',
      );
    }
    return self;
  }

  /** Records a render: its images under `app`, its findings, and what it covered. */
  addRender(app: AppRef, render: RenderResult, defaultNamespace?: string, fromAudited = true): void {
    this.images.push(...attribute(app, render.images, defaultNamespace));
    this.findings.push(...render.findings);
    if (!fromAudited) return;
    if (app.path !== undefined) this.referencedDirs.add(app.path);
    for (const file of render.files) this.coveredFiles.add(file);
    render.kustomizationDirs.forEach((dir) => this.referencedDirs.add(dir));
  }
}
