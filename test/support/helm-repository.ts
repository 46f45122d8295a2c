/**
 * Real chart sources for the helm tests and bench: charts packaged by the real `helm package`, a static
 * Helm HTTP repository (index.yaml written by `helm repo index`, .tgz files) served on 127.0.0.1, and charts
 * pushed as OCI artifacts (Helm's media types) to the local docker-registry.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { helmEnvironment } from '../../lambdas/engine/helm/template.js';
import type { LocalRegistry } from './registry.js';

const run = promisify(execFile);

/** `helm package` of a chart given as files; returns the .tgz path (in `outDir`). */
export async function packageChart(helm: string, files: Record<string, string>, outDir: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'image-drift-chart-src-'));
  try {
    const name = /^name:\s*(\S+)/m.exec(files['Chart.yaml'] ?? '')?.[1] ?? 'chart';
    const src = join(work, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), text);
    }
    mkdirSync(outDir, { recursive: true });
    const { stdout } = await run(helm, ['package', src, '--destination', outDir], { env: helmEnvironment(work) });
    const path = /saved it to: (.+\.tgz)/.exec(stdout)?.[1]?.trim();
    if (!path) throw new Error(`helm package printed no path: ${stdout}`);
    return path;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface HelmRepositoryServer {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** A static Helm repository on 127.0.0.1: the charts packaged, `helm repo index --url` for the index. */
export async function startHelmRepository(helm: string, charts: Record<string, string>[]): Promise<HelmRepositoryServer> {
  const dir = mkdtempSync(join(tmpdir(), 'image-drift-helm-repo-'));
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const chart of charts) await packageChart(helm, chart, dir);
  const work = mkdtempSync(join(tmpdir(), 'image-drift-helm-index-'));
  await run(helm, ['repo', 'index', dir, '--url', `${url}/`], { env: helmEnvironment(work) });
  rmSync(work, { recursive: true, force: true });
  return {
    url,
    requests,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pushes a chart as Helm does (`helm push`): tag = chart version, config = Chart.yaml as JSON, one chart layer. */
export async function pushChart(registry: LocalRegistry, helm: string, files: Record<string, string>, repository: string): Promise<{ digest: string; tag: string }> {
  const out = mkdtempSync(join(tmpdir(), 'image-drift-chart-pkg-'));
  try {
    const tgz = await packageChart(helm, files, out);
    const chartYaml = files['Chart.yaml'] ?? '';
    const version = /^version:\s*"?([^"\s]+)"?/m.exec(chartYaml)?.[1] ?? '0.0.0';
    const config = Buffer.from(JSON.stringify(Object.fromEntries(chartYaml.split('\n').filter((l) => /^\w+:/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim().replace(/^"|"$/g, '')]))));
    const tag = version.replace(/\+/g, '_');
    const pushed = await registry.pushArtifact(repository, tag, {
      config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', content: config },
      layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', content: readFileSync(tgz) }],
    });
    return { digest: pushed.digest, tag };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
