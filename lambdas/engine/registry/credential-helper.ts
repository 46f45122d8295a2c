/**
 * Docker credential helpers (`docker-credential-<name> get`), run as Docker runs them: the server address on
 * standard input, one JSON object `{ServerURL, Username, Secret}` on standard output, "credentials not found in
 * native keychain" (exit 1) when the store has nothing for that server. No shell, no secret on a command line,
 * a timeout, bounded output; every failure becomes a CredentialProblem, never a crash.
 */
import { spawn } from 'node:child_process';
import * as z from '../zod.js';
import { redactCredentialText, type CredentialProblem } from './credential-problem.js';

/** The literal a helper prints when the server has no entry (docker-credential-helpers `ErrCredentialsNotFound`). */
const NOT_FOUND = 'credentials not found in native keychain';
/** A helper username that means "the secret is an identity (refresh) token" (docker/cli `tokenUsername`). */
const TOKEN_USERNAME = '<token>';

const helperOutput = z.object({
  ServerURL: z.optional(z.string()),
  Username: z.string(),
  Secret: z.string(),
});

export interface HelperCredential {
  username: string;
  secret: string;
  kind: 'basic' | 'identity-token';
}

export type HelperResult = { found: true; credential: HelperCredential } | { found: false } | { found: false; problem: CredentialProblem };

export interface RunHelperOptions {
  /** Default 10 s; a hung helper (a keychain prompt) must not hang the audit. */
  timeoutMs?: number;
  /** Environment for the helper (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** A helper name is a program suffix, never a path or shell text. */
export function isValidHelperName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
}

/** `docker.io` is stored under Docker Hub's legacy index address; every other registry under its host. */
export function helperServerAddress(host: string): string {
  return host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
}

export function runCredentialHelper(helper: string, host: string, options: RunHelperOptions = {}): Promise<HelperResult> {
  const source = `docker-credential-${helper}`;
  const fail = (kind: CredentialProblem['kind'], message: string): HelperResult => ({ found: false, problem: { kind, source, message } });
  if (!isValidHelperName(helper)) return Promise.resolve(fail('unavailable', `invalid credential helper name ${JSON.stringify(helper)}`));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cap = 64 * 1024;

  return new Promise<HelperResult>((resolve) => {
    let settled = false;
    const done = (r: HelperResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child;
    try {
      child = spawn(source, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, shell: false });
    } catch (err) {
      done(fail('unavailable', `cannot run ${source}: ${(err as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size <= cap) into.push(chunk);
      else child.kill('SIGKILL');
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(errOut));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(fail('transient', `${source} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      done(fail('unavailable', err.code === 'ENOENT' ? `${source} is not on PATH (the Docker config names it)` : `cannot run ${source}: ${err.code ?? err.message}`));
    });
    child.stdin.on('error', () => {
      // A helper that exits without reading stdin: its exit status says what happened.
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(errOut).toString('utf8').trim();
      if (size > cap) return done(fail('unavailable', `${source} printed more than ${cap} bytes`));
      if (code !== 0) {
        // Helpers print their error on stdout (docker-credential-helpers) or stderr (others).
        const text = stdout || stderr;
        if (text === NOT_FOUND || text.toLowerCase().includes(NOT_FOUND)) return done({ found: false });
        return done(fail('unavailable', `${source} get failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${redactCredentialText(text).slice(0, 200) || 'no message'}`));
      }
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        return done(fail('unavailable', `${source} get did not print JSON`));
      }
      const parsed = helperOutput.safeParse(json);
      if (!parsed.success) return done(fail('unavailable', `${source} get printed JSON without Username and Secret`));
      const { Username, Secret } = parsed.data;
      if (!Secret) return done({ found: false });
      done({
        found: true,
        credential: Username === TOKEN_USERNAME ? { username: Username, secret: Secret, kind: 'identity-token' } : { username: Username, secret: Secret, kind: 'basic' },
      });
    });
    child.stdin.end(helperServerAddress(host));
  });
}
