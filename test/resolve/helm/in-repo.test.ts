import { describe, expect, it } from 'vitest';
import type { ChartRendering } from '../../../lambdas/engine/resolve/helm-render.js';
import { application, codes, resolveFiles, rows } from '../helpers.js';
import { testHelm, under, webChart } from '../../support/helm-charts.js';

const SELF = 'https://github.com/acme/gitops';

async function rendering(): Promise<ChartRendering> {
  return { helm: await testHelm() };
}

describe('charts kept in the repository, rendered by helm', () => {
  it('renders an Argo CD Application with values files, values and parameters: hard-coded, named-template, appVersion and conditional images', async () => {
    const state = await resolveFiles(
      {
        ...under('charts/web', webChart()),
        'charts/web/values-prod.yaml': 'image:\n  tag: "2.1.0"\n',
        'apps/web.yaml': application(
          'web',
          [
            `repoURL: ${SELF}`,
            'path: charts/web',
            'helm:',
            '  releaseName: shop',
            '  valueFiles: [values-prod.yaml]',
            '  values: |',
            '    metrics:',
            '      enabled: true',
            '  parameters:',
            '    - name: metrics.image',
            '      value: ghcr.io/acme/metrics-exporter:1.0',
          ].join('\n'),
        ),
      },
      { charts: await rendering() },
    );
    expect(rows(state)).toEqual([
      'web | Deployment/web-ns/shop-web | cache | docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000001',
      'web | Deployment/web-ns/shop-web | metrics | ghcr.io/acme/metrics-exporter:1.0',
      'web | Deployment/web-ns/shop-web | web | ghcr.io/acme/web:2.1.0',
      'web | Job/web-ns/shop-migrate | migrate | ghcr.io/acme/web-migrate:2.0.0',
    ]);
    const byContainer = Object.fromEntries(state.images.map((image) => [image.container, image]));
    // hard-coded in the template: the template line
    expect(byContainer.cache?.locations).toEqual([{ file: 'charts/web/templates/deployment.yaml', line: 13 }]);
    expect(byContainer.cache?.chart).toEqual({ name: 'web', version: '1.2.0', source: 'charts/web', template: 'templates/deployment.yaml' });
    // named template: the template file, then the values lines that set the parts (the tag from values-prod.yaml)
    expect(byContainer.web?.locations).toEqual([
      { file: 'charts/web/templates/deployment.yaml', line: 11 },
      { file: 'charts/web/values.yaml', line: 3 },
      { file: 'charts/web/values.yaml', line: 2 },
      { file: 'charts/web/values-prod.yaml', line: 2 },
    ]);
    // the condition set in helm.values, the image by a parameter
    expect(byContainer.metrics?.locations).toEqual([
      { file: 'charts/web/templates/deployment.yaml', line: 16 },
      { file: 'apps/web.yaml', line: 16 },
    ]);
    expect(byContainer.migrate?.locations).toEqual([
      { file: 'charts/web/templates/migrate-job.yaml', line: 11 },
      { file: 'charts/web/Chart.yaml', line: 4 },
    ]);
    expect(codes(state)).toEqual([]);
  });

  it('renders a Flux HelmRelease with the chart defaults: no conditional container, tag from appVersion', async () => {
    const state = await resolveFiles(
      {
        ...under('charts/web', webChart()),
        'clusters/prod/web.yaml': [
          'apiVersion: helm.toolkit.fluxcd.io/v2',
          'kind: HelmRelease',
          'metadata:',
          '  name: web',
          '  namespace: flux-system',
          'spec:',
          '  targetNamespace: shop',
          '  chart:',
          '    spec:',
          '      chart: ./charts/web',
          '      sourceRef:',
          '        kind: GitRepository',
          '        name: flux-system',
          '',
        ].join('\n'),
      },
      { charts: await rendering() },
    );
    expect(rows(state)).toEqual([
      'web | Deployment/shop/shop-web-web | cache | docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000001',
      'web | Deployment/shop/shop-web-web | web | ghcr.io/acme/web:2.0.0',
      'web | Job/shop/shop-web-migrate | migrate | ghcr.io/acme/web-migrate:2.0.0',
    ]);
    expect(codes(state)).toEqual([]);
  });

  it('reports a chart helm fails on with Helm\'s message, and keeps the images read from values', async () => {
    const chart = webChart();
    chart['templates/broken.yaml'] = '{{ .Values.nope.deeper }}\n';
    const state = await resolveFiles(
      { ...under('charts/web', chart), 'apps/web.yaml': application('web', `repoURL: ${SELF}\npath: charts/web`) },
      { charts: await rendering() },
    );
    expect(rows(state)).toEqual(['web | HelmValues/web-ns/image | web | ghcr.io/acme/web:2.0.0', 'web | HelmValues/web-ns/metrics.image | metrics | ghcr.io/acme/metrics-exporter:0.9']);
    expect(state.findings).toEqual([
      expect.objectContaining({ code: 'HELM_NOT_RENDERED', severity: 'error', file: 'charts/web/Chart.yaml', message: expect.stringContaining('nil pointer evaluating interface {}.deeper') }),
    ]);
  });

  it('without helm: values reading and one finding naming every chart that was not rendered', async () => {
    const state = await resolveFiles(
      {
        ...under('charts/web', webChart()),
        ...under('charts/api', webChart('api')),
        'apps/web.yaml': application('web', `repoURL: ${SELF}\npath: charts/web`),
        'apps/api.yaml': application('api', `repoURL: ${SELF}\npath: charts/api`),
      },
      { charts: { helm: { found: false, reason: 'helm is not on PATH' } } },
    );
    expect(rows(state)).toContain('web | HelmValues/web-ns/image | web | ghcr.io/acme/web:2.0.0');
    expect(state.findings).toEqual([
      expect.objectContaining({
        code: 'HELM_NOT_RENDERED',
        severity: 'warning',
        message: 'helm is not available (helm is not on PATH), so 2 charts were read from values only and not rendered: charts/api, charts/web',
      }),
    ]);
  });
});
