#!/usr/bin/env node
/**
 * Where the Lambda bundle's bytes go: builds it with scripts/build.mjs's lambdaBuildOptions and an esbuild metafile,
 * then sums each input's bytesInOutput per npm package (or per engine folder for the project's own code).
 *
 *   npm run bundle-analysis -- [--top 25] [--files]
 *
 * --files lists single inputs instead of packages. Sizes are minified bytes in the deployed bundle.
 * bench/lambda-bundle.ts reports the largest packages with `bytesByPackage`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { lambdaBuildOptions } from './build.mjs';

/** node_modules/@scope/name/... → @scope/name; lambdas/engine/x/... → lambdas/engine/x. */
function groupOf(input) {
  const nm = input.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = input.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const parts = input.split('/');
  return parts.slice(0, parts[0] === 'lambdas' && parts[1] === 'engine' ? 3 : 2).join('/');
}

/** Bytes in the (single) output per package or engine folder (per input file with `byFile`), largest first. */
export function bytesByPackage(metafile, { byFile = false } = {}) {
  const sums = new Map();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = byFile ? input : groupOf(input);
      sums.set(key, (sums.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const topFlag = args.indexOf('--top');
  const top = topFlag >= 0 ? Number(args[topFlag + 1]) : 25;
  const dir = mkdtempSync(join(tmpdir(), 'image-drift-bundle-'));
  try {
    const outfile = join(dir, 'handler.mjs');
    const result = await build(lambdaBuildOptions(outfile, { metafile: true }));
    console.log(`bundle ${statSync(outfile).size} bytes`);
    for (const [key, bytes] of bytesByPackage(result.metafile, { byFile: args.includes('--files') }).slice(0, top)) {
      console.log(`${String(bytes).padStart(9)}  ${key}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
