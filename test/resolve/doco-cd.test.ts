import { describe, expect, it } from 'vitest';
import { codes, resolveFiles, rows } from './helpers.js';

const compose = (service: string, image: string, extra = '') => `services:\n  ${service}:\n    image: ${image}\n${extra}`;

describe('doco-cd stacks are deployed units; other compose files are unreferenced', () => {
  it('a config with working_dir and the default compose files deploys the stack under its name, with file:line provenance', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'name: web\nworking_dir: stacks/web\n',
      'stacks/web/docker-compose.yml': compose('web', 'ghcr.io/acme/web:1.2'),
      'stacks/web/docker-compose.override.yml': compose('web', 'ghcr.io/acme/web:dev'),
      'test/docker-compose.test.yml': compose('db', 'postgres:16'),
    });
    expect(rows(state)).toEqual([
      'test/docker-compose.test.yml | ComposeService/-/db | db | docker.io/library/postgres:16',
      'stacks/web/docker-compose.override.yml | ComposeService/-/web | web | ghcr.io/acme/web:dev',
      'web | ComposeService/-/web | web | ghcr.io/acme/web:1.2',
    ].sort());
    const web = state.images.find((image) => image.app.name === 'web');
    expect(web?.app).toEqual({ name: 'web', kind: 'doco-cd', path: 'stacks/web', definedAt: { file: '.doco-cd.yaml', line: 1 } });
    expect(web?.locations).toEqual([{ file: 'stacks/web/docker-compose.yml', line: 3 }]);
    // doco-cd passes its file list explicitly: compose's automatic override file is not part of the stack.
    const override = state.images.find((image) => image.app.name === 'stacks/web/docker-compose.override.yml');
    expect(override?.app).toEqual({ name: 'stacks/web/docker-compose.override.yml', kind: 'compose', path: 'stacks/web/docker-compose.override.yml', unreferenced: true });
    expect(codes(state)).toEqual(['UNREFERENCED stacks/web/docker-compose.override.yml:0', 'UNREFERENCED test/docker-compose.test.yml:0']);
    expect(state.findings.every((finding) => finding.severity === 'info')).toBe(true);
  });

  it('compose_files are read in order and merged: a later file\'s image wins, both lines are provenance', async () => {
    const state = await resolveFiles({
      '.doco-cd.yml': 'name: api\nworking_dir: deploy\ncompose_files:\n  - base.yaml\n  - prod.yaml\nenvironment:\n  TAG: "2.0"\n',
      'deploy/base.yaml': compose('api', 'ghcr.io/acme/api:${TAG:-1.0}') + '  cache:\n    image: redis:7.2\n',
      'deploy/prod.yaml': compose('api', 'ghcr.io/acme/api-prod:${TAG}'),
    });
    expect(rows(state)).toEqual(['api | ComposeService/-/api | api | ghcr.io/acme/api-prod:2.0', 'api | ComposeService/-/cache | cache | docker.io/library/redis:7.2']);
    expect(state.images[0]?.locations).toEqual([
      { file: 'deploy/base.yaml', line: 3 },
      { file: 'deploy/prod.yaml', line: 3 },
    ]);
    expect(codes(state)).toEqual([]);
  });

  it('a listed compose file that is missing is an error and the stack deploys nothing', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'name: api\ncompose_files:\n  - docker-compose.yml\n  - docker-compose.prod.yml\n',
      'docker-compose.yml': compose('api', 'ghcr.io/acme/api:1'),
    });
    expect(rows(state)).toEqual([]);
    expect(state.findings.map((f) => `${f.severity} ${f.code} ${f.file}:${f.line}`)).toEqual(['error MISSING_FILE .doco-cd.yaml:4']);
  });

  it('auto_discovery makes one stack per directory below working_dir, named after it, honouring depth and per-directory overrides', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'working_dir: apps/\nauto_discovery:\n  enabled: true\n  depth: 1\n',
      'apps/wordpress/docker-compose.yml': compose('wp', 'wordpress:6.5'),
      'apps/nginx/compose.yaml': compose('nginx', 'nginx:${NGINX_TAG}'),
      'apps/nginx/.doco-cd.yml': 'name: edge\nenvironment:\n  NGINX_TAG: "1.27"\n',
      'apps/misc/image.yaml': 'kind: not-compose\n',
      'apps/group/deep/docker-compose.yml': compose('deep', 'ghcr.io/acme/deep:1'),
      'dev/docker-compose.yml': compose('mailhog', 'mailhog/mailhog:v1.0.1'),
    });
    expect(rows(state)).toEqual([
      'apps/group/deep/docker-compose.yml | ComposeService/-/deep | deep | ghcr.io/acme/deep:1',
      'dev/docker-compose.yml | ComposeService/-/mailhog | mailhog | docker.io/mailhog/mailhog:v1.0.1',
      'edge | ComposeService/-/nginx | nginx | docker.io/library/nginx:1.27',
      'wordpress | ComposeService/-/wp | wp | docker.io/library/wordpress:6.5',
    ]);
    const edge = state.images.find((image) => image.app.name === 'edge');
    expect(edge?.app).toEqual({ name: 'edge', kind: 'doco-cd', path: 'apps/nginx', definedAt: { file: 'apps/nginx/.doco-cd.yml', line: 1 } });
    expect(state.images.find((image) => image.app.name === 'wordpress')?.app.definedAt).toEqual({ file: '.doco-cd.yaml', line: 1 });
    // depth 1: apps/group/deep is two levels below apps/, so doco-cd does not deploy it
    expect(codes(state)).toEqual(['UNREFERENCED apps/group/deep/docker-compose.yml:0', 'UNREFERENCED dev/docker-compose.yml:0']);
  });

  it('reads the older auto_discover + auto_discover_opts spelling', async () => {
    const state = await resolveFiles({
      '.doco-cd.yml': 'working_dir: apps\nauto_discover: true\nauto_discover_opts:\n  depth: 0\n',
      'apps/a/compose.yml': compose('a', 'ghcr.io/acme/a:1'),
      'apps/b/c/docker-compose.yaml': compose('c', 'ghcr.io/acme/c:1'),
    });
    expect(rows(state)).toEqual(['a | ComposeService/-/a | a | ghcr.io/acme/a:1', 'c | ComposeService/-/c | c | ghcr.io/acme/c:1']);
    expect(codes(state)).toEqual([]);
  });

  it('several YAML documents are several stacks; a custom-target config (.doco-cd.<target>.yaml) deploys too', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'name: one\nworking_dir: one\n---\nname: two\nworking_dir: two\ncompose_files: [stack.yml]\n',
      '.doco-cd.nas.yaml': 'name: media\nworking_dir: nas/media\n',
      'one/compose.yaml': compose('one', 'ghcr.io/acme/one:1'),
      'two/stack.yml': compose('two', 'ghcr.io/acme/two:1'),
      'nas/media/docker-compose.yml': compose('jellyfin', 'jellyfin/jellyfin:10.9.0'),
    });
    expect(rows(state)).toEqual([
      'media | ComposeService/-/jellyfin | jellyfin | docker.io/jellyfin/jellyfin:10.9.0',
      'one | ComposeService/-/one | one | ghcr.io/acme/one:1',
      'two | ComposeService/-/two | two | ghcr.io/acme/two:1',
    ]);
    expect(state.images.find((image) => image.app.name === 'two')?.app.definedAt).toEqual({ file: '.doco-cd.yaml', line: 4 });
    expect(codes(state)).toEqual([]);
  });

  it('leaves out services whose compose profiles the stack does not enable', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'name: app\nprofiles: [metrics]\n',
      'compose.yaml': 'services:\n  app:\n    image: ghcr.io/acme/app:1\n  debug:\n    image: ghcr.io/acme/debug:1\n    profiles: [debug]\n  exporter:\n    image: ghcr.io/acme/exporter:1\n    profiles: [metrics]\n',
    });
    expect(rows(state)).toEqual(['app | ComposeService/-/app | app | ghcr.io/acme/app:1', 'app | ComposeService/-/exporter | exporter | ghcr.io/acme/exporter:1']);
    expect(state.notes?.some((note) => note.includes('"debug" only runs with profile debug'))).toBe(true);
  });

  it('a stack of another repository (repository_url) is reported, not read from this one, even when this repository\'s URLs are unknown', async () => {
    for (const repoUrls of [['https://github.com/acme/gitops'], undefined]) {
      const state = await resolveFiles(
        {
          '.doco-cd.yaml': 'name: remote\nrepository_url: https://github.com/other/stacks.git\n',
          'docker-compose.yml': compose('local', 'ghcr.io/acme/local:1'),
        },
        { repoUrls },
      );
      expect(rows(state)).toEqual(['docker-compose.yml | ComposeService/-/local | local | ghcr.io/acme/local:1']);
      expect(codes(state)).toEqual(['REMOTE_RESOURCE .doco-cd.yaml:2', 'UNREFERENCED docker-compose.yml:0']);
      expect(state.findings[0]?.message).toContain('remote');
    }
  });

  it('a repository_url that is the audited repository is read from this tree', async () => {
    const state = await resolveFiles(
      {
        '.doco-cd.yaml': 'name: self\nrepository_url: git@github.com:acme/gitops.git\n',
        'docker-compose.yml': compose('app', 'ghcr.io/acme/app:1'),
      },
      { repoUrls: ['https://github.com/acme/gitops'] },
    );
    expect(rows(state)).toEqual(['self | ComposeService/-/app | app | ghcr.io/acme/app:1']);
    expect(codes(state)).toEqual([]);
  });

  it('a reference doco-cd cannot read falls back to the audited tree, marked assumed, with one finding', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'name: app\nreference: refs/heads/release-1\n',
      'docker-compose.yml': compose('app', 'ghcr.io/acme/app:1'),
    });
    expect(rows(state)).toEqual(['app | ComposeService/-/app | app | ghcr.io/acme/app:1']);
    expect(state.images[0]?.app.revisionAssumed).toBe(true);
    expect(state.images[0]?.app.revision).toBe('release-1');
    expect(state.findings.map((f) => `${f.code} ${f.file}:${f.line}`)).toEqual(['REVISION_UNREADABLE .doco-cd.yaml:2']);
  });

  it('a reference the source can read is read at that revision, and its files count as deployed', async () => {
    const state = await resolveFiles(
      {
        '.doco-cd.yaml': 'name: app\nreference: refs/heads/release-1\n',
        'docker-compose.yml': compose('app', 'ghcr.io/acme/app:2-dev'),
      },
      {},
      { 'release-1': { 'docker-compose.yml': compose('app', 'ghcr.io/acme/app:1.9') } },
    );
    expect(rows(state)).toEqual(['app | ComposeService/-/app | app | ghcr.io/acme/app:1.9']);
    expect(state.images[0]?.app.revision).toBe('release-1');
    expect(state.loads).toEqual(['', 'release-1']);
    expect(codes(state)).toEqual([]);
  });

  it('a config without name or auto_discovery is rejected as doco-cd rejects it', async () => {
    const state = await resolveFiles({
      '.doco-cd.yaml': 'working_dir: app\n',
      'app/docker-compose.yml': compose('app', 'ghcr.io/acme/app:1'),
    });
    expect(state.findings.map((f) => `${f.severity} ${f.code} ${f.file}:${f.line}`)).toEqual([
      'error INVALID_RESOURCE .doco-cd.yaml:1',
      'info UNREFERENCED app/docker-compose.yml:0',
    ]);
  });
});

describe('doco-cd stacks and the audit scope (paths)', () => {
  it('reads the root config whatever the scope, reports the stacks in scope, and never calls a deployed file unreferenced', async () => {
    const state = await resolveFiles(
      {
        '.doco-cd.yaml': 'working_dir: stacks\nauto_discovery: true\n',
        'stacks/web/compose.yaml': compose('web', 'ghcr.io/acme/web:1'),
        'stacks/api/compose.yaml': compose('api', 'ghcr.io/acme/api:1'),
        'stacks/api/docker-compose.dev.yml': compose('api', 'ghcr.io/acme/api:dev'),
      },
      { paths: ['stacks/api'] },
    );
    expect(rows(state)).toEqual([
      'api | ComposeService/-/api | api | ghcr.io/acme/api:1',
      'stacks/api/docker-compose.dev.yml | ComposeService/-/api | api | ghcr.io/acme/api:dev',
    ]);
    expect(codes(state)).toEqual(['UNREFERENCED stacks/api/docker-compose.dev.yml:0']);
  });
});
