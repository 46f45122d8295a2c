/**
 * Per-app revision resolution against real git repositories: the same commit audited from a full
 * clone, a detached CI checkout, a shallow clone and a plain tree (git archive, no .git) gives the
 * same images for apps on the default branch; other revisions are read when the checkout can, and
 * otherwise fall back to the audited tree, marked assumed, with one finding per revision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../../lambdas/engine/model.js';
import { resolveDesiredState, type ResolveOptions } from '../../lambdas/engine/resolve/index.js';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { GitSandbox } from '../support/git-repos.js';
import { application, deployment } from './helpers.js';

const REPO = 'https://github.com/acme/gitops';

let sandbox: GitSandbox;
let firstCommit: string;
let mainCommit: string;

const app = (name: string, revision: string | undefined) =>
  application(name, `repoURL: ${REPO}\npath: deploy${revision === undefined ? '' : `\ntargetRevision: '${revision}'`}`);

const gitRepository = (name: string, ref: string) => `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: ${name}
  namespace: flux-system
spec:
  url: ${REPO}
${ref}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-${name}
  namespace: flux-system
spec:
  path: ./deploy
  sourceRef:
    kind: GitRepository
    name: ${name}
`;

const appSet = `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: envs
spec:
  generators:
    - list:
        elements:
          - env: stable
            rev: main
          - env: gone
            rev: refactor
  template:
    metadata:
      name: 'set-{{env}}'
    spec:
      source:
        repoURL: ${REPO}
        path: deploy
        targetRevision: '{{rev}}'
      destination:
        namespace: '{{env}}'
`;

const deploy = (tag: string) => ({ 'deploy/d.yaml': deployment('web', `ghcr.io/acme/web:${tag}`) });

beforeAll(() => {
  sandbox = new GitSandbox();
  firstCommit = sandbox.commit(
    {
      ...deploy('1.0.0'),
      'legacy/base/kustomization.yaml': 'resources:\n  - d.yaml\n',
      'legacy/base/d.yaml': deployment('legacy', 'ghcr.io/acme/legacy:1'),
      'legacy/overlay/kustomization.yaml': 'resources:\n  - ../base\n',
    },
    'first',
  );
  sandbox.run('tag', 'v1.0.0');
  sandbox.commit(deploy('1.2.0'), 'second');
  sandbox.run('tag', 'v1.2.0');
  sandbox.run('push', '--quiet', 'origin', 'main', '--tags');
  sandbox.run('checkout', '--quiet', '-b', 'feature-x');
  sandbox.commit({ ...deploy('feature'), 'only-on-feature/d.yaml': deployment('extra', 'ghcr.io/acme/extra:1') }, 'feature');
  sandbox.run('push', '--quiet', 'origin', 'feature-x');
  sandbox.run('checkout', '--quiet', '-b', 'refactor', 'main');
  sandbox.commit(deploy('refactor'), 'refactor');
  sandbox.run('push', '--quiet', 'origin', 'refactor');
  sandbox.run('checkout', '--quiet', 'main');
  mainCommit = sandbox.commit(
    {
      ...deploy('main'),
      'apps/main.yaml': app('on-main', 'main'),
      'apps/head.yaml': app('on-head', 'HEAD'),
      'apps/empty.yaml': app('on-empty', undefined),
      'apps/heads-ref.yaml': app('on-refs-heads-main', 'refs/heads/main'),
      'apps/feature.yaml': app('on-feature', 'feature-x'),
      'apps/tag.yaml': app('on-tag', 'v1.0.0'),
      'apps/semver.yaml': app('on-semver', '1.*'),
      'apps/sha.yaml': app('on-sha', firstCommit),
      'apps/deleted.yaml': app('on-deleted', 'refactor'),
      'apps/legacy.yaml': application('on-legacy', `repoURL: ${REPO}\npath: legacy/overlay\ntargetRevision: v1.0.0`),
      'apps/branch-only.yaml': application('on-branch-only', `repoURL: ${REPO}\npath: only-on-feature\ntargetRevision: feature-x`),
      'apps/null.yaml': application('on-null', `repoURL: ${REPO}\npath: deploy\ntargetRevision: null`),
      'apps/set.yaml': appSet,
      'flux/branch.yaml': gitRepository('branch', '  ref:\n    branch: main'),
      'flux/tag.yaml': gitRepository('tag', '  ref:\n    tag: v1.0.0'),
      'flux/semver.yaml': gitRepository('semver', "  ref:\n    semver: '>=1.0.0 <2.0.0'"),
      'flux/commit.yaml': gitRepository('commit', `  ref:\n    branch: main\n    commit: ${firstCommit}`),
      'flux/gone.yaml': gitRepository('gone', '  ref:\n    branch: refactor'),
    },
    'apps',
  );
  sandbox.run('push', '--quiet', 'origin', 'main');
});

afterAll(() => sandbox.cleanup());

async function desired(dir: string, options: ResolveOptions = {}): Promise<DesiredState> {
  return resolveDesiredState(createLocalSource(dir), options);
}

/** `app → image` with ` (assumed)` for rows whose revision fell back. */
function images(state: DesiredState): Record<string, string> {
  return Object.fromEntries(state.images.map((row) => [row.app.name, `${row.image.replace('ghcr.io/acme/web:', '')}${row.revisionAssumed ? ' (assumed)' : ''}`]));
}

function revisionFindings(state: DesiredState): string[] {
  return state.findings.filter((f) => f.code.startsWith('REVISION_')).map((f) => `${f.code} ${f.file}:${f.line}`);
}

const DEFAULT_BRANCH_APPS = ['on-main', 'on-head', 'on-empty', 'on-refs-heads-main', 'set-stable', 'flux-branch'];

describe('revision resolution in a full clone', () => {
  let state: DesiredState;
  beforeAll(async () => {
    // The branch the dev apps followed was merged and deleted on the remote after the clone fetched it.
    const dir = sandbox.fullClone('full');
    sandbox.run('push', '--quiet', 'origin', '--delete', 'refactor');
    const { git } = await import('../support/git-repos.js');
    git(dir, 'fetch', '--quiet', '--prune', 'origin');
    state = await desired(dir);
  });

  it('reads the audited tree for the default branch, HEAD and an empty targetRevision, by commit', () => {
    const rows = images(state);
    for (const name of DEFAULT_BRANCH_APPS) expect(rows[name], name).toBe('main');
    expect(state.images.find((row) => row.app.name === 'on-main')?.app.revision).toBeUndefined();
  });

  it('reads remote-only branches, tags, semver ranges and commits from git', () => {
    const rows = images(state);
    expect(rows['on-feature']).toBe('feature');
    expect(rows['on-tag']).toBe('1.0.0');
    expect(rows['on-semver']).toBe('1.2.0');
    expect(rows['on-sha']).toBe('1.0.0');
    expect(rows['flux-tag']).toBe('1.0.0');
    expect(rows['flux-semver']).toBe('1.2.0');
    expect(rows['flux-commit']).toBe('1.0.0');
    expect(rows['on-legacy']).toBe('ghcr.io/acme/legacy:1');
    expect(state.images.find((row) => row.app.name === 'on-branch-only')?.image).toBe('ghcr.io/acme/extra:1');
  });

  it('counts a base an app renders at another revision as pointed at, not UNREFERENCED', () => {
    expect(state.findings.filter((f) => f.code === 'UNREFERENCED').map((f) => f.file)).toEqual([]);
  });

  it('reads `targetRevision: null` as HEAD, not as a branch named null', () => {
    expect(images(state)['on-null']).toBe('main');
  });

  it('shows apps on a deleted branch with the audited tree, marked assumed, and one REVISION_MISSING per controller revision', () => {
    const rows = images(state);
    expect(rows['on-deleted']).toBe('main (assumed)');
    expect(rows['set-gone']).toBe('main (assumed)');
    expect(rows['flux-gone']).toBe('main (assumed)');
    expect(revisionFindings(state)).toEqual(['REVISION_MISSING apps/deleted.yaml:9']);
    const finding = state.findings.find((f) => f.code === 'REVISION_MISSING');
    expect(finding?.severity).toBe('error');
    expect(finding?.message).toContain('3 apps are stuck and keep what they last synced (flux-gone, on-deleted, set-gone)');
    expect(finding?.message).toContain('images shown are from the audited tree');
    expect(finding?.message).toContain('Argo CD and Flux cannot resolve revision refactor');
  });
});

describe('revision resolution in a detached CI checkout (actions/checkout, fetch-depth 1)', () => {
  let state: DesiredState;
  beforeAll(async () => {
    state = await desired(sandbox.ciCheckout('ci', 'main'));
  });

  it('gives the default-branch apps the same images as the full clone, without reading git again', () => {
    const rows = images(state);
    for (const name of DEFAULT_BRANCH_APPS) expect(rows[name], name).toBe('main');
  });

  it('falls back for revisions a shallow checkout cannot read, one REVISION_UNREADABLE per revision', () => {
    const rows = images(state);
    expect(rows['on-feature']).toBe('main (assumed)');
    expect(rows['on-tag']).toBe('main (assumed)');
    expect(rows['on-deleted']).toBe('main (assumed)');
    const findings = state.findings.filter((f) => f.code === 'REVISION_UNREADABLE');
    expect(findings.map((f) => f.severity)).toEqual(findings.map(() => 'warning'));
    const revisions = findings.map((f) => /revision (.+?) cannot be read/.exec(f.message)?.[1]).sort();
    expect(revisions).toEqual([firstCommit, '1.*', '>=1.0.0 <2.0.0', 'feature-x', 'refactor', 'v1.0.0'].sort());
    expect(state.findings.some((f) => f.code === 'REVISION_MISSING')).toBe(false);
    // A path that only the unreadable branch has is no error of the app: an info, and no images.
    const missing = state.findings.filter((f) => f.code === 'MISSING_FILE' && f.file === 'apps/branch-only.yaml');
    expect(missing.map((f) => f.severity)).toEqual(['info']);
  });
});

describe('revision resolution in a shallow clone and a plain tree', () => {
  it('a shallow clone reads its own branch and calls other revisions unreadable, not missing', async () => {
    const state = await desired(sandbox.shallowClone('shallow'));
    const rows = images(state);
    for (const name of DEFAULT_BRANCH_APPS) expect(rows[name], name).toBe('main');
    expect(rows['on-feature']).toBe('main (assumed)');
    expect(revisionFindings(state).every((line) => line.startsWith('REVISION_UNREADABLE'))).toBe(true);
  });

  it('a plain tree shows the same images, assumed for named revisions until --ref names the tree', async () => {
    const dir = sandbox.plainTree('plain');
    const bare = await desired(dir);
    const rows = images(bare);
    for (const name of DEFAULT_BRANCH_APPS) expect(rows[name]?.replace(' (assumed)', ''), name).toBe('main');
    expect(rows['on-head']).toBe('main');
    expect(rows['on-main']).toBe('main (assumed)');
    const main = bare.findings.find((f) => f.code === 'REVISION_UNREADABLE' && f.message.includes('revision main '));
    expect(main?.hint).toContain('--ref main');

    const named = await desired(dir, { refs: ['main'] });
    const namedRows = images(named);
    for (const name of DEFAULT_BRANCH_APPS) expect(namedRows[name], name).toBe('main');
    expect(named.findings.some((f) => f.message.includes('revision main '))).toBe(false);
  });

  it('--revisions audited reads every revision from the audited tree; strict keeps the old unresolved behaviour', async () => {
    const dir = sandbox.ciCheckout('ci-modes', 'main');
    const audited = await desired(dir, { revisions: 'audited' });
    expect(images(audited)['on-feature']).toBe('main');
    expect(revisionFindings(audited)).toEqual([]);
    const strict = await desired(dir, { revisions: 'strict' });
    expect(images(strict)['on-feature']).toBeUndefined();
    expect(revisionFindings(strict)).toContain('REVISION_UNAVAILABLE apps/feature.yaml:9');
  });
});

describe('pull-request head side', () => {
  it('apps on the base branch or HEAD read the working tree, even where git has the base branch elsewhere', async () => {
    const dir = sandbox.fullClone('pr');
    const { git, writeFiles } = await import('../support/git-repos.js');
    git(dir, 'checkout', '--quiet', '-b', 'pr-branch');
    writeFiles(dir, deploy('pr'));
    git(dir, 'commit', '--quiet', '-am', 'the pull request');
    const head = await desired(dir, { pullRequestBase: 'main' });
    const rows = images(head);
    expect(rows['on-main']).toBe('pr');
    expect(rows['on-head']).toBe('pr');
    expect(rows['on-feature']).toBe('feature');
    // Outside pull-request mode, main means main's tip, as Argo CD reads it.
    expect(images(await desired(dir))['on-main']).toBe('main');
    expect(mainCommit).toMatch(/^[0-9a-f]{40}$/);
  });
});
