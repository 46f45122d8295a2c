/**
 * The package `npm pack` makes is what `npx image-drift` runs elsewhere: compiled JavaScript only, every import a
 * Node built-in or a declared dependency (npm installs nothing else), and a bin that starts without a TypeScript
 * loader. Installing from the npm registry is not possible in a test (loopback only), so the tarball is unpacked
 * into a temporary node_modules whose dependencies are links to this project's installed production dependencies.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `commander`, `@aws-sdk/client-dynamodb` from `@aws-sdk/client-dynamodb/dist/x`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

describe('the packed npm package', () => {
  let work: string;
  let installed: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'idr-pack-'));
    // `npm pack` runs `prepare` (the build) first, as publishing would.
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(out) as Array<{ filename: string }>;
    if (!packed) throw new Error('npm pack reported no tarball');
    const modules = join(work, 'app', 'node_modules');
    installed = join(modules, 'image-drift-auditor');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const target = join(ROOT, 'node_modules', dep);
      try {
        mkdirSync(join(modules, dep, '..'), { recursive: true });
        symlinkSync(target, join(modules, dep), 'dir');
      } catch {
        // an optional dependency that is not installed here
      }
    }
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled CLI and no TypeScript source', () => {
    const files = filesUnder(installed).map((file) => file.slice(installed.length + 1));
    expect(files).toContain(manifest.bin['image-drift']);
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
  });

  it('imports nothing but Node built-ins and declared dependencies', () => {
    // aws-cdk-lib and constructs: peers of dist/construct/, which the CDK app installing it brings.
    // @aws-cdk/lambda-layer-kubectl-v35: optional (npm installs it by default); the construct adds its helm layer.
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
    ]);
    const builtins = new Set(builtinModules);
    const undeclared = new Set<string>();
    const seen = new Set<string>();
    for (const file of filesUnder(join(installed, 'dist'))) {
      const code = readFileSync(file, 'utf8');
      // esbuild writes `import … from "x"`, `} from "x"`, `import "x"` at line starts and `import("x")`.
      const specifiers = [
        ...code.matchAll(/^(?:import\b[^;"]*?from\s*|import\s*|\}\s*from\s*)"([^"]+)"/gm),
        ...code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
      ].map((m) => m[1] ?? '');
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) continue;
        seen.add(packageName(specifier));
        if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
        if (!declared.has(packageName(specifier))) undeclared.add(specifier);
      }
    }
    expect([...undeclared]).toEqual([]);
    // The scan sees the imports (an empty scan would prove nothing).
    expect([...seen]).toEqual(expect.arrayContaining(['commander', 'zod', 'node:fs']));
  });

  it('runs its bin for --version and --help without a TypeScript loader', () => {
    const bin = join(installed, manifest.bin['image-drift'] ?? '');
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
    const version = spawnSync(process.execPath, [bin, '--version'], { cwd: work, encoding: 'utf8', env });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(manifest.version);
    const help = spawnSync(process.execPath, [bin, '--help'], { cwd: work, encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: image-drift /m);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('audits a directory from the installed package (engine chunks load)', () => {
    const bin = join(installed, manifest.bin['image-drift'] ?? '');
    const result = spawnSync(process.execPath, [bin, 'desired', '--offline', '--dir', join(ROOT, 'examples/gitops'), '--json'], { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { images: Array<{ image: string }> };
    expect(report.images.map((entry) => entry.image)).toContain('ghcr.io/acme-corp/auth-api:dev-latest');
  });
});
