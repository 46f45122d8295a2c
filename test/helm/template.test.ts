import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickVersion } from '../../lambdas/engine/helm/fetch.js';
import { helmEnvironment, helmMessage, helmTemplateArgs, runHelmTemplate } from '../../lambdas/engine/helm/template.js';
import { testHelm, webChart } from '../support/helm-charts.js';
import { packageChart } from '../support/helm-repository.js';

const work = mkdtempSync(join(tmpdir(), 'image-drift-helm-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('helm template, run safely', () => {
  it('gives helm none of our environment: no token, proxy or kubeconfig, HOME in its own directory', () => {
    const env = helmEnvironment(join(work, 'env'));
    expect(Object.keys(env).sort()).toEqual(['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'HELM_PLUGINS', 'HELM_REGISTRY_CONFIG', 'HELM_REPOSITORY_CONFIG', 'HOME', 'KUBECONFIG', 'PATH']);
    for (const [key, value] of Object.entries(env)) if (key !== 'PATH') expect(value.startsWith(join(work, 'env'))).toBe(true);
  });

  it('passes the Kubernetes version, namespace and values files on the command line, and nothing else', () => {
    expect(helmTemplateArgs({ helm: 'helm', chart: '/c', releaseName: 'r', namespace: 'ns', valuesFiles: ['/v1.json', '/v2.json'], workDir: work })).toEqual([
      'template', 'r', '/c', '--kube-version', '1.35.0', '--namespace', 'ns', '--values', '/v1.json', '--values', '/v2.json',
    ]);
  });

  it('stops helm at the output cap and reports why', async () => {
    const helm = await testHelm();
    const tgz = await packageChart(helm.path, webChart(), join(work, 'pkg'));
    const done = await runHelmTemplate({ helm: helm.path, chart: tgz, releaseName: 'r', valuesFiles: [], workDir: join(work, 'cap'), maxOutputBytes: 100 });
    expect(done).toEqual({ ok: false, message: 'helm template wrote more than 100 bytes' });
    const full = await runHelmTemplate({ helm: helm.path, chart: tgz, releaseName: 'r', valuesFiles: [], workDir: join(work, 'full') });
    expect(full.ok && full.manifest).toContain('# Source: web/templates/deployment.yaml');
  });

  it("keeps Helm's multi-line error as one line without the --debug advice", () => {
    expect(helmMessage('Error: c/templates/x.yaml:1:10\n  executing "x" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b\n\nUse --debug flag to render out invalid YAML\n')).toBe(
      'c/templates/x.yaml:1:10 executing "x" at <.Values.a.b>: nil pointer evaluating interface {}.b',
    );
  });
});

describe('chart versions', () => {
  it('takes an exact version as written, the newest release for a range or nothing, prereleases only when asked', () => {
    const versions = ['1.2.0', '1.2.3', '1.3.0', '2.0.0-rc.1', 'not-semver'];
    expect(pickVersion(versions, '1.2.0')).toBe('1.2.0');
    expect(pickVersion(versions, '~1.2.0')).toBe('1.2.3');
    expect(pickVersion(versions, '')).toBe('1.3.0');
    expect(pickVersion(versions, undefined)).toBe('1.3.0');
    expect(pickVersion(versions, '>=2.0.0-0')).toBe('2.0.0-rc.1');
    expect(pickVersion(versions, '9.x')).toBeUndefined();
  });
});
