import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { FileTree, Finding } from '../../lambdas/engine/model.js';
import { expandApplicationSet, type ApplicationSetContext } from '../../lambdas/engine/resolve/argocd/applicationset.js';
import { renderFast, renderGo } from '../../lambdas/engine/resolve/argocd/template.js';
import { normaliseRepoUrl, repoIdentity } from '../../lambdas/engine/resolve/argocd/repo-url.js';
import { emitterFor } from '../../lambdas/engine/resolve/context.js';
import { filesTree } from '../support/resolve-tree.js';
import { resolveFiles } from './helpers.js';
import { applicationSetYaml } from '../support/hostile-trees.js';

function context(tree: FileTree, findings: Finding[] = []): ApplicationSetContext {
  const locate = (path: readonly (string | number)[]) => path.length;
  return {
    file: 'apps/set.yaml',
    locate,
    emit: emitterFor('apps/set.yaml', locate, findings),
    treeFor: async () => tree,
    readData: (t, path) => parseAllDocuments(t.read(path)?.toString() ?? '').map((doc) => doc.toJS() as unknown),
  };
}

const sources = (app: { value: Record<string, unknown> }) => (app.value.spec as { source: Record<string, unknown> }).source;

describe('ApplicationSet templating', () => {
  it('fasttemplate replaces known keys, trims spaces inside braces and leaves unknown keys as written', () => {
    expect(renderFast('svc/{{ env }}/{{path[0]}}/{{nope}}', { env: 'dev', 'path[0]': 'apps' })).toBe('svc/dev/apps/{{nope}}');
  });

  it('Go templates read nested fields, index segments and run pipelines', () => {
    const params = { path: { path: 'a/b', basename: 'b', segments: ['a', 'b'] }, env: 'Prod' };
    expect(renderGo('{{.path.path}}-{{ .path.basename }}', params)).toBe('a/b-b');
    expect(renderGo('{{ index .path.segments 0 }}', params)).toBe('a');
    expect(renderGo('{{ .env | lower }}/{{ .missing | default "x" }}', params)).toBe('prod/x');
    expect(renderGo('{{ printf "%s-%s" .env .path.basename }}', params)).toBe('Prod-b');
  });

  it('Go templates leave a missing key or an unsupported action as written', () => {
    expect(renderGo('x-{{.nope}}', {})).toBe('x-{{.nope}}');
    expect(renderGo('{{ if .a }}y{{ end }}', { a: true })).toBe('{{ if .a }}y{{ end }}');
  });
});

describe('ApplicationSet generators', () => {
  const tree = filesTree({
    'services/auth/kustomization.yaml': '',
    'services/billing/kustomization.yaml': '',
    'services/legacy/kustomization.yaml': '',
    'services/auth/overlays/dev/kustomization.yaml': '',
    'config/dev/config.json': '{"env": "dev", "cluster": {"name": "c1"}}',
    'config/prod/config.yaml': 'env: prod\ncluster:\n  name: c2\n',
  });

  it('list generator yields one Application per element, named after templating', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [{ list: { elements: [{ env: 'dev' }, { env: 'prod' }] } }],
          template: { metadata: { name: 'auth-{{env}}' }, spec: { source: { path: 'services/auth/overlays/{{env}}' } } },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => app.name)).toEqual(['auth-dev', 'auth-prod']);
    expect(sources(apps[1]!).path).toBe('services/auth/overlays/prod');
  });

  it('git directory generator matches path globs one segment deep and honours exclude', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [{ git: { repoURL: 'x', directories: [{ path: 'services/*' }, { path: 'services/legacy', exclude: true }] } }],
          template: { metadata: { name: '{{path.basename}}' }, spec: { source: { path: '{{path}}', targetRevision: '{{path[0]}}' } } },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => app.name)).toEqual(['auth', 'billing']);
    expect(sources(apps[0]!)).toMatchObject({ path: 'services/auth', targetRevision: 'services' });
  });

  it('git directory generator with goTemplate exposes .path.path, .path.basename and .path.segments', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          goTemplate: true,
          generators: [{ git: { repoURL: 'x', directories: [{ path: 'services/**/dev' }] } }],
          template: {
            metadata: { name: '{{.path.basename}}-{{index .path.segments 1}}' },
            spec: { source: { path: '{{.path.path}}' } },
          },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => [app.name, sources(app).path])).toEqual([['dev-auth', 'services/auth/overlays/dev']]);
  });

  it('git files generator flattens file content into parameters', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [{ git: { repoURL: 'x', files: [{ path: 'config/**/config.*' }] } }],
          template: { metadata: { name: '{{cluster.name}}-{{env}}' }, spec: { source: { path: '{{path}}' } } },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => [app.name, sources(app).path])).toEqual([
      ['c1-dev', 'config/dev'],
      ['c2-prod', 'config/prod'],
    ]);
  });

  it('matrix generator crosses two generators and lets the second use the first one\'s parameters', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          goTemplate: true,
          generators: [
            {
              matrix: {
                generators: [
                  { list: { elements: [{ svc: 'auth' }, { svc: 'billing' }] } },
                  { list: { elements: [{ env: 'dev', path: '{{.svc}}/x' }] } },
                ],
              },
            },
          ],
          template: { metadata: { name: '{{.svc}}-{{.env}}' }, spec: { source: { path: '{{.path}}' } } },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => [app.name, sources(app).path])).toEqual([
      ['auth-dev', 'auth/x'],
      ['billing-dev', 'billing/x'],
    ]);
  });

  it('merge generator overrides base parameters whose merge keys match', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [
            {
              merge: {
                mergeKeys: ['env'],
                generators: [
                  { list: { elements: [{ env: 'dev', tag: 'a' }, { env: 'prod', tag: 'a' }] } },
                  { list: { elements: [{ env: 'prod', tag: 'b' }] } },
                ],
              },
            },
          ],
          template: { metadata: { name: '{{env}}-{{tag}}' }, spec: { source: { path: '.' } } },
        },
      },
      context(tree),
    );
    expect(apps.map((app) => app.name)).toEqual(['dev-a', 'prod-b']);
  });

  it('reports UNSUPPORTED_GENERATOR for generators that need a cluster or SCM API, and generates nothing from them', async () => {
    const findings: Finding[] = [];
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [
            { clusters: {} },
            { matrix: { generators: [{ pullRequest: {} }, { list: { elements: [{ a: 'b' }] } }] } },
            { list: { elements: [{ env: 'dev' }] } },
          ],
          template: { metadata: { name: 'x-{{env}}' }, spec: { source: { path: '.' } } },
        },
      },
      context(tree, findings),
    );
    expect(apps.map((app) => app.name)).toEqual(['x-dev']);
    expect(findings.map((finding) => [finding.code, finding.message.split(' ')[0]])).toEqual([
      ['UNSUPPORTED_GENERATOR', 'clusters'],
      ['UNSUPPORTED_GENERATOR', 'pullRequest'],
    ]);
  });

  it('skips a generated Application whose name still holds a template and reports UNRESOLVED_TEMPLATE', async () => {
    const findings: Finding[] = [];
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [{ list: { elements: [{ env: 'dev', cluster: 'c1' }, { env: 'prod' }] } }],
          template: { metadata: { name: '{{cluster}}-{{env}}' }, spec: { source: { path: '.' } } },
        },
      },
      context(tree, findings),
    );
    expect(apps.map((app) => app.name)).toEqual(['c1-dev']);
    expect(findings.map((finding) => finding.code)).toEqual(['UNRESOLVED_TEMPLATE']);
  });

  it('applies templatePatch with each parameter set, and says so when it holds actions it cannot evaluate', async () => {
    const findings: Finding[] = [];
    const apps = await expandApplicationSet(
      {
        spec: {
          goTemplate: true,
          generators: [{ list: { elements: [{ env: 'dev', tag: 'a1' }] } }],
          template: { metadata: { name: 'x-{{.env}}' }, spec: { source: { path: 'base' } } },
          templatePatch: 'spec:\n  source:\n    kustomize:\n      images: ["ghcr.io/acme/x:{{ .tag }}"]\n',
        },
      },
      context(tree, findings),
    );
    expect(sources(apps[0]!)).toEqual({ path: 'base', kustomize: { images: ['ghcr.io/acme/x:a1'] } });
    expect(findings).toEqual([]);
    const skipped = await expandApplicationSet(
      {
        spec: {
          goTemplate: true,
          generators: [{ list: { elements: [{ env: 'dev' }] } }],
          template: { metadata: { name: 'x-{{.env}}' }, spec: { source: { path: 'base' } } },
          templatePatch: '{{- if .auto }}\nspec: {}\n{{- end }}\n',
        },
      },
      context(tree, findings),
    );
    expect(skipped.map((app) => app.name)).toEqual(['x-dev']);
    expect(findings.map((finding) => [finding.code, finding.severity])).toEqual([['UNSUPPORTED_GENERATOR', 'info']]);
  });

  it('a generator-level template overrides the ApplicationSet template', async () => {
    const apps = await expandApplicationSet(
      {
        spec: {
          generators: [{ list: { elements: [{ env: 'dev' }], template: { metadata: {}, spec: { source: { path: 'other/{{env}}' } } } } }],
          template: { metadata: { name: 'x-{{env}}' }, spec: { source: { path: 'base/{{env}}', repoURL: 'r' } } },
        },
      },
      context(tree),
    );
    expect(sources(apps[0]!)).toEqual({ path: 'other/dev', repoURL: 'r' });
  });
});

describe('repository URL identity', () => {
  it('normalises scheme, scp form, .git suffix and the case of host and owner', () => {
    const forms = [
      'https://github.com/Acme-Corp/gitops.git',
      'git@github.com:acme-corp/gitops.git',
      'ssh://git@GitHub.com/acme-corp/gitops',
      'https://token@github.com/ACME-CORP/gitops/',
    ];
    expect(new Set(forms.map(normaliseRepoUrl))).toEqual(new Set(['github.com/acme-corp/gitops']));
  });

  it('treats relative URLs as self, other repositories as remote when the audited URLs are known', () => {
    const identity = repoIdentity(['https://github.com/acme-corp/gitops']);
    expect(identity.isSelf('git@github.com:Acme-Corp/gitops.git')).toBe(true);
    expect(identity.isSelf('https://github.com/acme-corp/other')).toBe(false);
    expect(identity.isSelf(undefined)).toBe(true);
    expect(repoIdentity(undefined).isSelf('https://github.com/acme-corp/other')).toBe(true);
  });
});

describe('ApplicationSet caps', () => {
  it('stops a 100×100×100 matrix at the cap with a finding that names it, generating nothing', async () => {
    const list = (name: string) => ({ list: { elements: Array.from({ length: 100 }, (_, i) => ({ [name]: `${name}${i}` })) } });
    const set = {
      spec: {
        generators: [{ matrix: { generators: [list('a'), { matrix: { generators: [list('b'), list('c')] } }] } }],
        template: { metadata: { name: '{{a}}-{{b}}-{{c}}' }, spec: { source: { repoURL: 'https://github.com/acme/gitops', path: 'apps/{{a}}' }, destination: {} } },
      },
    };
    const findings: Finding[] = [];
    const apps = await expandApplicationSet(set, context(filesTree({}), findings));
    expect(apps).toEqual([]);
    const cap = findings.find((finding) => finding.code === 'LIMIT_EXCEEDED');
    expect(cap?.message).toContain('MAX_GENERATED_APPS_PER_APPLICATIONSET');
    expect(cap?.severity).toBe('error');
  });

  const listOf = (count: number, key = 'n') => ({ list: { elements: Array.from({ length: count }, (_, i) => ({ [key]: `${key}${i}` })) } });
  const appSet = (generators: unknown[], name = '{{n}}') => ({
    spec: { generators, template: { metadata: { name }, spec: { source: { repoURL: 'https://github.com/acme/gitops', path: 'apps/{{n}}' }, destination: {} } } },
  });
  const capFinding = (findings: Finding[]) => findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED');

  it('stops a list generator with one element over the cap (1,000) and generates nothing', async () => {
    const findings: Finding[] = [];
    expect(await expandApplicationSet(appSet([listOf(1_001)]), context(filesTree({}), findings))).toEqual([]);
    const [cap] = capFinding(findings);
    expect(cap?.message).toContain('list generator yields more than the cap of 1000 Applications per ApplicationSet (MAX_GENERATED_APPS_PER_APPLICATIONSET)');
    expect(cap?.file).toBe('apps/set.yaml');
    const atCap: Finding[] = [];
    expect(await expandApplicationSet(appSet([listOf(1_000)]), context(filesTree({}), atCap))).toHaveLength(1_000);
    expect(capFinding(atCap)).toEqual([]);
  });

  it('caps a git directories generator and a merge generator like a list', async () => {
    const tree = filesTree(Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`apps/s${i}/deploy.yaml`, 'kind: ConfigMap\n'])));
    const git = { git: { repoURL: 'https://github.com/acme/gitops', revision: 'HEAD', directories: [{ path: 'apps/*' }] } };
    const gitFindings: Finding[] = [];
    expect(await expandApplicationSet(appSet([git], '{{path.basename}}'), { ...context(tree, gitFindings), maxParamSets: 3 })).toEqual([]);
    expect(capFinding(gitFindings)[0]?.message).toContain('git generator yields more than the cap of 3');
    const merge = { merge: { mergeKeys: ['n'], generators: [listOf(3), listOf(3)] } };
    const mergeFindings: Finding[] = [];
    expect(await expandApplicationSet(appSet([merge]), { ...context(tree, mergeFindings), maxParamSets: 2 })).toEqual([]);
    // The inner lists are over the cap already: the first one stops the merge.
    expect(capFinding(mergeFindings)[0]?.message).toContain('list generator yields more than the cap of 2');
  });

  it('caps the sum of an ApplicationSet\'s generators, each under the cap', async () => {
    const findings: Finding[] = [];
    const apps = await expandApplicationSet(appSet([listOf(600, 'n'), listOf(600, 'n')]), context(filesTree({}), findings));
    expect(apps).toEqual([]);
    expect(capFinding(findings)[0]?.message).toContain("the ApplicationSet's generators together yields more than the cap of 1000");
  });

  it('merges 1,000 × 1,000 parameter sets by key, each base set once', async () => {
    const left = { list: { elements: Array.from({ length: 1_000 }, (_, i) => ({ n: `n${i}`, env: 'base' })) } };
    const right = { list: { elements: Array.from({ length: 1_000 }, (_, i) => ({ n: `n${i}`, env: `e${i}` })) } };
    const set = { spec: { generators: [{ merge: { mergeKeys: ['n'], generators: [left, right] } }], template: { metadata: { name: '{{n}}-{{env}}' }, spec: { source: { repoURL: 'x', path: 'p' } } } } };
    const apps = await expandApplicationSet(set, context(filesTree({})));
    expect(apps).toHaveLength(1_000);
    expect(apps[999]?.name).toBe('n999-e999');
  });

  it('stops the ApplicationSet that takes a run past 10,000 generated Applications (MAX_GENERATED_APPS_PER_RUN)', async () => {
    const files: Record<string, string> = {};
    const elements = Array.from({ length: 1_000 }, (_, i) => `          - n: n${i}`).join('\n');
    for (let s = 0; s < 11; s++) {
      files[`sets/set${String(s).padStart(2, '0')}.yaml`] = applicationSetYaml(`set${s}`, `    - list:\n        elements:\n${elements}\n`, {
        name: `s${s}-{{n}}`,
        repoURL: 'https://github.com/acme/elsewhere',
        path: 'apps/{{n}}',
      });
    }
    const state = await resolveFiles(files, { repoUrls: ['https://github.com/acme/gitops'] });
    const caps = state.findings.filter((finding) => finding.code === 'LIMIT_EXCEEDED');
    expect(caps).toHaveLength(1);
    expect(caps[0]?.message).toContain('MAX_GENERATED_APPS_PER_RUN');
    expect(caps[0]?.file).toBe('sets/set10.yaml');
    // The first ten were generated and followed: each reads another repository, one finding lists them all.
    const remote = state.findings.filter((finding) => finding.code === 'REMOTE_RESOURCE');
    expect(remote).toHaveLength(1);
    expect(remote[0]?.message).toContain('10000 apps read another repository, https://github.com/acme/elsewhere (s0-n0, s0-n1, ');
  }, 120_000);
});
