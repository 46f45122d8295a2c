import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { LoadBudget } from '../../lambdas/engine/sources/relevance.js';
import { extractArchive, readTar, writeTar } from '../../lambdas/engine/sources/tarball.js';
import { gitHubArchive } from '../support/github-archive.js';
import { GIT_ENV, GitSandbox } from '../support/git-repos.js';

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('snapshot tar', () => {
  it('round-trips long, nested and non-ASCII paths and binary content byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idrift-tar-'));
    temporary.push(dir);
    const files = new Map<string, Buffer>([
      [`${'deep/'.repeat(40)}values-production-eu-west-1.yaml`, Buffer.from('image: acme/web:1\n')],
      ['apps/café/déploiement.yaml', Buffer.from('kind: Deployment\n')],
      ['bin.yaml', Buffer.from([0, 1, 2, 255, 254])],
      ['empty.yaml', Buffer.alloc(0)],
    ]);
    await writeTar(join(dir, 'snapshot.tar'), files);
    const read = await readTar(join(dir, 'snapshot.tar'));
    expect([...read.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [path, content] of files) expect(read.get(path)?.equals(content), path).toBe(true);
  });
});

describe('repository archives', () => {
  it('hands out the pax global header of a real `git archive` (comment=<commit>), files extracted as before', async () => {
    const sandbox = new GitSandbox();
    try {
      const sha = sandbox.commit({ 'deploy/d.yaml': 'image: ghcr.io/acme/web:1\n' }, 'first');
      const archive = execFileSync('git', ['archive', '--format=tar.gz', '--prefix=acme-gitops-0123456/', 'HEAD'], { cwd: sandbox.author, env: GIT_ENV });
      const records: Record<string, string>[] = [];
      const files = await extractArchive(Readable.from([archive]), new LoadBudget(), { stripComponents: 1, gzip: true, onPaxGlobal: (r) => records.push(r) });
      expect(records).toEqual([{ comment: sha }]);
      expect([...files.keys()]).toEqual(['deploy/d.yaml']);
    } finally {
      sandbox.cleanup();
    }
  });

  it('calls nothing for an archive without a pax global header', async () => {
    const records: Record<string, string>[] = [];
    const archive = await gitHubArchive('acme', 'gitops', 'e'.repeat(40), { 'a.yaml': 'a: 1\n' }, { paxComment: false });
    const files = await extractArchive(Readable.from([archive]), new LoadBudget(), { stripComponents: 1, gzip: true, onPaxGlobal: (r) => records.push(r) });
    expect(records).toEqual([]);
    expect([...files.keys()]).toEqual(['a.yaml']);
  });
});
