/**
 * Runs the `image-drift` CLI in process through `main(argv)`, with stdout and stderr captured and
 * the environment isolated: every test gets a fresh temporary directory holding an empty Docker
 * config (DOCKER_CONFIG), a history state directory (IMAGE_DRIFT_STATE_DIR) and the working
 * directory (so no image-drift.config.yaml or .image-drift of the checkout is picked up).
 * GITHUB_TOKEN, GH_TOKEN, FORCE_COLOR and NO_COLOR are unset unless a run sets them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../../cli/main.js';
import type { ExitCode } from '../../cli/exit-codes.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface CliRun {
  code: ExitCode;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  /** The test's temporary directory (also the working directory during a run). */
  readonly dir: string;
  /** IMAGE_DRIFT_STATE_DIR of this test. */
  readonly stateDir: string;
  /** Runs `image-drift ...args`; `env` entries are set (or, when undefined, unset) for this run only. */
  run(args: string[], env?: Record<string, string | undefined>): Promise<CliRun>;
}

const UNSET = ['GITHUB_TOKEN', 'GH_TOKEN', 'FORCE_COLOR', 'NO_COLOR', 'IMAGE_DRIFT_STATE_DIR', 'DOCKER_CONFIG', 'GITHUB_STEP_SUMMARY'];

function capture(stream: NodeJS.WriteStream, sink: string[]) {
  return vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write);
}

/** Registers beforeEach/afterEach hooks; call it at the top of a describe block or test file. */
export function useCli(): CliHarness {
  let dir = '';
  let savedEnv: NodeJS.ProcessEnv = {};
  let savedCwd = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'image-drift-cli-'));
    mkdirSync(join(dir, 'docker'));
    mkdirSync(join(dir, 'cwd'));
    savedEnv = { ...process.env };
    savedCwd = process.cwd();
    for (const name of UNSET) delete process.env[name];
    process.env.DOCKER_CONFIG = join(dir, 'docker');
    process.env.IMAGE_DRIFT_STATE_DIR = join(dir, 'state');
    // The AWS SDK's once-per-process Node 22 notice would land in whichever test runs first.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    process.chdir(join(dir, 'cwd'));
  });
  afterEach(() => {
    process.chdir(savedCwd);
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return join(dir, 'cwd');
    },
    get stateDir() {
      return join(dir, 'state');
    },
    async run(args, env = {}) {
      const before = { ...process.env };
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      const stdout: string[] = [];
      const stderr: string[] = [];
      const out = capture(process.stdout, stdout);
      const err = capture(process.stderr, stderr);
      try {
        const code = await main(args);
        return { code, stdout: stdout.join(''), stderr: stderr.join('') };
      } finally {
        out.mockRestore();
        err.mockRestore();
        for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
        Object.assign(process.env, before);
      }
    },
  };
}

/** Writes `files` (path relative to `root` → content) under `root`. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Runs git in `cwd` with a fixed identity and no user or system configuration. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
    },
  });
}

/** A Deployment with one container per image (containers named c0, c1…). */
export function deployment(name: string, images: string[], namespace = 'default'): string {
  const containers = images.map((image, index) => `        - name: c${index}\n          image: ${image}\n`).join('');
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    containers,
  ].join('\n');
}
