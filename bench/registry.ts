/**
 * Registry bench (issue 11's goals table). 306 images in 300 ghcr.io-like repositories on the local docker-registry
 * (GHCR-like token server), reached through the fault proxy with 20 ms injected per registry request; the GitHub
 * Packages API stand-in (test/support/github-packages-server.ts) answers with the same 20 ms; a classic PAT is
 * configured. Reports per run: registry requests per image, tokens per repository, Packages API calls per image
 * and wall time, for
 *   - the credentialed audit with the Packages API reachable (the main figure),
 *   - the same with an API host that does not resolve (a DNS lookup stub, nothing sent), as a ratio of the above,
 *   - an anonymous audit (no credential, no API),
 * and `skopeo inspect --raw` over the same 306 images 8-way parallel (`xargs -P 8` equivalent) in the same run;
 * the ratio is skipped with a note when skopeo is absent. Then a scale run (default 2,000 images / 600
 * repositories; `--scale-images 10000 --scale-repos 3000` for the full size) with the extrapolation to the
 * Lambda's 15-minute limit.
 *
 *   npx tsx bench/registry.ts [--images 306] [--repos 300] [--latency 20] [--repeat 3] [--private-every N] [--scale-images N] [--scale-repos N] [--no-scale | --scale-only]
 *
 * `--private-every N` makes every N-th repository a private package (the token server refuses it anonymously, the
 * Packages API lists it as private; skopeo then pulls with the same credential): the mix where an unreachable API
 * costs most, since anonymous callers are refused there and a refused repository spoils its token batch.
 *
 * Wall times are the best of --repeat runs for each side (auditor, unresolvable-API auditor, skopeo), run
 * interleaved so that a change in machine load hits them alike; every run's time is printed too. Counts are
 * those of the best run (they are the same in every run). The scale run (--scale-only: nothing else) runs once, with the
 * Lambda's 15-minute deadline.
 *
 * Token requests go straight to the token server (for skopeo as for us): the registry advertises the realm itself.
 * One image in 20 is a two-platform OCI index (one GET for the platform check). The registry side runs in a child
 * process so that it does not share the auditor's event loop; the load average is printed with the results.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createImageChecker, parseImageReference, type RegistryCheckOptions } from '../lambdas/engine/diagnose/index.js';
import { RegistryCredentials, Secret, makeCredential } from '../lambdas/engine/registry/credentials.js';
import type { ImageReference } from '../lambdas/engine/model.js';
import { startLocalRegistry } from '../test/support/registry.js';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { unresolvableFetch } from '../test/support/unresolvable-fetch.js';
import { startGitHubPackagesServer, type FakeOwner } from '../test/support/github-packages-server.js';

const TOKEN = 'ghp_bench_classic_token';
const LAMBDA_LIMIT_MS = 15 * 60_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const IMAGES = flag('--images', 306);
const REPOS = flag('--repos', 300);
const LATENCY = flag('--latency', 20);
const SCALE_IMAGES = flag('--scale-images', 2000);
const SCALE_REPOS = flag('--scale-repos', 600);
const SCALE = !process.argv.includes('--no-scale');
const SCALE_ONLY = process.argv.includes('--scale-only');
const PRIVATE_EVERY = flag('--private-every', 0);
/** Runs of the timed comparison (credentialed audit, unresolvable-API audit, skopeo), interleaved; the best counts. */
const REPEAT = Math.max(1, flag('--repeat', 3));

interface PlanItem {
  repo: string;
  tag: string;
  index: boolean;
  private: boolean;
}

function plan(prefix: string, images: number, repos: number, privateEvery = 0): PlanItem[] {
  return Array.from({ length: images }, (_, i) => ({
    repo: `${prefix}/svc-${String(i % repos).padStart(4, '0')}`,
    tag: `v${Math.floor(i / repos)}.0.${i}`,
    index: i % 20 === 0,
    private: privateEvery > 0 && (i % repos) % privateEvery === 0,
  }));
}

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

interface Served {
  proxyUrl: string;
  apiUrl: string;
  setupMs: number;
}

/** Child process: registry, token server, proxy and Packages API; commands on stdin (`latency N`, `push prefix images repos privateEvery`). */
async function serve() {
  const started = Date.now();
  const registry = await startLocalRegistry({ tokens: [TOKEN] });
  const proxy = await startFaultProxy(registry.url);
  const owners: FakeOwner[] = [];
  const api = await startGitHubPackagesServer({ owners, tokens: [{ token: TOKEN, scopes: ['read:packages'], sees: 'all' }] });
  const push = async (prefix: string, images: number, repos: number, privateEvery: number) => {
    const items = plan(prefix, images, repos, privateEvery);
    const byRepo = new Map<string, PlanItem[]>();
    for (const p of items) byRepo.set(p.repo, [...(byRepo.get(p.repo) ?? []), p]);
    const digests = new Map<string, string>();
    await pool([...byRepo.values()], 16, async (list) => {
      for (const p of list) {
        const pushed = p.index ? await registry.pushIndex(p.repo, p.tag, ['linux/amd64', 'linux/arm64']) : await registry.pushImage(p.repo, p.tag);
        digests.set(`${p.repo}:${p.tag}`, pushed.digest);
      }
      if (list[0]?.private) registry.setPrivate(list[0].repo, true);
    });
    owners.push({
      login: prefix,
      type: 'Organization',
      packages: [...byRepo.entries()].map(([repo, list]) => ({
        name: repo.slice(prefix.length + 1),
        visibility: list[0]?.private ? ('private' as const) : ('public' as const),
        versions: list.map((p, i) => ({ id: i + 1, digest: digests.get(`${p.repo}:${p.tag}`) ?? '', tags: [p.tag], updatedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() })),
      })),
    });
  };
  const served: Served = { proxyUrl: proxy.url, apiUrl: api.url, setupMs: Date.now() - started };
  process.stdout.write(`READY ${JSON.stringify(served)}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const latency = /^latency (\d+)$/.exec(line.trim());
    const pushCmd = /^push (\S+) (\d+) (\d+) (\d+)$/.exec(line.trim());
    if (latency) {
      proxy.setLatency(Number(latency[1]));
      api.setLatency(Number(latency[1]));
      process.stdout.write('OK\n');
    } else if (pushCmd) {
      const t = Date.now();
      await push(pushCmd[1] ?? 'x', Number(pushCmd[2]), Number(pushCmd[3]), Number(pushCmd[4]));
      process.stdout.write(`OK ${Date.now() - t}\n`);
    }
  }
  await api.stop();
  await proxy.stop();
  await registry.stop();
}

function skopeoAvailable(): boolean {
  return spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).status === 0;
}

function skopeo(image: string, creds?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${image}`];
    const child = spawn('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`skopeo ${image}: ${code} ${err.slice(0, 300)}`))));
  });
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

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
  const command = async (text: string): Promise<string> => {
    child.stdin!.write(`${text}\n`);
    let line = await nextLine();
    while (!line.startsWith('OK')) line = await nextLine();
    return line;
  };
  const refsOf = (items: PlanItem[]) =>
    items.map((p) => {
      const parsed = parseImageReference(`ghcr.io/${p.repo}:${p.tag}`);
      if (!parsed.ok) throw new Error(p.repo);
      return parsed.ref;
    });
  const credentials = new RegistryCredentials({ credentials: [makeCredential({ host: 'ghcr.io', username: 'bench', secret: TOKEN })] });

  const audit = async (name: string, images: ImageReference[], options: Partial<RegistryCheckOptions>) => {
    const checker = createImageChecker({ endpoints: { 'ghcr.io': served.proxyUrl }, ...options });
    const started = Date.now();
    const cpu = process.cpuUsage();
    const results = await checker.check(images);
    const wallMs = Date.now() - started;
    const used = process.cpuUsage(cpu);
    const stats = checker.lastStats();
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    return {
      mode: name,
      images: results.length,
      repositories: stats?.repositories ?? 0,
      statuses,
      registryRequestsPerImage: stats ? round(stats.registryRequests / results.length) : undefined,
      tokensPerRepository: stats ? round(stats.tokenRequests / stats.repositories) : undefined,
      packagesApiCallsPerImage: stats ? round(stats.packagesApiRequests / results.length) : undefined,
      registryRequests: stats?.registryRequests,
      tokenRequests: stats?.tokenRequests,
      packagesApiRequests: stats?.packagesApiRequests,
      notes: stats?.notes ?? [],
      wallMs,
      auditorCpuMs: Math.round((used.user + used.system) / 1000),
    };
  };

  const runScale = async (): Promise<Record<string, unknown>> => {
    await command('latency 0');
    const scalePushMs = Number((await command(`push scale ${SCALE_IMAGES} ${SCALE_REPOS} 0`)).split(' ')[1]);
    await command(`latency ${LATENCY}`);
    const run = await audit('scale: credential + Packages API', refsOf(plan('scale', SCALE_IMAGES, SCALE_REPOS)), {
      credentials,
      github: { token: new Secret(TOKEN), baseUrl: served.apiUrl },
      // As in the Lambda: whatever is not done when its 15 minutes run out is UNREACHABLE.
      deadlineMs: LAMBDA_LIMIT_MS,
    });
    const perImageMs = run.wallMs / run.images;
    return {
      ...run,
      pushMs: scalePushMs,
      perImageMs: round(perImageMs),
      extrapolated10000ImagesMs: Math.round(perImageMs * 10_000),
      imagesWithinLambda15Min: Math.floor(LAMBDA_LIMIT_MS / perImageMs),
      loadAverage1mAfter: round(loadavg()[0] ?? 0, 2),
      note: `linear extrapolation from ${run.images} images / ${run.repositories} repositories at ${LATENCY} ms; the Lambda's limit is 15 minutes`,
    };
  };

  if (SCALE_ONLY) {
    const loadBefore = loadavg()[0] ?? 0;
    const scale = await runScale();
    child.stdin!.end();
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    console.log(JSON.stringify({ bench: 'registry --scale-only', machine: { cpus: cpus().length, loadAverage1mBefore: round(loadBefore, 2) }, latencyMs: LATENCY, scale }, null, 2));
    return;
  }

  const pushMs = Number((await command(`push bench ${IMAGES} ${REPOS} ${PRIVATE_EVERY}`)).split(' ')[1]);
  await command(`latency ${LATENCY}`);
  const loadBefore = loadavg()[0] ?? 0;
  const refs = refsOf(plan('bench', IMAGES, REPOS, PRIVATE_EVERY));

  const reachableRuns: Awaited<ReturnType<typeof audit>>[] = [];
  const unresolvableRuns: Awaited<ReturnType<typeof audit>>[] = [];
  const skopeoMsRuns: number[] = [];
  const haveSkopeo = skopeoAvailable();
  const host = new URL(served.proxyUrl).host;
  for (let i = 0; i < REPEAT; i++) {
    reachableRuns.push(await audit('credential + Packages API', refs, { credentials, github: { token: new Secret(TOKEN), baseUrl: served.apiUrl } }));
    const stub = unresolvableFetch();
    unresolvableRuns.push(
      await audit('credential + unresolvable API host', refs, {
        credentials,
        github: { token: new Secret(TOKEN), baseUrl: 'https://api.github.invalid', fetch: stub.fetch },
      }),
    );
    await stub.close();
    if (haveSkopeo) {
      const t = Date.now();
      // Private packages need the credential: skopeo then pulls every image with it (as a cluster with the secret).
      await pool(refs, 8, (r) => skopeo(`${host}/${r.repository}:${r.tag}`, PRIVATE_EVERY > 0 ? `bench:${TOKEN}` : undefined));
      skopeoMsRuns.push(Date.now() - t);
    }
  }
  const best = (runs: Awaited<ReturnType<typeof audit>>[]) => ({
    ...(runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a)) as Awaited<ReturnType<typeof audit>>),
    wallMsRuns: runs.map((r) => r.wallMs),
  });
  const reachable = best(reachableRuns);
  const unresolvable = best(unresolvableRuns);
  const anonymous = await audit('anonymous (no API)', refs, { github: { enabled: false } });

  let skopeoRun: Record<string, unknown>;
  if (haveSkopeo) {
    skopeoRun = {
      parallel: 8,
      images: refs.length,
      wallMs: Math.min(...skopeoMsRuns),
      wallMsRuns: skopeoMsRuns,
      note: `skopeo inspect --raw, 8 processes at a time (as xargs -P 8), same images, same latency, same token server (${PRIVATE_EVERY > 0 ? "with the credential" : "anonymous"}); best of ${REPEAT}`,
    };
  } else {
    skopeoRun = { note: 'skopeo is not installed: the ratio is skipped (apt-get install skopeo)' };
  }

  const scale = SCALE ? await runScale() : undefined;
  child.stdin!.end();
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const skopeoMs = typeof skopeoRun.wallMs === 'number' ? skopeoRun.wallMs : undefined;
  const goals = {
    speedupVsSkopeoParallel8: skopeoMs ? { value: round(skopeoMs / reachable.wallMs, 1), goal: '>= 10' } : { value: null, goal: '>= 10', note: 'skopeo absent' },
    registryRequestsPerImage: { value: reachable.registryRequestsPerImage, goal: '<= 1.2' },
    tokensPerRepository: { value: reachable.tokensPerRepository, goal: '<= 1.05' },
    packagesApiCallsPerImage: { value: reachable.packagesApiCallsPerImage, goal: '<= 0.25' },
    unresolvableApiHostVsReachable: { value: round(unresolvable.wallMs / reachable.wallMs, 2), goal: '<= 1.5' },
  };
  console.log(
    JSON.stringify(
      {
        bench: 'registry',
        machine: { cpus: cpus().length, loadAverage1mBefore: round(loadBefore, 2), loadAverage1mAfter: round(loadavg()[0] ?? 0, 2) },
        setup: { images: IMAGES, repositories: REPOS, privateRepositories: PRIVATE_EVERY > 0 ? Math.ceil(REPOS / PRIVATE_EVERY) : 0, indexes: refs.length ? Math.ceil(IMAGES / 20) : 0, latencyMs: LATENCY, pushMs, serversStartMs: served.setupMs },
        goals,
        auditor: [reachable, unresolvable, anonymous],
        skopeo: skopeoRun,
        ...(scale ? { scale } : {}),
      },
      null,
      2,
    ),
  );
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
