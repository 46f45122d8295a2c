#!/usr/bin/env node
/**
 * Where the Lambda bundle's bytes go: builds it with scripts/build.mjs's lambdaBuildOptions and an esbuild metafile,
 * then sums each input's bytesInOutput per npm package (or per engine folder for the project's own code).
 *
 *   npm run bundle-analysis -- [--top 25] [--files]
 *
 * --files lists single inputs instead of packages. Sizes are minified bytes in the deployed bundle.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lambdaBuildOptions } from './build.mjs';

const args = process.argv.slice(2);
const topFlag = args.indexOf('--top');
const TOP = topFlag >= 0 ? Number(args[topFlag + 1]) : 25;
const BY_FILE = args.includes('--files');

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

const dir = mkdtempSync(join(tmpdir(), 'image-drift-bundle-'));
try {
  const outfile = join(dir, 'handler.mjs');
  const result = await build(lambdaBuildOptions(outfile, { metafile: true }));
  const output = Object.values(result.metafile.outputs)[0];
  const sums = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const key = BY_FILE ? input : groupOf(input);
    sums.set(key, (sums.get(key) ?? 0) + bytesInOutput);
  }
  const rows = [...sums].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  console.log(`bundle ${statSync(outfile).size} bytes`);
  for (const [key, bytes] of rows) console.log(`${String(bytes).padStart(9)}  ${key}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
