import { describe, expect, it } from 'vitest';
import { application, codes, resolveFiles, rows } from '../helpers.js';
import { testHelm, under, webChart } from '../../support/helm-charts.js';

const SELF = 'https://github.com/acme/gitops';

/** An argocd-apps-style chart: its values declare ApplicationSets, its template writes them out. */
const appsChart = {
  'Chart.yaml': 'apiVersion: v2\nname: argocd-apps\nversion: 2.0.0\n',
  'values.yaml': 'applicationsets: {}\n',
  'templates/applicationsets.yaml': [
    '{{- range $name, $set := .Values.applicationsets }}',
    '---',
    'apiVersion: argoproj.io/v1alpha1',
    'kind: ApplicationSet',
    'metadata:',
    '  name: {{ $name }}',
    'spec:',
    '  {{- toYaml $set | nindent 2 }}',
    '{{- end }}',
    '',
  ].join('\n'),
};

const platformValues = [
  'applicationsets:',
  '  wrappers:',
  '    generators:',
  '      - git:',
  `          repoURL: ${SELF}`,
  '          revision: HEAD',
  '          directories:',
  '            - path: wrappers/*',
  '    template:',
  '      metadata:',
  "        name: '{{path.basename}}'",
  '      spec:',
  '        project: default',
  '        source:',
  `          repoURL: ${SELF}`,
  '          targetRevision: HEAD',
  "          path: '{{path}}'",
  '        destination:',
  "          namespace: '{{path.basename}}'",
  '',
].join('\n');

describe('apps that a rendered chart declares', () => {
  it('follows the ApplicationSets of an argocd-apps-style chart to every wrapper chart and its images, none UNREFERENCED', async () => {
    const state = await resolveFiles(
      {
        ...under('platform/argocd-apps', appsChart),
        'platform/values.yaml': platformValues,
        'apps/platform.yaml': application('platform', `repoURL: ${SELF}\npath: platform/argocd-apps\nhelm:\n  valueFiles: [../values.yaml]`),
        ...under('wrappers/shop', webChart('shop', '0.1.0', '5.0.0')),
        ...under('wrappers/blog', webChart('blog', '0.1.0', '7.1.0')),
      },
      { charts: { helm: await testHelm() } },
    );
    expect(rows(state).filter((row) => row.includes('| web |'))).toEqual([
      'blog | Deployment/blog/blog-web | web | ghcr.io/acme/web:7.1.0',
      'shop | Deployment/shop/shop-web | web | ghcr.io/acme/web:5.0.0',
    ]);
    expect(state.images.filter((image) => image.app.unreferenced)).toEqual([]);
    expect(codes(state).filter((code) => code.startsWith('UNREFERENCED'))).toEqual([]);
    expect(codes(state)).toEqual([]);
  });

  it('without helm the wrappers stay UNREFERENCED, and the one finding says the charts were not rendered', async () => {
    const state = await resolveFiles(
      {
        ...under('platform/argocd-apps', appsChart),
        'platform/values.yaml': platformValues,
        'apps/platform.yaml': application('platform', `repoURL: ${SELF}\npath: platform/argocd-apps\nhelm:\n  valueFiles: [../values.yaml]`),
        ...under('wrappers/shop', webChart('shop', '0.1.0', '5.0.0')),
      },
      { charts: { helm: { found: false, reason: 'helm is not on PATH' } } },
    );
    expect(codes(state).filter((code) => code.startsWith('UNREFERENCED wrappers/shop'))).toHaveLength(1);
    expect(state.findings.filter((f) => f.code === 'HELM_NOT_RENDERED')).toHaveLength(1);
  });
});
