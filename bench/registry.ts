/**
 * Registry bench: 1,000 unique images over 300 repositories against the local docker-registry (GHCR-like token
 * auth), through the fault proxy at 0 ms and 20 ms injected latency per registry request. Reports registry
 * requests per image, tokens per repository and wall time, and compares with `skopeo inspect --raw` (sequential
 * and 8-way parallel) on a sample of the same images at 20 ms, extrapolated to 1,000 (said so in the output).
 *
 *   npx tsx bench/registry.ts            (prints JSON; about 1–2 minutes)
 *
 * One image in 20 is a two-platform OCI index, which costs one extra GET for the platform check.
 * Token requests go straight to the token server (the proxy fronts the registry only).
 * The registry side (docker-registry, token server, proxy, fake Packages API) runs in a child process so that
 * it does not share the auditor's event loop; the machine's load average is printed with the results.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createImageChecker, parseImageReference, type RegistryCheckOptions } from '../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, makeCredential } from '../lambdas/engine/registry/credentials.js';
import type { ImageReference } from '../lambdas/engine/model.js';
import { startLocalRegistry } from '../test/support/registry.js';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { startGitHubPackagesServer, type FakeOwner } from '../test/support/github-packages-server.js';

const REPOS = 300;
const IMAGES = 1000;
const TOKEN = 'ghp_bench_token';

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  }));
}

function skopeo(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(0) : reject(new Error(`skopeo ${image}: ${code} ${err.slice(0, 300)}`))));
  });
}

interface Served {
  proxyUrl: string;
  apiUrl: string;
  plan: Array<{ repo: string; tag: string; index: boolean }>;
  setupMs: number;
}

/** Child process: registry, token server, proxy and fake API; commands on stdin (`latency N`). */
async function serve() {
  const setupStarted = Date.now();
  const registry = await startLocalRegistry({ tokens: [TOKEN] });
  const proxy = await startFaultProxy(registry.url);
  const plan: Served['plan'] = [];
  for (let i = 0; i < IMAGES; i++) {
    const r = i % REPOS;
    plan.push({ repo: `bench/svc-${String(r).padStart(3, '0')}`, tag: `v${Math.floor(i / REPOS)}.0.${i}`, index: i % 20 === 0 });
  }
  // Push repository by repository (blobs are shared within a repository), 8 repositories at a time.
  const byRepo = new Map<string, Served['plan']>();
  for (const p of plan) byRepo.set(p.repo, [...(byRepo.get(p.repo) ?? []), p]);
  const pushedDigests = new Map<string, string>();
  await pool([...byRepo.values()], 16, async (items) => {
    for (const p of items) {
      const pushed = p.index ? await registry.pushIndex(p.repo, p.tag, ['linux/amd64', 'linux/arm64']) : await registry.pushImage(p.repo, p.tag);
      pushedDigests.set(`${p.repo}:${p.tag}`, pushed.digest);
    }
  });
  const owners: FakeOwner[] = [
    {
      login: 'bench',
      type: 'Organization',
      packages: [...byRepo.entries()].map(([repo, items]) => ({
        name: repo.slice('bench/'.length),
        visibility: 'public' as const,
        versions: items.map((p, i) => ({ id: i + 1, digest: pushedDigests.get(`${p.repo}:${p.tag}`) ?? '', tags: [p.tag], updatedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() })),
      })),
    },
  ];
  const api = await startGitHubPackagesServer({ owners, tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }] });
  const served: Served = { proxyUrl: proxy.url, apiUrl: api.url, plan, setupMs: Date.now() - setupStarted };
  process.stdout.write(`READY ${JSON.stringify(served)}\n`);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const m = /^latency (\d+)$/.exec(line.trim());
    if (m) {
      proxy.setLatency(Number(m[1]));
      process.stdout.write('OK\n');
    }
  }
  await api.stop();
  await proxy.stop();
  await registry.stop();
}

async function main() {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('bench server exited');
    return r.value;
  };
  let first = await nextLine();
  while (!first.startsWith('READY ')) first = await nextLine();
  const served = JSON.parse(first.slice(6)) as Served;
  const setLatency = async (ms: number) => {
    child.stdin!.write(`latency ${ms}\n`);
    while ((await nextLine()) !== 'OK');
  };
  const { plan } = served;
  const proxyUrl = served.proxyUrl;
  const loadBefore = loadavg()[0];

  const refs: ImageReference[] = plan.map((p) => {
    const parsed = parseImageReference(`ghcr.io/${p.repo}:${p.tag}`);
    if (!parsed.ok) throw new Error(p.repo);
    return parsed.ref;
  });

  const runs: Record<string, unknown>[] = [];
  const modes: Array<{ name: string; options: Partial<RegistryCheckOptions> }> = [
    { name: 'anonymous', options: { github: { enabled: false } } },
    {
      name: 'credential+packagesApi',
      options: {
        credentials: new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'bench', secret: TOKEN })] }),
        github: { baseUrl: served.apiUrl },
      },
    },
  ];
  for (const latency of [0, 20]) {
    await setLatency(latency);
    for (const mode of modes) {
      const concurrency = 8;
      const checker = createImageChecker({ endpoints: { 'ghcr.io': proxyUrl }, concurrencyPerRegistry: concurrency, ...mode.options });
      const started = Date.now();
      const cpu = process.cpuUsage();
      const results = await checker.check(refs);
      const wallMs = Date.now() - started;
      const cpuUsed = process.cpuUsage(cpu);
      const stats = checker.lastStats();
      const statuses: Record<string, number> = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      runs.push({
        latencyMs: latency,
        mode: mode.name,
        concurrencyPerRegistry: concurrency,
        images: results.length,
        repositories: stats?.repositories,
        statuses,
        registryRequests: stats?.registryRequests,
        registryRequestsPerImage: stats ? +(stats.registryRequests / results.length).toFixed(3) : undefined,
        tokenRequests: stats?.tokenRequests,
        tokensPerRepository: stats ? +(stats.tokenRequests / stats.repositories).toFixed(3) : undefined,
        packagesApiRequests: stats?.packagesApiRequests,
        wallMs,
        auditorCpuMs: Math.round((cpuUsed.user + cpuUsed.system) / 1000),
      });
    }
  }

  // skopeo at 20 ms, on samples (a full sequential run would take minutes).
  await setLatency(20);
  const host = new URL(proxyUrl).host;
  const seqSample = refs.slice(0, 30);
  let t = Date.now();
  for (const r of seqSample) await skopeo(`${host}/${r.repository}:${r.tag}`);
  const seqMs = Date.now() - t;
  const parSample = refs.slice(0, 120);
  t = Date.now();
  await pool(parSample, 8, async (r) => {
    await skopeo(`${host}/${r.repository}:${r.tag}`);
  });
  const parMs = Date.now() - t;
  child.stdin!.end();
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ours20 = runs.filter((r) => r.latencyMs === 20) as Array<{ wallMs: number; mode: string; concurrencyPerRegistry: number }>;
  const skopeoSequential1000 = Math.round((seqMs / seqSample.length) * IMAGES);
  const skopeoParallel1000 = Math.round((parMs / parSample.length) * IMAGES);
  const out = {
    machine: { loadAverage1mBefore: +(loadBefore ?? 0).toFixed(2), loadAverage1mAfter: +(loadavg()[0] ?? 0).toFixed(2), cpus: (await import('node:os')).cpus().length },
    setup: { images: IMAGES, repositories: REPOS, indexes: plan.filter((p) => p.index).length, pushAndStartMs: served.setupMs },
    auditor: runs,
    skopeo: {
      latencyMs: 20,
      note: 'measured on samples and extrapolated linearly to 1000 images',
      sequential: { sampleImages: seqSample.length, sampleMs: seqMs, extrapolated1000Ms: skopeoSequential1000 },
      parallel8: { sampleImages: parSample.length, sampleMs: parMs, extrapolated1000Ms: skopeoParallel1000 },
    },
    speedupAt20ms: ours20.map((r) => ({
      mode: r.mode,
      vsParallelSkopeo: +(skopeoParallel1000 / r.wallMs).toFixed(1),
      vsSequentialSkopeo: +(skopeoSequential1000 / r.wallMs).toFixed(1),
    })),
    targets: { registryRequestsPerImage: '<= 1.1', tokensPerRepository: '<= 1', speedupVsParallelSkopeo: '>= 10' },
  };
  console.log(JSON.stringify(out, null, 2));
}

if (process.argv.includes('--serve')) {
  serve().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
