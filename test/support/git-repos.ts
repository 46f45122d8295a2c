/**
 * Real git repositories in temporary directories for the revision tests: an "origin" (bare), and the
 * checkouts a user or CI gives the auditor (full clone, shallow clone, detached CI checkout, plain tree).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

export class GitSandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'idrift-revisions-'));
  /** A bare repository standing for the remote (GitHub). */
  readonly origin = join(this.root, 'origin.git');
  /** The author's working clone, pushing to origin. */
  readonly author = join(this.root, 'author');

  constructor() {
    git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', this.origin);
    git(this.root, 'clone', '--quiet', this.origin, this.author);
    git(this.author, 'checkout', '--quiet', '-B', 'main');
  }

  get originUrl(): string {
    return `file://${this.origin}`;
  }

  commit(files: Record<string, string>, message: string): string {
    writeFiles(this.author, files);
    git(this.author, 'add', '-A');
    git(this.author, 'commit', '--quiet', '-m', message);
    return git(this.author, 'rev-parse', 'HEAD');
  }

  run(...args: string[]): string {
    return git(this.author, ...args);
  }

  /** `git clone` (all branches as remote-tracking refs, tags, origin/HEAD). */
  fullClone(name: string): string {
    const dir = join(this.root, name);
    git(this.root, 'clone', '--quiet', this.originUrl, dir);
    return dir;
  }

  /** `git clone --depth 1`: one branch, shallow. */
  shallowClone(name: string): string {
    const dir = join(this.root, name);
    git(this.root, 'clone', '--quiet', '--depth', '1', this.originUrl, dir);
    return dir;
  }

  /** What actions/checkout gives on a push: one commit fetched as origin/<branch>, HEAD detached at it, no tags. */
  ciCheckout(name: string, branch: string): string {
    const dir = join(this.root, name);
    const sha = git(this.author, 'rev-parse', `origin/${branch}`);
    mkdirSync(dir);
    git(dir, 'init', '--quiet');
    git(dir, 'remote', 'add', 'origin', this.originUrl);
    git(dir, 'fetch', '--quiet', '--no-tags', '--prune', '--depth=1', 'origin', `+${sha}:refs/remotes/origin/${branch}`);
    git(dir, 'checkout', '--quiet', '--detach', sha);
    return dir;
  }

  /** The files of a branch without any git metadata (a downloaded tarball, extracted). */
  plainTree(name: string, ref = 'main'): string {
    const dir = join(this.root, name);
    mkdirSync(dir);
    const archive = join(this.root, `${name}.tar`);
    git(this.author, 'archive', '--format=tar', `--output=${archive}`, ref);
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    return dir;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
