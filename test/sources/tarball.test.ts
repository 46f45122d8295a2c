import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTar, writeTar } from '../../lambdas/engine/sources/tarball.js';

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
