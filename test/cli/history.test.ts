/**
 * `image-drift history` and `image-drift open` after real audits: two audits share a state
 * directory (the embedded store), and between them a tag is deleted from the real local registry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../support/registry.js';
import { deployment, git, useCli, writeTree } from './harness.js';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
  await registry.pushImage('acme/api', '1.0');
});

afterAll(async () => {
  await registry?.stop();
});

interface EventJson {
  image: string;
  kind: string;
  from?: string;
  to?: string;
  at: string;
  apps: string[];
}

describe('image-drift history and open', () => {
  const cli = useCli();

  /** Two audits with `state`; between them ghcr.io/acme/api:<tag> is pushed then deleted. */
  async function auditTwiceAroundADeletion(tag: string, state: string): Promise<void> {
    await registry.pushImage('acme/api', tag);
    const dir = join(cli.dir, 'gitops');
    writeTree(dir, { 'deploy/api.yaml': deployment('api', ['ghcr.io/acme/api:1.0', `ghcr.io/acme/api:${tag}`]) });
    const audit = ['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--state-dir', state, '--json'];
    const first = await cli.run(audit);
    expect(first.code).toBe(0);
    await registry.deleteTag('acme/api', tag);
    const second = await cli.run(audit);
    expect(second.code).toBe(1);
    const results = (JSON.parse(second.stdout) as { results: Array<{ image: string; status: string; drift?: string }> }).results;
    expect(results).toContainEqual(expect.objectContaining({ image: `ghcr.io/acme/api:${tag}`, status: 'TAG_MISSING', drift: 'DISAPPEARED' }));
  }

  it('open lists an image whose tag disappeared between two audits, and exits 1', async () => {
    const state = join(cli.dir, 'state-a');
    const empty = await cli.run(['open', '--state-dir', state]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('No open drifts');

    await auditTwiceAroundADeletion('2.0', state);
    const open = await cli.run(['open', '--state-dir', state, '--json']);
    expect(open.code).toBe(1);
    const drifts = (JSON.parse(open.stdout) as { drifts: Array<{ image: string; status: string; apps: string[]; locations: Array<{ file: string; line: number }> }> }).drifts;
    expect(drifts).toEqual([
      expect.objectContaining({ image: 'ghcr.io/acme/api:2.0', status: 'DISAPPEARED', locations: [{ file: 'deploy/api.yaml', line: 13 }] }),
    ]);

    const table = await cli.run(['open', '--state-dir', state]);
    expect(table.stdout).toMatch(/^DISAPPEARED {2}ghcr\.io\/acme\/api:2\.0 {2}since /m);
    expect(table.stdout).toContain('1 open drift(s)');
  });

  it('history --image lists the transition to DISAPPEARED; --status and --since filter it', async () => {
    const state = join(cli.dir, 'state-b');
    await auditTwiceAroundADeletion('3.0', state);

    const byImage = await cli.run(['history', '--state-dir', state, '--image', 'ghcr.io/acme/api:3.0', '--json']);
    expect(byImage.code).toBe(0);
    const events = (JSON.parse(byImage.stdout) as { events: EventJson[] }).events;
    expect(events.every((event) => event.image === 'ghcr.io/acme/api:3.0')).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'STATUS_CHANGED', from: 'PRESENT', to: 'DISAPPEARED' }));

    const text = await cli.run(['history', '--state-dir', state, '--image', 'ghcr.io/acme/api:3.0']);
    expect(text.stdout).toMatch(/ghcr\.io\/acme\/api:3\.0\n {4}PRESENT → DISAPPEARED/);

    const disappeared = await cli.run(['history', '--state-dir', state, '--status', 'disappeared', '--since', '7d', '--json']);
    expect((JSON.parse(disappeared.stdout) as { events: EventJson[] }).events.map((event) => [event.image, event.to])).toEqual([['ghcr.io/acme/api:3.0', 'DISAPPEARED']]);

    const future = new Date(Date.now() + 86_400_000).toISOString();
    const none = await cli.run(['history', '--state-dir', state, '--since', future]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('No history events match.\n');
  });

  it('history --until leaves out newer events; runs lists both audits, newest first, with what each changed', async () => {
    const state = join(cli.dir, 'state-c');
    const before = new Date().toISOString();
    await auditTwiceAroundADeletion('4.0', state);

    const untilBefore = await cli.run(['history', '--state-dir', state, '--until', before]);
    expect(untilBefore.stdout).toBe('No history events match.\n');
    const untilNow = await cli.run(['history', '--state-dir', state, '--since', before, '--until', new Date(Date.now() + 60_000).toISOString(), '--json']);
    expect((JSON.parse(untilNow.stdout) as { events: EventJson[] }).events).toContainEqual(expect.objectContaining({ image: 'ghcr.io/acme/api:4.0', to: 'DISAPPEARED' }));
    const backwards = await cli.run(['history', '--state-dir', state, '--since', '1h', '--until', '2h']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--until is before --since');

    const runs = await cli.run(['runs', '--state-dir', state, '--json']);
    expect(runs.code).toBe(0);
    const listed = (JSON.parse(runs.stdout) as { runs: Array<{ runId: string; startedAt: string; images: number; transitions: number }> }).runs;
    expect(listed).toHaveLength(2);
    expect(listed[0]!.startedAt >= listed[1]!.startedAt).toBe(true);
    expect(listed.map((run) => run.images)).toEqual([2, 2]);
    expect(listed[0]!.transitions).toBeGreaterThan(0);
    const text = await cli.run(['runs', '--state-dir', state, '--limit', '1']);
    expect(text.stdout).toMatch(/2 image\(s\), \d+ transition\(s\)/);
    expect(text.stdout).toContain('1 run(s)');
  });

  it('alerts of a --dir audit name the repository its git remote is (owner/name with links), never the local path', async () => {
    const dir = join(cli.dir, 'checkout');
    writeTree(dir, {
      'apps/api.yaml': [
        'apiVersion: argoproj.io/v1alpha1',
        'kind: Application',
        'metadata: {name: api}',
        'spec:',
        '  source: {repoURL: https://github.com/acme/gitops.git, path: deploy, targetRevision: HEAD}',
        '  destination: {namespace: api}',
        '',
      ].join('\n'),
      'deploy/api.yaml': deployment('api', ['ghcr.io/acme/api:never-pushed']),
    });
    git(dir, 'init', '--quiet', '--initial-branch=main');
    git(dir, 'remote', 'add', 'origin', 'git@github.com:Acme/GitOps.git');
    git(dir, 'add', '-A');
    git(dir, 'commit', '--quiet', '-m', 'initial');
    const preview = join(cli.dir, 'preview.json');
    const audit = await cli.run(['audit', '--dir', dir, '--registry-endpoint', `ghcr.io=${registry.url}`, '--state-dir', join(cli.dir, 'state-remote'), '--alerts-preview', preview, '--json']);
    expect(audit.code).toBe(1);
    const messages = JSON.parse(readFileSync(preview, 'utf8')) as Array<{ subject: string; message: string }>;
    expect(messages).toHaveLength(1);
    const text = `${messages[0]!.subject}\n${messages[0]!.message}`;
    expect(text).toContain('acme/gitops');
    expect(text).toContain('https://github.com/acme/gitops/');
    expect(text).not.toContain(cli.dir);
  });

  it('history refuses an unknown --status and an unreadable --since with exit 2', async () => {
    const status = await cli.run(['history', '--status', 'GONE']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('--status must be one of PRESENT, NEVER_PUSHED, DISAPPEARED');
    const since = await cli.run(['history', '--since', 'last tuesday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since expects a duration such as 7d');
    const limit = await cli.run(['history', '--limit', '0']);
    expect(limit.code).toBe(2);
  });
});
