/**
 * The gate fails closed: an image the registry did not give a verdict for (UNREACHABLE, RATE_LIMITED after
 * retries) makes the run incomplete (exit 3) unless --allow-unverified says otherwise. Run in process against the
 * real docker-registry behind the fault proxy (test/support/fault-proxy.ts), which injects 5xx, 429 and resets.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;
let proxy: FaultProxy;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('acme/api', '1.0');
  await registry.pushImage('acme/api', '1.1');
  await registry.pushImage('acme/web', '2.0');
  proxy = await startFaultProxy(registry.url);
});

afterEach(() => proxy.clear());

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface JsonReport {
  summary: { total: number; unverified: number };
  results: Array<{ image: string; status: string }>;
  notes?: string[];
}

describe('the gate fails closed when images get no verdict', () => {
  const cli = useCli();
  const gitops = (images: string[]) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', images) });
    return root;
  };
  const endpoint = () => ['--registry-endpoint', `ghcr.io=${proxy.url}`];

  it('exits 3 when the registry is down, and says how many images were not verified', async () => {
    proxy.inject({ kind: 'status', status: 503 }, { times: Infinity });
    const dir = gitops(['ghcr.io/acme/api:1.0', 'ghcr.io/acme/web:2.0']);
    const run = await cli.run(['audit', '--dir', dir, ...endpoint(), '--no-history', '--json']);
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.summary.unverified).toBe(2);
    expect(report.results.map((result) => result.status)).toEqual(['UNREACHABLE', 'UNREACHABLE']);
    expect(report.notes?.join('\n')).toContain('2 of 2 images were not verified');
    expect(run.stderr).toContain('2 of 2 images were not verified');
    expect(run.stderr).toContain('--allow-unverified');
  });

  it('exits 3 when connections are reset, in every output format, and names the count in each', async () => {
    proxy.inject({ kind: 'reset' }, { times: Infinity });
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    for (const format of ['table', 'markdown', 'sarif']) {
      const run = await cli.run(['audit', '--dir', dir, ...endpoint(), '--no-history', '--format', format]);
      expect(run.code, format).toBe(3);
      expect(run.stdout, format).toContain('1 of 1 image was not verified');
    }
  });

  it('exits 3 when the registry keeps answering 429', async () => {
    proxy.inject({ kind: 'rate-limit', header: '0' }, { times: Infinity });
    const dir = gitops(['ghcr.io/acme/api:1.0']);
    const run = await cli.run(['audit', '--dir', dir, ...endpoint(), '--no-history', '--json']);
    expect(JSON.parse(run.stdout).results[0].status).toBe('RATE_LIMITED');
    expect(run.code).toBe(3);
  });

  it('never exits 0 at 50 % faults (5xx, 429, resets) with a never-pushed tag among the images', async () => {
    const dir = gitops(['ghcr.io/acme/api:1.0', 'ghcr.io/acme/api:1.1', 'ghcr.io/acme/api:9.9-never-pushed', 'ghcr.io/acme/web:2.0']);
    const codes: number[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      proxy.clear();
      const random = seededRandom(seed);
      // Half the requests fail, each with one of four faults, chosen by a seeded generator (reproducible).
      const faults: Fault[] = [{ kind: 'status', status: 503 }, { kind: 'status', status: 500 }, { kind: 'rate-limit', header: '0' }, { kind: 'reset' }];
      const chosen = new Map<number, Fault>();
      const base = proxy.requests.length;
      for (let n = base + 1; n <= base + 5_000; n++) if (random() < 0.5) chosen.set(n, faults[Math.floor(random() * faults.length)] as Fault);
      for (const fault of faults) proxy.inject(fault, { times: Infinity, match: (r) => chosen.get(r.n) === fault });
      const run = await cli.run(['audit', '--dir', dir, ...endpoint(), '--no-history', '--json']);
      const report = JSON.parse(run.stdout) as JsonReport;
      const missing = report.results.find((result) => result.image.endsWith(':9.9-never-pushed'));
      expect(missing?.status).not.toBe('OK');
      codes.push(run.code);
      expect(run.code).toBe(report.summary.unverified > 0 ? 3 : 1);
    }
    expect(codes).not.toContain(0);
  });

  it('exits 3 for `check` too when the registry is down', async () => {
    proxy.inject({ kind: 'status', status: 502 }, { times: Infinity });
    const run = await cli.run(['check', 'ghcr.io/acme/api:1.0', ...endpoint(), '--json']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('1 of 1 image was not verified');
  });

  it('with --allow-unverified, exits 0 when the only problem is an unverified image, still 1 for drift', async () => {
    proxy.inject({ kind: 'status', status: 503 }, { times: Infinity, match: (r) => r.path.includes('acme/web') });
    const unverifiedOnly = await cli.run(['audit', '--dir', gitops(['ghcr.io/acme/api:1.0', 'ghcr.io/acme/web:2.0']), ...endpoint(), '--no-history', '--allow-unverified']);
    expect(unverifiedOnly.code).toBe(0);
    expect(unverifiedOnly.stdout).toContain('1 not verified');
    expect(unverifiedOnly.stdout).toContain('1 of 2 images was not verified');
    const withDrift = await cli.run(['audit', '--dir', gitops(['ghcr.io/acme/api:9.9', 'ghcr.io/acme/web:2.0']), ...endpoint(), '--no-history', '--allow-unverified']);
    expect(withDrift.code).toBe(1);
  });

  it('exits 0 when every image got a verdict through a flaky registry (retries absorb single faults)', async () => {
    proxy.inject({ kind: 'status', status: 503 }, { times: 2 });
    const run = await cli.run(['audit', '--dir', gitops(['ghcr.io/acme/api:1.0']), ...endpoint(), '--no-history', '--json']);
    expect(JSON.parse(run.stdout).summary.unverified).toBe(0);
    expect(run.code).toBe(0);
  });
});

describe('the outbound policy from the command line and the config file', () => {
  const cli = useCli();
  const gitops = (images: string[]) => {
    const root = join(cli.dir, 'gitops');
    writeTree(root, { 'deploy/app.yaml': deployment('app', images) });
    return root;
  };

  it('refuses a loopback registry named only by a manifest (REGISTRY_NOT_ALLOWED, exit 3), allows it once listed', async () => {
    const image = `${registry.host}/acme/api:1.0`;
    const dir = gitops([image]);
    const before = proxy.requests.length;
    const refused = await cli.run(['audit', '--dir', dir, '--no-history', '--json']);
    expect(refused.code).toBe(3);
    const report = JSON.parse(refused.stdout) as JsonReport & { results: Array<{ hint: string }> };
    expect(report.results[0]?.status).toBe('REGISTRY_NOT_ALLOWED');
    expect(report.results[0]?.hint).toContain('(loopback)');
    expect(report.summary.unverified).toBe(1);

    const config = join(cli.dir, 'image-drift.config.yaml');
    writeFileSync(config, `registries:\n  allow: ["${registry.host}"]\n`);
    const listed = await cli.run(['audit', '--dir', dir, '--no-history', '--json', '--config', config]);
    expect(JSON.parse(listed.stdout).results[0].status).toBe('OK');
    expect(listed.code).toBe(0);
    expect(proxy.requests.length).toBe(before);
  });

  it('rejects a registries.allow entry that is not a host glob (exit 2)', async () => {
    const config = join(cli.dir, 'image-drift.config.yaml');
    writeFileSync(config, 'registries:\n  allow: ["https://evil.example/"]\n');
    const run = await cli.run(['audit', '--dir', gitops(['ghcr.io/acme/api:1.0']), '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('registries.allow[0]: must be a lower-case host glob');
  });
});

describe('a desired state that cannot be resolved in full is never a clean run', () => {
  const cli = useCli();

  it('stops a 1,500-level kustomize chain at the depth cap with a finding that names it, and exits 3', async () => {
    const root = join(cli.dir, 'deep');
    const files: Record<string, string> = {};
    const depth = 1_500;
    for (let i = 0; i < depth; i++) files[`k${i}/kustomization.yaml`] = `resources:\n  - ../k${i + 1}\n`;
    files[`k${depth}/kustomization.yaml`] = 'resources:\n  - app.yaml\n';
    files[`k${depth}/app.yaml`] = deployment('app', ['ghcr.io/acme/api:1.0']);
    writeTree(root, files);
    const run = await cli.run(['audit', '--dir', root, '--registry-endpoint', `ghcr.io=${registry.url}`, '--no-history', '--json']);
    expect(run.stderr).not.toContain('Maximum call stack');
    const report = JSON.parse(run.stdout) as { findings: Array<{ code: string; message: string }> };
    const cap = report.findings.find((finding) => finding.code === 'LIMIT_EXCEEDED');
    expect(cap?.message).toContain('MAX_KUSTOMIZE_DEPTH');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('could not be resolved in full');
  }, 180_000);

});
