/**
 * Runs `helm template` on a chart that is already on local disk. Helm never reaches the network or a
 * cluster here: the chart and its values are local files we wrote, `--dry-run=client` is Helm's default
 * for `template`, `lookup` answers empty without a cluster, and the child gets a fresh environment (no
 * proxy, no KUBECONFIG, no registry or cloud credentials, HOME and every HELM_*_HOME in its own temp dir).
 * A timeout kills it; output over the cap kills it too.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Kubernetes version charts see as `.Capabilities.KubeVersion` (the version of the pinned kubectl). */
export const DEFAULT_KUBE_VERSION = '1.35.0';
export const DEFAULT_HELM_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RENDERED_BYTES = 16 * 1024 * 1024;

export interface HelmTemplateRequest {
  helm: string;
  /** Chart directory or packaged `.tgz`, absolute. */
  chart: string;
  releaseName: string;
  namespace?: string | undefined;
  /** Values files (absolute), lowest precedence first. */
  valuesFiles: readonly string[];
  /** `--set-file name=path` (Argo CD `fileParameters`), absolute paths. */
  setFiles?: readonly { name: string; path: string }[];
  kubeVersion?: string;
  apiVersions?: readonly string[];
  /** A private, empty directory: helm's HOME and caches. */
  workDir: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
}

export type HelmTemplateResult = { ok: true; manifest: string } | { ok: false; message: string };

export function helmTemplateArgs(request: HelmTemplateRequest): string[] {
  const args = ['template', request.releaseName, request.chart, '--kube-version', request.kubeVersion ?? DEFAULT_KUBE_VERSION];
  if (request.namespace) args.push('--namespace', request.namespace);
  for (const api of request.apiVersions ?? []) args.push('--api-versions', api);
  for (const file of request.valuesFiles) args.push('--values', file);
  for (const entry of request.setFiles ?? []) args.push('--set-file', `${entry.name}=${entry.path}`);
  return args;
}

/** The whole environment helm gets: nothing inherited from ours. */
export function helmEnvironment(workDir: string): Record<string, string> {
  const home = join(workDir, 'home');
  for (const dir of ['cache', 'config', 'data', 'plugins']) mkdirSync(join(home, dir), { recursive: true });
  const kubeconfig = join(home, 'kubeconfig');
  // An empty kubeconfig: helm template does not need a cluster, and must not find ours.
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  return {
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    HELM_PLUGINS: join(home, 'plugins'),
    HELM_REGISTRY_CONFIG: join(home, 'config', 'registry.json'),
    HELM_REPOSITORY_CONFIG: join(home, 'config', 'repositories.yaml'),
    KUBECONFIG: kubeconfig,
    PATH: '/usr/bin:/bin',
  };
}

export function runHelmTemplate(request: HelmTemplateRequest): Promise<HelmTemplateResult> {
  const timeoutMs = request.timeoutMs ?? DEFAULT_HELM_TIMEOUT_MS;
  const maxBytes = request.maxOutputBytes ?? DEFAULT_MAX_RENDERED_BYTES;
  return new Promise((resolve) => {
    const child = spawn(request.helm, helmTemplateArgs(request), {
      cwd: request.workDir,
      env: helmEnvironment(request.workDir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let stopped: string | undefined;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`helm template did not finish within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxBytes) stop(`helm template wrote more than ${maxBytes} bytes`);
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes <= 64 * 1024) err.push(chunk);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `helm could not be started: ${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (stopped) return resolve({ ok: false, message: stopped });
      if (code === 0) return resolve({ ok: true, manifest: Buffer.concat(out).toString('utf8') });
      resolve({ ok: false, message: helmMessage(Buffer.concat(err).toString('utf8')) || `helm template exited with status ${code}` });
    });
  });
}

/** Helm's error on one line: from `Error:` to the end, minus the `--debug` advice and warnings. */
export function helmMessage(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !/^WARNING: /.test(line) && !/--debug flag/.test(line));
  const start = lines.findIndex((line) => line.startsWith('Error:'));
  const error = (start < 0 ? lines.slice(-3) : lines.slice(start)).join(' ');
  return error.replace(/^Error:\s*/, '').slice(0, 2000);
}
