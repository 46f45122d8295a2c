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
  type SourceDescription,
  type SourceLocation,
  type TreeIdentity,
} from '../model.js';
import { RevisionPolicy, type RevisionRequest } from './revisions.js';
import { attribute } from './attribution.js';
import type { ServiceAccountPullSecrets } from '../extractors/kubernetes/index.js';
import type { Emit, RenderResult, YamlPath } from './context.js';
import { repoIdentity, type RepoIdentity } from './argocd/repo-url.js';
import { Workspace } from './workspace.js';

export interface FluxGitRepository {
  name: string;
  url: string;
  /** `spec.ref` in Flux's precedence (commit, name, semver, tag, branch); Flux's default is branch master. */
  ref: RevisionRequest;
  where: SourceLocation;
  at: YamlPath;
}

/** Who asks for a revision, for the grouped finding: the app (or generator, values file) and where it is written. */
export interface RevisionUse {
  emit: Emit;
  at: YamlPath;
  /** File and line of the revision as written (the finding's location when it is the first use). */
  where: SourceLocation;
  /** What is left unresolved in strict mode (`Application x's desired state`). */
  what: string;
  /** The app's name, as listed in the grouped finding. */
  app: string;
  controller: 'Argo CD' | 'Flux';
}

export interface TargetWorkspace {
  ws: Workspace;
  /** The revision that could not be read: `ws` is the audited tree standing in for it. */
  assumed?: string;
}

interface Assumption {
  problem: 'missing' | 'unreadable';
  reason: string;
  where: SourceLocation;
  apps: Set<string>;
  controllers: Set<'Argo CD' | 'Flux'>;
}

/** The identity a tree's description gives when the source says nothing more (no refs seen, names only). */
export function identityOf(description: SourceDescription): TreeIdentity {
  return {
    ...(description.commit !== undefined && { commit: description.commit }),
    refs: description.ref !== undefined ? [description.ref] : [],
    seesAllRefs: false,
    urls: [],
  };
}

export class ResolveRun {
  readonly notes: string[] = [];
  readonly images: DesiredImage[] = [];
  /** ServiceAccounts every render produced: their imagePullSecrets complete the images' pull access. */
  readonly serviceAccounts: ServiceAccountPullSecrets[] = [];
  readonly identity: RepoIdentity;
  /** Keys of Application/ApplicationSet/Flux documents already processed. */
  readonly visited = new Set<string>();
  /** Paths (directories) an app renders, and every file and kustomization a render read. */
  readonly referencedDirs = new Set<string>();
  readonly coveredFiles = new Set<string>();
  readonly includedKustomizations = new Set<string>();
  /** Flux GitRepository objects by `namespace/name` (namespace may be empty): url, ref and where the ref is written. */
  readonly gitRepositories = new Map<string, FluxGitRepository>();
  private readonly workspaces = new Map<string, Promise<Workspace | RevisionUnavailableError>>();
  private readonly assumptions = new Map<string, Assumption>();
  private readonly byTree = new WeakMap<FileTree, Workspace>();
  private warnedRemote = false;

  constructor(
    readonly source: RepoSource,
    readonly audited: Workspace,
    repoUrls: readonly string[] | undefined,
    /** Shared with the workspaces, which add YAML findings to it. */
    readonly findings: Finding[],
    readonly policy: RevisionPolicy = new RevisionPolicy(source, identityOf(audited.tree.description)),
  ) {
    this.identity = repoIdentity(repoUrls);
    this.byTree.set(audited.tree, audited);
  }

  /**
   * The workspace an app's revision means (see revisions.ts), or undefined after a REVISION_UNAVAILABLE
   * finding (strict mode) when the source cannot read it. A revision that falls back to the audited tree
   * comes back with `assumed` set, and is reported once per distinct revision with every app that uses it.
   */
  async target(request: RevisionRequest | string | undefined, use: RevisionUse): Promise<TargetWorkspace | undefined> {
    const asked: RevisionRequest = typeof request === 'object' ? request : { text: request ?? '' };
    const decision = await this.policy.decide(asked);
    if (decision.kind === 'audited') return { ws: this.audited };
    if (decision.kind === 'fallback') return this.assume(asked.text.trim(), decision.problem, decision.reason, use);
    const loaded = await this.load(decision.revision);
    if (loaded instanceof Workspace) {
      const { commit } = loaded.tree.description;
      // A source that cannot resolve names cheaply is compared after loading: same commit, same tree.
      if (this.policy.mode !== 'strict' && commit !== undefined && commit === this.policy.identity.commit) return { ws: this.audited };
      return { ws: loaded };
    }
    if (this.policy.mode !== 'strict') return this.assume(asked.text.trim(), loaded.missing ? 'missing' : 'unreadable', loaded.message, use);
    use.emit(
      'REVISION_UNAVAILABLE',
      use.at,
      'error',
      `targetRevision ${decision.revision} cannot be read from this source (${loaded.message}); ${use.what} is not resolved`,
      'Audit that revision directly, or make the revision readable (fetch the branch or tag).',
    );
    return undefined;
  }

  /** `target` for callers that only need the tree (an assumed revision still gives the audited one). */
  async workspaceAt(revision: string | undefined, emit: Emit, at: YamlPath, what: string, where: SourceLocation): Promise<Workspace | undefined> {
    return (await this.target(revision, { emit, at, what, where, app: what, controller: 'Argo CD' }))?.ws;
  }

  private load(revision: string): Promise<Workspace | RevisionUnavailableError> {
    let pending = this.workspaces.get(revision);
    if (!pending) {
      pending = this.source.load(revision).then(
        (tree) => {
          const ws = new Workspace(tree, revision, this.findings);
          this.byTree.set(tree, ws).set(ws.tree, ws);
          return ws;
        },
        (error: unknown) => {
          if (error instanceof RevisionUnavailableError) return error;
          const reason = error instanceof Error ? error.message : String(error);
          return new RevisionUnavailableError(revision, reason);
        },
      );
      this.workspaces.set(revision, pending);
    }
    return pending;
  }

  private assume(revision: string, problem: 'missing' | 'unreadable', reason: string, use: RevisionUse): TargetWorkspace {
    const label = revision === '' ? 'HEAD' : revision;
    let entry = this.assumptions.get(label);
    if (!entry) {
      entry = { problem, reason, where: use.where, apps: new Set(), controllers: new Set() };
      this.assumptions.set(label, entry);
    }
    entry.apps.add(use.app);
    entry.controllers.add(use.controller);
    return { ws: this.audited, assumed: label };
  }

  /** One REVISION_MISSING or REVISION_UNREADABLE finding per distinct revision that fell back, listing its apps. */
  flushAssumptions(): void {
    for (const [revision, entry] of this.assumptions) {
      const apps = [...entry.apps].sort();
      const listed = apps.length > 8 ? `${apps.slice(0, 8).join(', ')} and ${apps.length - 8} more` : apps.join(', ');
      const count = `${apps.length} app${apps.length === 1 ? '' : 's'}`;
      const controller = [...entry.controllers].sort().join(' and ');
      if (entry.problem === 'missing') {
        this.findings.push({
          ...entry.where,
          code: 'REVISION_MISSING',
          severity: 'error',
          message: `${controller} cannot resolve revision ${revision} (${entry.reason}): ${count} ${apps.length === 1 ? 'is stuck and keeps what it' : 'are stuck and keep what they'} last synced (${listed}); images shown are from the audited tree, marked assumed`,
          hint: `Point the apps at a branch or tag that exists, or restore ${revision}; until then the cluster keeps running what it last synced.`,
        });
      } else {
        this.findings.push({
          ...entry.where,
          code: 'REVISION_UNREADABLE',
          severity: 'warning',
          message: `revision ${revision} cannot be read from this source (${entry.reason}); ${count} (${listed}) ${apps.length === 1 ? 'is' : 'are'} shown with the audited tree's images, marked assumed`,
          hint: `If the audited tree is ${revision}, pass --ref ${revision}; otherwise audit a full clone (git clone without --depth; actions/checkout with fetch-depth: 0).`,
        });
      }
    }
    this.assumptions.clear();
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
    this.serviceAccounts.push(
      ...(render.serviceAccounts ?? []).map((account) =>
        account.namespace === undefined && defaultNamespace !== undefined ? { ...account, namespace: defaultNamespace } : account,
      ),
    );
    this.findings.push(...render.findings);
    // Paths are repository paths at every revision: a base an app renders at another revision (or at the
    // fallback) is pointed at, not an unreferenced unit of the audited tree. Remote charts render no paths.
    if (!fromAudited && render.files.length === 0) return;
    if (app.path !== undefined) this.referencedDirs.add(app.path);
    for (const file of render.files) this.coveredFiles.add(file);
    render.kustomizationDirs.forEach((dir) => this.referencedDirs.add(dir));
  }
}
