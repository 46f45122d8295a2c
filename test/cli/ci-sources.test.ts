/**
 * Config `sources:`: images built by another repository are judged by that repository's workflows,
 * read through the GitHub API (test/support/github-server.ts, a wire-protocol fake of the REST
 * endpoints serving `git archive`-shaped tarballs) with the audit's token.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitHubArchive } from '../support/github-archive.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server.js';
import { deployment, useCli, writeTree } from './harness.js';
import { imageWorkflow } from '../support/image-workflow.js';

const TOKEN = 'ghp_source_reader';
const SHA = '1111111111111111111111111111111111111111';
const WORKFLOW = imageWorkflow(`
      - run: |
          docker build -t ghcr.io/acme/api:\${GITHUB_SHA::7} .
          docker push ghcr.io/acme/api:\${GITHUB_SHA::7}
`);

let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub({ token: TOKEN });
  github.addRepository({
    owner: 'acme',
    name: 'api',
    private: true,
    defaultBranch: 'main',
    refs: { main: SHA },
    archives: { [SHA]: await gitHubArchive('acme', 'api', SHA, { '.github/workflows/image.yml': WORKFLOW }) },
  });
});

afterAll(async () => {
  await github?.close();
});

describe('config sources: the workflows of the repository that builds an image', () => {
  const cli = useCli();
  const setup = (sources: string) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/api.yaml': deployment('api', ['ghcr.io/acme/api:dev-latest', 'ghcr.io/acme/web:dev-latest']) });
    const config = join(cli.dir, 'image-drift.config.yaml');
    writeFileSync(config, sources);
    return { root, config };
  };

  it('reports CI_NEVER_PUSHES_TAG naming the source repository, only for the images it lists', async () => {
    const { root, config } = setup('sources:\n  - repo: acme/api\n    images: ["ghcr.io/acme/api"]\n');
    const run = await cli.run(['desired', '--dir', root, '--json', '--config', config, '--github-api-url', github.baseUrl], { GITHUB_TOKEN: TOKEN });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as { findings: Array<{ code: string; file: string; message: string }>; images: Array<{ written: string; ci?: unknown }> };
    const ci = state.findings.filter((finding) => finding.code === 'CI_NEVER_PUSHES_TAG');
    expect(ci.map((finding) => finding.message)).toEqual([
      'ghcr.io/acme/api:dev-latest: acme/api: .github/workflows/image.yml:10 pushes ghcr.io/acme/api with tags `<short sha>` only',
    ]);
    expect(state.images.find((image) => image.written === 'ghcr.io/acme/web:dev-latest')?.ci).toBeUndefined();
  });

  it('a source repository that cannot be read is a warning and no verdict', async () => {
    const { root, config } = setup('sources:\n  - repo: acme/missing\n    images: ["ghcr.io/acme/*"]\n');
    const run = await cli.run(['desired', '--dir', root, '--json', '--config', config, '--github-api-url', github.baseUrl], { GITHUB_TOKEN: TOKEN });
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as { findings: Array<{ code: string; severity: string; message: string }> };
    expect(state.findings.filter((finding) => finding.code === 'CI_NEVER_PUSHES_TAG')).toEqual([]);
    expect(state.findings).toContainEqual(expect.objectContaining({ code: 'SOURCE_ERROR', severity: 'warning', message: expect.stringContaining('sources: cannot read the workflows of acme/missing') }));
  });
});
