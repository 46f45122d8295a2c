/**
 * A desired state that could not be read in full is never a clean run, and history never mistakes it for
 * "no longer desired" (issue 9, completeness). The CLI runs in process against the real docker-registry.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('acme/web', '2.0');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
});

describe('kustomizations that include each other', () => {
  const cli = useCli();

  it('report KUSTOMIZE_CYCLE and exit 3 instead of "0 images" and exit 0; the other apps are still audited', async () => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, {
      'a/kustomization.yaml': 'resources:\n  - dep.yaml\n  - ../b\n',
      'a/dep.yaml': deployment('a', ['ghcr.io/acme/a:1']),
      'b/kustomization.yaml': 'components:\n  - ../c\n',
      'c/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ../a\n',
      'web/kustomization.yaml': 'resources:\n  - dep.yaml\n',
      'web/dep.yaml': deployment('web', ['ghcr.io/acme/web:2.0']),
    });
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--json']);
    const report = JSON.parse(run.stdout) as { findings: Array<{ code: string; file: string; line: number }>; results: Array<{ image: string; status: string }> };
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'KUSTOMIZE_CYCLE', file: 'c/kustomization.yaml', line: 4 }));
    expect(report.results.map((result) => [result.image, result.status])).toEqual([['ghcr.io/acme/web:2.0', 'OK']]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('KUSTOMIZE_CYCLE 1');
  });
});

const application = (name: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: argocd
spec:
  source:
    repoURL: https://github.com/acme/gitops.git
    path: overlays/${name}
  destination:
    namespace: ${name}
`;

const devOverlay = 'resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: "2.1"\n';
const conflicted = `resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n<<<<<<< HEAD\n    newTag: "2.1"\n=======\n    newTag: "2.2"\n>>>>>>> feature/bump\n`;

describe('an app whose files cannot be read is unknown, never "no longer desired"', () => {
  const cli = useCli();

  it('a merge-conflict marker in an overlay: exit 3 naming the app, the drift held (no event, no alert), and the same drift once fixed', async () => {
    const root = join(cli.dir, 'gitops');
    const state = join(cli.dir, 'state');
    writeTree(root, {
      'apps/dev.yaml': application('dev'),
      'apps/prod.yaml': application('prod'),
      'base/kustomization.yaml': 'resources:\n  - web.yaml\n',
      'base/web.yaml': deployment('web', ['ghcr.io/acme/web:2.0']),
      'overlays/dev/kustomization.yaml': devOverlay,
      'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\n',
    });
    const audit = (run: string) => {
      const preview = join(cli.dir, `alerts-${run}.json`);
      return cli
        .run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--state-dir', state, '--json', '--alerts-preview', preview])
        .then((result) => ({ ...result, alerts: JSON.parse(readFileSync(preview, 'utf8')) as Array<{ subject: string; message: string }> }));
    };
    const events = async () => {
      const history = await cli.run(['history', '--state-dir', state, '--image', 'ghcr.io/acme/web:2.1', '--json']);
      return (JSON.parse(history.stdout) as { events: Array<{ kind: string; to?: string }> }).events.map((event) => `${event.kind} ${event.to ?? ''}`.trim());
    };

    // Run 1: dev asks for a tag CI never pushed: a drift opens and is announced.
    const first = await audit('1');
    expect(first.code).toBe(1);
    expect(first.alerts).toHaveLength(1);
    expect(first.alerts[0]?.message).toContain('ghcr.io/acme/web:2.1');

    // Run 2: a merge-conflict marker in the dev overlay.
    writeTree(root, { 'overlays/dev/kustomization.yaml': conflicted });
    const second = await audit('2');
    const report = JSON.parse(second.stdout) as {
      findings: Array<{ code: string; file: string; line: number; message: string }>;
      unknown?: { apps: Array<{ name: string; cause: string }> };
      notes?: string[];
    };
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'YAML_ERROR', file: 'overlays/dev/kustomization.yaml', line: 5, message: expect.stringContaining('unresolved merge conflict') }),
    );
    expect(report.unknown?.apps).toEqual([{ name: 'dev', cause: 'YAML_ERROR at overlays/dev/kustomization.yaml:5' }]);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('1 app is unknown (dev: YAML_ERROR at overlays/dev/kustomization.yaml:5)');
    expect(report.notes?.join('\n')).toContain('held as it was');
    expect(second.alerts).toEqual([]);
    expect(await events()).toEqual(['TRACKED NEVER_PUSHED']);

    // Run 3: fixed. Still the same drift: no new event, no second "new" alert.
    writeTree(root, { 'overlays/dev/kustomization.yaml': devOverlay });
    const third = await audit('3');
    expect(third.code).toBe(1);
    expect(third.alerts).toEqual([]);
    expect(await events()).toEqual(['TRACKED NEVER_PUSHED']);
  });

  it('an app pointing at a path that is not there: exit 3, its drift held', async () => {
    const root = join(cli.dir, 'gitops');
    const state = join(cli.dir, 'state');
    writeTree(root, {
      'apps/dev.yaml': application('dev'),
      'base/kustomization.yaml': 'resources:\n  - web.yaml\n',
      'base/web.yaml': deployment('web', ['ghcr.io/acme/web:2.0']),
      'overlays/dev/kustomization.yaml': devOverlay,
    });
    const args = ['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--state-dir', state, '--json'];
    expect((await cli.run(args)).code).toBe(1);
    // The overlay is gone and the app points at a path that is not there: Argo CD cannot render it and keeps what it last synced.
    rmSync(join(root, 'overlays/dev'), { recursive: true });
    writeTree(root, { 'apps/dev.yaml': application('dev').replace('path: overlays/dev', 'path: overlays/dev-renamed') });
    const second = await cli.run(args);
    expect(second.code).toBe(3);
    expect(JSON.parse(second.stdout).findings).toContainEqual(expect.objectContaining({ code: 'MISSING_FILE', file: 'apps/dev.yaml', severity: 'error' }));
    const open = await cli.run(['open', '--state-dir', state, '--json']);
    expect((JSON.parse(open.stdout) as { drifts: Array<{ image: string; status: string }> }).drifts).toEqual([
      expect.objectContaining({ image: 'ghcr.io/acme/web:2.1', status: 'NEVER_PUSHED' }),
    ]);
  });
});
