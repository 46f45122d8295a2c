/**
 * Which part of the desired state a run could not read (completeness.ts): the apps whose render met a file that
 * could not be parsed or found, or whose revision could not be read, and the apps that resolved in full.
 */
import { describe, expect, it } from 'vitest';
import { application, deployment, kustomization, resolveFiles } from './helpers.js';

const REPO = 'repoURL: https://github.com/acme/gitops.git';
const base = {
  'base/kustomization.yaml': kustomization('resources:\n  - web.yaml\n'),
  'base/web.yaml': deployment('web', 'ghcr.io/acme/web:1.0'),
  'overlays/prod/kustomization.yaml': kustomization('resources:\n  - ../../base\n'),
  'apps/prod.yaml': application('prod', `${REPO}\npath: overlays/prod`),
};

describe('the unknown scope of a desired state', () => {
  it('is absent when everything was read', async () => {
    const state = await resolveFiles(base);
    expect(state.unknown).toBeUndefined();
  });

  it('names the app whose overlay holds a merge-conflict marker, with the finding, and keeps the others resolved', async () => {
    const state = await resolveFiles({
      ...base,
      'apps/dev.yaml': application('dev', `${REPO}\npath: overlays/dev`),
      'overlays/dev/kustomization.yaml': kustomization('resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n<<<<<<< HEAD\n    newTag: "2.1"\n=======\n    newTag: "2.2"\n>>>>>>> bump\n'),
    });
    expect(state.unknown).toEqual({
      apps: [{ name: 'dev', cause: 'YAML_ERROR at overlays/dev/kustomization.yaml:7' }],
      files: [{ file: 'overlays/dev/kustomization.yaml' }],
      resolvedApps: ['prod'],
    });
  });

  it('a base that looks unreferenced only because the overlay including it cannot be read is unknown too', async () => {
    const state = await resolveFiles({
      'base/kustomization.yaml': kustomization('resources:\n  - web.yaml\n'),
      'base/web.yaml': deployment('web', 'ghcr.io/acme/web:placeholder'),
      'apps/dev.yaml': application('dev', `${REPO}\npath: overlays/dev`),
      'overlays/dev/kustomization.yaml': '<<<<<<< HEAD\nresources:\n  - ../../base\n=======\nresources:\n  - ../../base2\n>>>>>>> x\n',
    });
    expect(state.images.map((image) => `${image.app.name} ${image.image}`)).toEqual(['base ghcr.io/acme/web:placeholder']);
    expect(state.unknown?.apps).toEqual([
      { name: 'base', cause: 'YAML_ERROR at overlays/dev/kustomization.yaml:1' },
      { name: 'dev', cause: 'YAML_ERROR at overlays/dev/kustomization.yaml:1' },
    ]);
  });

  it('makes every app unknown that reads a broken shared base, and an app whose path is missing drops out of the resolved ones', async () => {
    const state = await resolveFiles({
      ...base,
      'base/web.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: [unclosed\n',
      'apps/gone.yaml': application('gone', `${REPO}\npath: overlays/gone`),
    });
    expect(state.unknown?.apps.map((app) => app.name)).toEqual(['prod']);
    expect(state.unknown?.files.map((entry) => entry.file)).toEqual(['apps/gone.yaml', 'base/web.yaml']);
    expect(state.unknown?.resolvedApps).toEqual([]);
  });

  it('treats a revision that cannot be read in strict mode as unknown: the app is not among the resolved ones', async () => {
    const state = await resolveFiles(
      { ...base, 'apps/feature.yaml': application('feature', `${REPO}\npath: overlays/prod\ntargetRevision: feature/x`) },
      { revisions: 'strict' },
    );
    expect(state.findings.map((finding) => finding.code)).toContain('REVISION_UNAVAILABLE');
    expect(state.unknown?.files.map((entry) => entry.file)).toEqual(['apps/feature.yaml']);
    expect(state.unknown?.resolvedApps).toEqual(['prod']);
  });
});
