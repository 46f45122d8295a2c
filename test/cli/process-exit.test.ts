import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the image-drift process', () => {
  it('waits out retry back-offs instead of exiting mid-run when nothing else keeps Node alive', () => {
    // Port 1 refuses connections: the checker retries with back-off sleeps and then says UNREACHABLE.
    // Node exits with 13 (unsettled top-level await) if those sleeps do not hold the event loop.
    const result = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/image-drift.js'), 'check', 'ghcr.io/acme/auth-api:latest', '--registry-endpoint', 'ghcr.io=http://127.0.0.1:1', '--json'],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'idr-docker-')), GITHUB_TOKEN: '', GH_TOKEN: '' }, timeout: 60_000 },
    );
    // 3, not 13: the run ended normally, and an image without a verdict makes it incomplete (fail closed).
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('1 of 1 image was not verified');
    const report = JSON.parse(result.stdout) as { results: { image: string; status: string }[] };
    expect(report.results).toEqual([expect.objectContaining({ image: 'ghcr.io/acme/auth-api:latest', status: 'UNREACHABLE' })]);
  });
});
