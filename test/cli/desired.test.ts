/**
 * `image-drift desired --dir examples/gitops --json`: the field names other tools read, and the
 * incident's image located at the dev overlay line that sets it. No registry traffic.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useCli } from './harness.js';

interface DesiredJson {
  source: { kind: string; location: string };
  images: Array<{
    image: string;
    written: string;
    app: string;
    appKind: string;
    workload: { kind: string; namespace?: string; name: string };
    container: string;
    locations: Array<{ file: string; line: number }>;
  }>;
  findings: Array<{ file: string; line: number; code: string; severity: string; message: string }>;
}

describe('image-drift desired', () => {
  const cli = useCli();
  const example = join(REPO_ROOT, 'examples/gitops');

  it('--json keeps the stable field names of images and findings', async () => {
    const run = await cli.run(['desired', '--offline', '--dir', example, '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const state = JSON.parse(run.stdout) as DesiredJson;
    expect(Object.keys(state)).toEqual(expect.arrayContaining(['source', 'images', 'findings']));
    expect(state.images.length).toBeGreaterThan(5);
    for (const image of state.images) {
      expect(image).toEqual(
        expect.objectContaining({
          image: expect.any(String),
          written: expect.any(String),
          app: expect.any(String),
          workload: expect.objectContaining({ kind: expect.any(String), name: expect.any(String) }),
          container: expect.any(String),
          locations: expect.any(Array),
        }),
      );
      for (const location of image.locations) expect(location).toEqual({ file: expect.any(String), line: expect.any(Number) });
    }
    expect(state.findings.length).toBeGreaterThan(0);
    for (const finding of state.findings) {
      expect(finding).toEqual(expect.objectContaining({ file: expect.any(String), line: expect.any(Number), code: expect.any(String), message: expect.any(String) }));
    }
  });

  it('places auth-api-dev on ghcr.io/acme-corp/auth-api:dev-latest at the dev overlay line', async () => {
    const run = await cli.run(['desired', '--offline', '--dir', example, '--json']);
    const state = JSON.parse(run.stdout) as DesiredJson;
    const devAuthApi = state.images.filter((image) => image.app === 'auth-api-dev' && image.container === 'auth-api');
    expect(devAuthApi).toEqual([
      expect.objectContaining({
        image: 'ghcr.io/acme-corp/auth-api:dev-latest',
        workload: { kind: 'Deployment', namespace: 'auth-dev', name: 'auth-api' },
      }),
    ]);
    // Base `image:` line first, then the overlay entry that decides the value (its newTag line).
    expect(devAuthApi[0]!.locations.at(-1)).toEqual({ file: 'services/auth-api/overlays/dev/kustomization.yaml', line: 8 });
    expect(devAuthApi[0]!.locations[0]!.file).toBe('services/auth-api/base/deployment.yaml');
  });

  it('the table lists the same image with its location chain, without colour', async () => {
    const run = await cli.run(['desired', '--offline', '--dir', example]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ghcr.io/acme-corp/auth-api:dev-latest');
    expect(run.stdout).toContain('services/auth-api/overlays/dev/kustomization.yaml:8');
    expect(run.stdout).not.toMatch(/\x1b\[/);
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout.endsWith('\n\n')).toBe(false);
  });

  it('exits 2 for a --dir that does not exist', async () => {
    const run = await cli.run(['desired', '--dir', join(cli.dir, 'nowhere')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no such directory');
  });

  it('--path limits the listing, and a --path with nothing under it is refused (exit 2), not an empty success', async () => {
    const billing = await cli.run(['desired', '--offline', '--dir', example, '--path', './services/billing/', '--json']);
    expect(billing.code).toBe(0);
    expect((JSON.parse(billing.stdout) as DesiredJson).images.map((image) => image.image)).toEqual(['ghcr.io/Acme-Corp/billing:1.2.0']);
    const typo = await cli.run(['desired', '--offline', '--dir', example, '--path', 'services/biling']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--path services/biling: ');
    expect(typo.stdout).toBe('');
  });

  it('exits 2, not 3, for a --dir that is a file', async () => {
    const file = join(example, 'services/billing/deployment.yaml');
    const run = await cli.run(['desired', '--dir', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`image-drift: --dir ${file}: not a directory (give the repository's root directory)\n`);
  });
});
