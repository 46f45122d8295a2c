/**
 * `--exclude GLOB` and the config's `exclude:`: the example's local-development compose file and its
 * debugging pod leave the desired state (no image, no UNREFERENCED unit), and a note counts the files.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useCli } from './harness.js';

interface DesiredJson {
  images: Array<{ app: string; image: string }>;
  findings: Array<{ file: string; code: string }>;
  notes?: string[];
}

describe('image-drift desired --exclude', () => {
  const cli = useCli();
  const example = join(REPO_ROOT, 'examples/gitops');

  it('--exclude (repeatable) and the config\'s exclude: add up; excluded files are not audited', async () => {
    const base = JSON.parse((await cli.run(['desired', '--offline', '--dir', example, '--json'])).stdout) as DesiredJson;
    expect(base.images.some((image) => image.app === 'compose/docker-compose.yaml')).toBe(true);
    expect(base.findings.filter((finding) => finding.code === 'UNREFERENCED').map((finding) => finding.file)).toEqual(['compose/docker-compose.yaml', 'ops/debug/toolbox.yaml']);

    writeFileSync(join(cli.dir, 'image-drift.config.yaml'), 'exclude:\n  - ops/debug\n');
    const run = await cli.run(['desired', '--offline', '--dir', example, '--json', '--exclude', 'compose/']);
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as DesiredJson;
    expect(state.images.filter((image) => image.app === 'compose/docker-compose.yaml' || image.app === 'ops/debug')).toEqual([]);
    expect(state.images.length).toBe(base.images.length - 3);
    expect(state.findings.filter((finding) => finding.code === 'UNREFERENCED')).toEqual([]);
    expect(state.notes).toContain('exclude: 2 files matching ops/debug, compose/ were not loaded');
  });

  it('rejects an exclude: entry that climbs out of the repository', async () => {
    writeFileSync(join(cli.dir, 'image-drift.config.yaml'), 'exclude:\n  - ../secrets/**\n');
    const run = await cli.run(['desired', '--offline', '--dir', example, '--json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('exclude[0]: must be a repository-relative glob');
  });
});
