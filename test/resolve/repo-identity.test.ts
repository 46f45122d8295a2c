/**
 * Which repoURLs are the audited repository, against real git repositories: the clone's remote in ssh form
 * matches apps that write the https form; another repository's app on `v1.0.0` is reported, never read
 * from our own v1.0.0 tag; a plain tree (no git) and a fork infer the dominant repoURL whose paths exist;
 * the GitHub source's URL identifies the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState, FileTree, RepoSource, TreeIdentity } from '../../lambdas/engine/model.js';
import { decideRepoIdentity } from '../../lambdas/engine/resolve/repo-identity.js';
import { normaliseRepoUrl } from '../../lambdas/engine/resolve/argocd/repo-url.js';
import { resolveDesiredState, type ResolveOptions } from '../../lambdas/engine/resolve/index.js';
import { createLocalSource } from '../../lambdas/engine/sources/local.js';
import { createGitHubSource } from '../../lambdas/engine/sources/github.js';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub } from '../support/github-server.js';
import { GitSandbox, git } from '../support/git-repos.js';
import { filesTree } from '../support/resolve-tree.js';
import { application, deployment } from './helpers.js';

const OURS = 'https://github.com/acme/gitops';
const OPERATOR = 'https://github.com/acme/operator';

let sandbox: GitSandbox;

const deploy = (dir: string, name: string, tag: string) => ({ [`${dir}/d.yaml`]: deployment(name, `ghcr.io/acme/${name}:${tag}`) });

beforeAll(() => {
  sandbox = new GitSandbox();
  // Our own v1.0.0: an old commit whose deploy/ has other images than main's.
  sandbox.commit({ ...deploy('deploy', 'web', 'ours-1.0.0'), ...deploy('operator', 'operator', 'ours-1.0.0') }, 'first');
  sandbox.run('tag', 'v1.0.0');
  sandbox.commit(
    {
      ...deploy('deploy', 'web', 'main'),
      ...deploy('operator', 'operator', 'main'),
      ...deploy('api', 'api', 'main'),
      ...deploy('worker', 'worker', 'main'),
      'apps/web.yaml': application('web', `repoURL: ${OURS}.git\npath: deploy\ntargetRevision: main`),
      'apps/api.yaml': application('api', `repoURL: git@github.com:Acme/GitOps.git\npath: api`),
      'apps/worker.yaml': application('worker', `repoURL: ssh://git@github.com/acme/gitops\npath: worker\ntargetRevision: HEAD`),
      // Another repository's app whose tag and path our repository happens to have too.
      'apps/operator.yaml': application('operator', `repoURL: ${OPERATOR}\npath: operator\ntargetRevision: v1.0.0`),
      'flux/sources.yaml': `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: operator
  namespace: flux-system
spec:
  url: ssh://git@github.com/acme/operator
  ref:
    tag: v1.0.0
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: operator-crds
  namespace: flux-system
spec:
  path: ./operator
  sourceRef:
    kind: GitRepository
    name: operator
`,
    },
    'apps',
  );
  sandbox.run('push', '--quiet', 'origin', 'main', '--tags');
});

afterAll(() => sandbox.cleanup());

async function desired(dir: string, options: ResolveOptions = {}): Promise<DesiredState> {
  return resolveDesiredState(createLocalSource(dir), options);
}

function images(state: DesiredState): string[] {
  return state.images.map((row) => `${row.app.name} ${row.image}${row.revisionAssumed ? ' (assumed)' : ''}`).sort();
}

function codes(state: DesiredState): string[] {
  return state.findings.map((f) => `${f.code} ${f.file}:${f.line}`);
}

/** Our apps, and our operator/ directory, which no app of ours points at: an unreferenced unit of the audited tree. */
const OUR_IMAGES = ['api ghcr.io/acme/api:main', 'operator ghcr.io/acme/operator:main', 'web ghcr.io/acme/web:main', 'worker ghcr.io/acme/worker:main'];

describe('repository identity from the git remote', () => {
  it('matches the remote in ssh form with apps writing https and scp forms, and reports the other repository once, never reading our v1.0.0', async () => {
    const dir = sandbox.fullClone('ssh-remote');
    git(dir, 'remote', 'set-url', 'origin', 'git@github.com:acme/gitops.git');
    const state = await desired(dir);
    expect(images(state)).toEqual(OUR_IMAGES);
    expect(state.images.some((row) => row.image.includes('ours-1.0.0'))).toBe(false);
    // One finding for the operator repository, whichever form its apps write (https, ssh).
    expect(codes(state)).toEqual(['REMOTE_RESOURCE apps/operator.yaml:7', 'UNREFERENCED operator/d.yaml:0']);
    const finding = state.findings[0];
    expect(finding?.severity).toBe('warning');
    expect(finding?.message).toBe(
      '2 apps read another repository, https://github.com/acme/operator (Kustomization operator-crds, operator); their images are not audited here (the audited repository is github.com/acme/gitops)',
    );
    expect(state.findings.filter((f) => f.code.startsWith('REVISION_'))).toEqual([]);
    expect(state.notes ?? []).toEqual([]);
  });

  it('matches a remote in https form with apps writing the scp form', async () => {
    const dir = sandbox.fullClone('https-remote');
    git(dir, 'remote', 'set-url', 'origin', 'https://github.com/ACME/gitops');
    const state = await desired(dir);
    expect(images(state)).toEqual(OUR_IMAGES);
    expect(state.findings.map((f) => f.code)).toEqual(['REMOTE_RESOURCE', 'UNREFERENCED']);
  });

  it('without --repo-url used to read the other repository from our own tag; --revisions strict keeps the identity too', async () => {
    const dir = sandbox.fullClone('strict');
    git(dir, 'remote', 'set-url', 'origin', 'git@github.com:acme/gitops.git');
    const state = await desired(dir, { revisions: 'strict' });
    expect(images(state)).toEqual(OUR_IMAGES);
  });

  it('--repo-url adds to the remote: an operator URL given as ours is read at our v1.0.0', async () => {
    const dir = sandbox.fullClone('explicit');
    git(dir, 'remote', 'set-url', 'origin', 'git@github.com:acme/gitops.git');
    const state = await desired(dir, { repoUrls: [OPERATOR] });
    expect(images(state)).toEqual(
      ['api ghcr.io/acme/api:main', 'operator ghcr.io/acme/operator:ours-1.0.0', 'operator-crds ghcr.io/acme/operator:ours-1.0.0', 'web ghcr.io/acme/web:main', 'worker ghcr.io/acme/worker:main'],
    );
    expect(state.findings.filter((f) => f.code === 'REMOTE_RESOURCE')).toEqual([]);
  });
});

describe('repository identity inferred from the paths apps read', () => {
  it('a plain tree (git archive, no remote) takes the repoURL most used for paths that exist, says so, and reports the other', async () => {
    const state = await desired(sandbox.plainTree('plain'));
    // A plain tree cannot vouch for branch main: web is assumed, as revisions.md says.
    expect(images(state)).toEqual(OUR_IMAGES.map((row) => (row.startsWith('web ') ? `${row} (assumed)` : row)));
    expect(state.notes).toEqual([
      'the audited repository was taken to be github.com/acme/gitops (no --repo-url, no git remote; 3 app paths of that URL exist in the tree); 1 other repository is reported, not read; pass --repo-url to say otherwise',
    ]);
    expect(state.findings.filter((f) => f.code === 'REMOTE_RESOURCE').map((f) => `${f.file}:${f.line}`)).toEqual(['apps/operator.yaml:7']);
    // Not assumed at the operator's v1.0.0 either: it is not ours to fall back for.
    expect(state.findings.filter((f) => f.code.startsWith('REVISION_')).map((f) => f.message).join('\n')).not.toContain('v1.0.0');
  });

  it('a fork whose remote no app uses infers the dominant repoURL and keeps the fork URL too', async () => {
    const dir = sandbox.fullClone('fork');
    git(dir, 'remote', 'set-url', 'origin', 'https://github.com/someone/gitops-fork.git');
    const state = await desired(dir);
    expect(images(state)).toEqual(OUR_IMAGES);
    expect(state.notes?.[0]).toContain('no app uses the URL of its git remote or GitHub source');
  });

  it('one repoURL in use whose paths exist is ours, with no finding about other repositories', async () => {
    const tree = filesTree({
      'apps/a.yaml': application('a', `repoURL: ${OPERATOR}\npath: deploy\ntargetRevision: HEAD`),
      'deploy/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
    });
    const state = await resolveDesiredState(treeOnly(tree));
    expect(images(state)).toEqual(['a ghcr.io/acme/a:1']);
    expect(state.findings).toEqual([]);
  });

  it('a Flux GitRepository whose Kustomization has no spec.path reads the root, which exists: its URL is inferred', async () => {
    const tree = filesTree({
      'tenants/sync.yaml': `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: dev-team
  namespace: apps
spec:
  url: https://github.com/fluxcd/flux2-multi-tenancy
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: dev-team
  namespace: apps
spec:
  sourceRef:
    kind: GitRepository
    name: dev-team
`,
      'deploy/d.yaml': deployment('a', 'ghcr.io/acme/a:1'),
    });
    const state = await resolveDesiredState(treeOnly(tree));
    expect(state.notes).toEqual([
      'the audited repository was taken to be github.com/fluxcd/flux2-multi-tenancy (no --repo-url, no git remote; 1 app path of that URL exists in the tree); pass --repo-url to say otherwise',
    ]);
  });

  it('ties between repoURLs keep all of them (no recall lost on an ambiguous tree)', () => {
    const decided = decideRepoIdentity(undefined, undefined, [
      { url: 'https://github.com/a/one', pathExists: true },
      { url: 'https://github.com/a/two', pathExists: true },
      { url: 'https://github.com/a/three', pathExists: false },
    ]);
    expect(decided.identity.basis).toBe('inferred');
    expect(decided.identity.isSelf('git@github.com:a/one.git')).toBe(true);
    expect(decided.identity.isSelf('https://github.com/a/two')).toBe(true);
    expect(decided.identity.isSelf('https://github.com/a/three')).toBe(false);
  });
});

describe('repository identity from the GitHub source', () => {
  it('the GitHub source URL identifies the repository, owner and name in any case', () => {
    const github: Pick<TreeIdentity, 'urls'> = { urls: ['https://github.com/acme/gitops'] };
    const decided = decideRepoIdentity(undefined, github, [
      { url: 'git@github.com:ACME/GitOps.git', pathExists: false },
      { url: OPERATOR, pathExists: true },
      { url: OPERATOR, pathExists: true },
    ]);
    expect(decided.identity.basis).toBe('tree');
    expect(decided.identity.isSelf('ssh://git@github.com/Acme/gitops')).toBe(true);
    expect(decided.identity.isSelf(OPERATOR)).toBe(false);
    expect(decided.note).toBeUndefined();
  });

  it('a GitHub Enterprise source: apps naming the repository in scp form are ours, the operator repository is reported', async () => {
    const github = await startFakeGitHub({ pathPrefix: '/api/v3' });
    try {
      const host = new URL(github.baseUrl).host;
      const sha = 'd'.repeat(40);
      github.addRepository({
        owner: 'acme',
        name: 'gitops',
        defaultBranch: 'main',
        refs: { main: sha, 'v1.0.0': sha },
        archives: {
          [sha]: await gitHubArchive('acme', 'gitops', sha, {
            'apps/web.yaml': application('web', `repoURL: git@${host.replace(/:\d+$/, '')}:Acme/gitops.git\npath: deploy`),
            'apps/operator.yaml': application('operator', `repoURL: https://${host}/acme/operator\npath: deploy\ntargetRevision: v1.0.0`),
            'apps/operator-2.yaml': application('operator-2', `repoURL: https://${host}/acme/operator\npath: deploy\ntargetRevision: v1.0.0`),
            'deploy/d.yaml': deployment('web', 'ghcr.io/acme/web:1'),
          }),
        },
      });
      const source = createGitHubSource({ owner: 'acme', repo: 'gitops', baseUrl: github.baseUrl, memoryCache: false });
      const state = await resolveDesiredState(source);
      // The scp form has no port: ssh and https serve one repository on different ports.
      expect(images(state)).toEqual(['web ghcr.io/acme/web:1']);
      expect(state.findings.map((f) => `${f.code} ${f.file}`)).toEqual(['REMOTE_RESOURCE apps/operator-2.yaml']);
      expect(state.findings[0]?.message).toContain(`2 apps read another repository, https://${host}/acme/operator (operator, operator-2)`);
    } finally {
      await github.close();
    }
  });

  it('normalises the forms of one GitHub repository to one key', () => {
    const forms = ['https://github.com/Acme/GitOps.git', 'git@github.com:acme/gitops', 'ssh://git@github.com:22/acme/gitops.git/', 'https://x-access-token@www.github.com/acme/gitops'];
    expect(new Set(forms.map(normaliseRepoUrl))).toEqual(new Set(['github.com/acme/gitops']));
    // Other hosts keep the case of the repository name (only host and owner are folded).
    expect(normaliseRepoUrl('https://gitlab.example.com/Group/Project')).toBe('gitlab.example.com/group/Project');
  });
});

/** A source with one tree and no identity of its own (a plain directory's shape). */
function treeOnly(tree: FileTree): RepoSource {
  return {
    description: tree.description,
    load: async () => tree,
  };
}
