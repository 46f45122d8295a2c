/**
 * Output hygiene, end to end through the CLI:
 * - a registry that echoes our Authorization header (and the token) in its error replies never gets the credential
 *   printed in any format, on stderr, or stored in history; a non-JSON reply is never copied at all;
 * - ANSI/OSC-8 escapes, CR and bidi overrides in image strings and file names reach no output unescaped.
 * The echoing registry is hand-written (a real registry never echoes credentials): it speaks the distribution
 * wire protocol for `/v2/` (Basic challenge) and manifests, on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderNotification } from '../../lambdas/engine/notify/render.js';
import { displaySafe, redactSecrets } from '../../lambdas/engine/hygiene.js';
import { deployment, useCli, writeTree } from './harness.js';

const USER = 'robot';
const SECRET = 'hunter2-registry-secret-4711';
const BASIC = Buffer.from(`${USER}:${SECRET}`).toString('base64');

let server: Server;
let echoUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const auth = req.headers.authorization;
    const path = req.url ?? '/';
    if (!auth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="echo"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    // Echo the header and the password it carries, decoded, as a careless registry might.
    const password = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8').split(':').slice(1).join(':');
    if (path.includes('/html/')) {
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end(`<html><body>Forbidden. You sent: Authorization: ${auth}; password=${password}</body></html>`);
      return;
    }
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ errors: [{ code: 'DENIED', message: `denied: you sent ${auth} (password ${password})` }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  echoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

describe('credentials a registry echoes back are never printed or stored', () => {
  const cli = useCli();
  const dockerConfig = (auth = BASIC) => {
    writeFileSync(join(process.env.DOCKER_CONFIG ?? '', 'config.json'), JSON.stringify({ auths: { 'echo.example': { auth } } }));
  };

  for (const format of ['table', 'json', 'markdown', 'sarif']) {
    it(`keeps the echoed Basic header and password out of --format ${format}`, async () => {
      dockerConfig();
      const run = await cli.run(['check', 'echo.example/team/app:v1', 'echo.example/html/app:v1', '--registry-endpoint', `echo.example=${echoUrl}`, '--format', format]);
      const all = run.stdout + run.stderr;
      expect(run.stdout).toContain('echo.example/team/app:v1');
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain(BASIC);
      expect(all).not.toContain('Forbidden. You sent');
      if (format === 'json') {
        const report = JSON.parse(run.stdout) as { results: Array<{ image: string; evidence: { authenticated?: { message?: string } } }> };
        const echoed = report.results.find((result) => result.image === 'echo.example/team/app:v1');
        expect(echoed?.evidence.authenticated?.message).toBe('denied: you sent Basic [redacted] (password [redacted])');
        const html = report.results.find((result) => result.image === 'echo.example/html/app:v1');
        expect(html?.evidence.authenticated?.message).toMatch(/^the reply was not JSON \(\d+ bytes, not shown\)$/);
      }
    });
  }

  it('stores no echoed credential in history', async () => {
    dockerConfig();
    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/app.yaml': deployment('app', ['echo.example/team/app:v1']) });
    const audit = await cli.run(['audit', '--dir', dir, '--registry-endpoint', `echo.example=${echoUrl}`, '--json']);
    expect(audit.stdout).toContain('echo.example/team/app:v1');
    const history = await cli.run(['history', '--json']);
    const open = await cli.run(['open', '--json']);
    for (const text of [audit.stdout, audit.stderr, history.stdout, open.stdout]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(BASIC);
    }
  });

  it('redacts a token-shaped password that a registry decodes and echoes', async () => {
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    dockerConfig(Buffer.from(`me:${token}`).toString('base64'));
    const run = await cli.run(['check', 'echo.example/team/app:v1', '--registry-endpoint', `echo.example=${echoUrl}`, '--json']);
    expect(run.stdout).toContain('(password [redacted])');
    expect(run.stdout + run.stderr).not.toContain(token);
  });
});

describe('control characters and bidi overrides are shown, never obeyed', () => {
  const cli = useCli();
  const hostile = 'ghcr.io/acme/api:1.0\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\r\u202eOK';
  const gitops = () => {
    const root = join(cli.dir, 'gitops');
    const yaml = deployment('app', ['PLACEHOLDER']).replace('PLACEHOLDER', JSON.stringify(hostile));
    writeTree(root, { 'deploy/\u001b[2Japp\u202e.yaml': yaml });
    return root;
  };

  for (const format of ['table', 'markdown', 'sarif']) {
    it(`escapes them in --format ${format}`, async () => {
      const run = await cli.run(['audit', '--dir', gitops(), '--no-history', '--format', format]);
      expect(run.stdout).toContain('acme/api');
      expect(run.stdout).not.toMatch(CONTROL);
      expect(run.stdout).not.toContain('\r');
      // The characters are visible as escapes (Markdown doubles the backslash; SARIF is JSON text).
      expect(run.stdout).toMatch(/\\{1,2}x1B/);
      expect(run.stdout).toMatch(/\\{1,2}u202E/);
    });
  }

  it('keeps the raw text in --format json, where JSON escapes control characters itself', async () => {
    const run = await cli.run(['audit', '--dir', gitops(), '--no-history', '--format', 'json']);
    const report = JSON.parse(run.stdout) as { results: Array<{ image: string }> };
    expect(report.results[0]?.image).toBe(hostile);
    expect(run.stdout).not.toContain('\u001b');
  });

  it('escapes them in the alert e-mail text and subject', () => {
    const [message] = renderNotification(
      [
        {
          kind: 'new',
          image: hostile,
          status: 'INVALID_REFERENCE',
          since: '2026-12-05T07:00:00.000Z',
          verdict: 'INVALID_REFERENCE',
          hint: `line one\r\u001b[1Afake line`,
          apps: ['app\u202e'],
          locations: [{ file: 'deploy/\u001b[2Japp.yaml', line: 3 }],
        },
      ],
      { repository: 'acme/\u001b[31mgitops', runId: 'r1', at: new Date('2026-12-05T07:00:00Z') },
    );
    expect(message?.text).not.toMatch(CONTROL);
    expect(message?.text).not.toContain('\r');
    expect(message?.subject).not.toMatch(CONTROL);
    expect(message?.text).toContain('\\x1B');
  });
});

describe('displaySafe and redactSecrets', () => {
  it('escapes C0, C1, DEL and bidi controls; prose keeps its words on one line', () => {
    expect(displaySafe('a\u001b[31mb\u009bc\u007fd\u202ee\u2066f')).toBe('a\\x1B[31mb\\x9Bc\\x7Fd\\u202Ee\\u2066f');
    expect(displaySafe('one\ntwo\r\nthree\tfour', true)).toBe('one two three four');
    expect(displaySafe('image\nname')).toBe('image\\x0Aname');
  });

  it('redacts Basic and Bearer values and token shapes, not prose about them', () => {
    expect(redactSecrets('Authorization: Bearer eyJhbGciOi.x-y_z')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets('sent Basic dXNlcjpwYXNz')).toBe('sent Basic [redacted]');
    expect(redactSecrets('token ghp_0123456789abcdefghijABCDEFGHIJ here')).toBe('token [redacted] here');
    expect(redactSecrets('the token endpoint wants basic authentication and a bearer token')).toBe('the token endpoint wants basic authentication and a bearer token');
  });
});
