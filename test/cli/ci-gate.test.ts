/**
 * The pull-request gate and `desired` with the CI model: a branch points the dev overlay at a tag the
 * repository's own workflow can never push (the incident). The finding is read offline from the
 * workflow, so the gate fails at the overlay line even while the registry is down (real docker-registry
 * behind the fault proxy answering 503), and `desired` reports it with no registry at all.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { INCIDENT_WORKFLOW } from '../support/incident-workflow.js';
import { git, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startLocalRegistry();
  for (const tag of ['latest', '3f9c2e1']) await registry.pushImage('acme/auth-api', tag);
  proxy = await startFaultProxy(registry.url);
});

afterEach(() => proxy.clear());

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});


const BASE = {
  '.github/workflows/build.yml': INCIDENT_WORKFLOW,
  'services/auth-api/base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'services/auth-api/base/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: auth-api',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: auth-api',
    '          image: ghcr.io/acme/auth-api:latest',
    '',
  ].join('\n'),
};

const overlay = (tag: string) =>
  ['resources:', '  - ../../base', 'images:', '  - name: ghcr.io/acme/auth-api', `    newTag: "${tag}"`, ''].join('\n');

interface SarifLog {
  runs: Array<{
    tool: { driver: { rules: Array<{ id: string; defaultConfiguration?: { level: string } }> } };
    results: Array<{ ruleId: string; level: string; message: { text: string }; locations?: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }> }>;
  }>;
}

describe('the CI model in the pull-request gate', () => {
  const cli = useCli();
  let checkout = '';

  const makeCheckout = (branchTag: string) => {
    checkout = join(cli.dir, 'gitops');
    writeTree(checkout, { ...BASE, 'services/auth-api/overlays/dev/kustomization.yaml': overlay('latest') });
    git(checkout, 'init', '-q', '-b', 'main');
    git(checkout, 'add', '.');
    git(checkout, 'commit', '-q', '-m', 'dev overlay on latest');
    git(checkout, 'checkout', '-q', '-b', 'change');
    writeTree(checkout, { 'services/auth-api/overlays/dev/kustomization.yaml': overlay(branchTag) });
    git(checkout, 'commit', '-q', '-am', `dev overlay on ${branchTag}`);
  };

  it('fails offline (registry down) with CI_NEVER_PUSHES_TAG at the overlay line, naming the workflow', async () => {
    makeCheckout('dev-latest');
    proxy.inject({ kind: 'status', status: 503 }, { times: Infinity });
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--format', 'sarif', '--registry-endpoint', `ghcr.io=${proxy.url}`]);
    expect(run.code).toBe(1);
    const sarif = JSON.parse(run.stdout) as SarifLog;
    const results = sarif.runs[0]!.results.filter((result) => result.ruleId === 'image-drift/CI_NEVER_PUSHES_TAG');
    expect(results).toHaveLength(1);
    expect(results[0]!.level).toBe('error');
    expect(results[0]!.message.text).toContain(
      'ghcr.io/acme/auth-api:dev-latest: .github/workflows/build.yml:24-26 pushes ghcr.io/acme/auth-api (as ghcr.io/acme/<matrix.service>) with tags `<commit sha>`, `latest` only',
    );
    expect(results[0]!.locations?.[0]?.physicalLocation).toEqual({
      artifactLocation: expect.objectContaining({ uri: 'services/auth-api/overlays/dev/kustomization.yaml' }),
      region: { startLine: 5 },
    });
    expect(sarif.runs[0]!.tool.driver.rules.find((rule) => rule.id === 'image-drift/CI_NEVER_PUSHES_TAG')?.defaultConfiguration?.level).toBe('error');
  });

  it('with the registry up, the missing tag carries the CI evidence and its hint names the workflow', async () => {
    makeCheckout('dev-latest');
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', '--registry-endpoint', `ghcr.io=${registry.url}`]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      results: Array<{ image: string; status: string; hint: string; evidence: { ci?: { tagPushed?: boolean; pushes: Array<{ workflow: string; job: string; tags: string[] }> } } }>;
      findings: Array<{ code: string; file: string; line: number }>;
    };
    const [result] = report.results;
    expect(result).toMatchObject({ image: 'ghcr.io/acme/auth-api:dev-latest', status: 'TAG_MISSING' });
    expect(result!.evidence.ci).toEqual({
      tagPushed: false,
      pushes: [expect.objectContaining({ workflow: '.github/workflows/build.yml', job: 'image', tags: ['<commit sha>', 'latest'] })],
    });
    expect(result!.hint).toContain('CI never pushes this tag: .github/workflows/build.yml:24-26 pushes `<commit sha>`, `latest` only.');
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'CI_NEVER_PUSHES_TAG', file: 'services/auth-api/overlays/dev/kustomization.yaml', line: 5 }));
  });

  it('passes a branch that moves the overlay to a tag CI pushes (a full commit sha)', async () => {
    makeCheckout('9f8e7d6c5b4a39281706f5e4d3c2b1a098765432');
    await registry.pushImage('acme/auth-api', '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432');
    const run = await cli.run(['audit', '--dir', checkout, '--changed-since', 'main', '--json', '--registry-endpoint', `ghcr.io=${registry.url}`]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { findings: Array<{ code: string }>; results: Array<{ evidence: { ci?: { tagPushed?: boolean } } }> };
    expect(report.findings.filter((finding) => finding.code === 'CI_NEVER_PUSHES_TAG')).toEqual([]);
    expect(report.results[0]?.evidence.ci?.tagPushed).toBe(true);
  });

  it('desired reports the finding with no registry at all', async () => {
    makeCheckout('dev-latest');
    const run = await cli.run(['desired', '--dir', checkout, '--json']);
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as {
      images: Array<{ written: string; ci?: { tagPushed?: boolean; pushes: Array<{ workflow: string; startLine: number; endLine: number }> } }>;
      findings: Array<{ code: string; file: string; line: number; message: string }>;
    };
    expect(state.images.find((image) => image.written === 'ghcr.io/acme/auth-api:dev-latest')?.ci).toEqual({
      tagPushed: false,
      pushes: [expect.objectContaining({ workflow: '.github/workflows/build.yml', startLine: 24, endLine: 26 })],
    });
    expect(state.findings).toContainEqual(expect.objectContaining({ code: 'CI_NEVER_PUSHES_TAG', file: 'services/auth-api/overlays/dev/kustomization.yaml', line: 5 }));
  });
});
