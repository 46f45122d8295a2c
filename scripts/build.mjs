#!/usr/bin/env node
/**
 * `npm run build` (also run by `prepare`, so `npm ci` and `npm pack` build it): compiles the TypeScript with esbuild.
 *
 *   dist/cli/image-drift.js   the CLI (package.json "bin"): ESM, one chunk per lazily imported command, npm
 *                             dependencies left as imports (npm installs them), so no TypeScript loader runs.
 *   dist/lambda/handler.mjs   the audit Lambda as deployed: minified, `@aws-sdk/*` from the runtime, no source map.
 *   dist/construct/index.js   the CDK construct library (`image-drift-auditor/construct`): ESM, npm dependencies and
 *                             the aws-cdk-lib/constructs peers left as imports; it deploys dist/lambda/handler.mjs as is,
 *                             so an app that installs the package needs no esbuild, lock file or TypeScript loader.
 *
 * Plain JavaScript on purpose: it must run before anything is compiled.
 *   node scripts/build.mjs [--cli] [--lambda] [--construct]   (all when none is given)
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** ESM bundles of CommonJS dependencies need a `require`; the alias avoids clashing with one the bundle hoists. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __imageDriftCreateRequire } from 'node:module'; const require = __imageDriftCreateRequire(import.meta.url);";

/**
 * Left out of the Lambda bundle, as lib/image-drift-auditor.ts's LAMBDA_EXTERNAL_MODULES (the construct bundles with
 * the same list): the AWS SDK (the runtime provides it), undici's llhttp build without WebAssembly SIMD and its
 * fetch body extractor (both required lazily, only on paths the engine never takes).
 */
export const LAMBDA_EXTERNAL_MODULES = ['@aws-sdk/*', '*/llhttp/llhttp-wasm.js', '*/web/fetch/body.js'];

/** The Lambda bundle options; bench/lambda-bundle.ts measures exactly these. */
export function lambdaBuildOptions(outfile, overrides = {}) {
  return {
    entryPoints: [join(ROOT, 'lambdas/audit/handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    banner: { js: ESM_REQUIRE_BANNER },
    external: LAMBDA_EXTERNAL_MODULES,
    logLevel: 'error',
    ...overrides,
  };
}

export async function buildCli(outdir = join(ROOT, 'dist/cli')) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { 'image-drift': join(ROOT, 'bin/image-drift.ts') },
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // npm installs the dependencies next to the package: importing them keeps the build small and fast.
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: false,
    logLevel: 'error',
  });
}

export async function buildLambda(outfile = join(ROOT, 'dist/lambda/handler.mjs')) {
  rmSync(dirname(outfile), { recursive: true, force: true });
  await build(lambdaBuildOptions(outfile));
}

export async function buildConstruct(outdir = join(ROOT, 'dist/construct')) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { index: join(ROOT, 'lib/index.ts') },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: false,
    logLevel: 'error',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const all = !args.includes('--cli') && !args.includes('--lambda') && !args.includes('--construct');
  if (all || args.includes('--cli')) await buildCli();
  if (all || args.includes('--lambda')) await buildLambda();
  if (all || args.includes('--construct')) await buildConstruct();
}
