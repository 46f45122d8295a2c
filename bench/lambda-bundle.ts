/**
 * Lambda bundle benchmark: bundles lambdas/audit/handler.ts with esbuild as the construct and `npm run build`
 * do (scripts/build.mjs: ESM, minified, node24 target, no source map, `@aws-sdk/*` external because the runtime
 * provides it, and two lazily required parts of undici the engine never reaches), and
 * once more with the AWS SDK bundled, for comparison. Reports the sizes, and the module init time
 * of the deployed variant: a fresh Node process importing the bundle (median of several runs),
 * which is the part of a cold start the code controls.
 *
 *   npx tsx bench/lambda-bundle.ts [--runs 7]
 *
 * Target (issue 11): under 1 MB, no source map shipped. The import time is measured without
 * --enable-source-maps, as deployed. Where the bytes go, per package: `npm run bundle-analysis`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

import { basename, dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bytesByPackage } from '../scripts/bundle-analysis.mjs';
import { LAMBDA_EXTERNAL_MODULES, lambdaBuildOptions } from '../scripts/build.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 7;
async function bundle(outfile: string, external: string[]): Promise<{ bytes: number; gzipBytes: number; files: string[]; largest: Record<string, number> }> {
  const result = await build(lambdaBuildOptions(outfile, { external, metafile: true }));
  const content = readFileSync(outfile);
  const largest = Object.fromEntries(bytesByPackage(result.metafile!).slice(0, 8));
  return { bytes: statSync(outfile).size, gzipBytes: gzipSync(content).length, files: readdirSync(dirname(outfile)).filter((f) => f.startsWith(basename(outfile))), largest };
}

/** Wall-clock and CPU (user + system) milliseconds of one import; CPU time varies less on a shared machine. */
function importMs(file: string): { wall: number; cpu: number } {
  // NODE_PATH does not apply to ESM; a file inside the project resolves @aws-sdk/* from node_modules.
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  if (result.status !== 0) throw new Error(`import failed: ${result.stderr}`);
  const [wall, cpu] = result.stdout.trim().split(' ').map(Number);
  return { wall: wall ?? NaN, cpu: cpu ?? NaN };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.bench-bundle-'));
  try {
    const deployed = await bundle(join(dir, 'handler.mjs'), LAMBDA_EXTERNAL_MODULES);
    const withSdk = await bundle(join(dir, 'handler-with-sdk.mjs'), LAMBDA_EXTERNAL_MODULES.filter((m) => m !== '@aws-sdk/*'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const initDeployed = Array.from({ length: RUNS }, () => importMs(join(dir, 'handler.mjs')));
    const initWithSdk = Array.from({ length: RUNS }, () => importMs(join(dir, 'handler-with-sdk.mjs')));
    // MiB, as Lambda and most tools count; the decimal MB figure is 4.9% larger.
    const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 1000) / 1000;
    console.log(
      JSON.stringify(
        {
          bench: 'lambda-bundle',
          deployed: {
            awsSdk: 'external (Lambda runtime)',
            bytes: deployed.bytes,
            megabytes: Math.round(deployed.bytes / 1000) / 1000,
            mebibytes: mb(deployed.bytes),
            gzipMegabytes: mb(deployed.gzipBytes),
            files: deployed.files,
            sourceMapShipped: deployed.files.some((f) => f.endsWith('.map')),
            initMsMedian: Math.round(median(initDeployed.map((r) => r.wall))),
            initCpuMsMedian: Math.round(median(initDeployed.map((r) => r.cpu))),
            largestPackagesBytes: deployed.largest,
          },
          withSdkBundled: {
            bytes: withSdk.bytes,
            mebibytes: mb(withSdk.bytes),
            gzipMegabytes: mb(withSdk.gzipBytes),
            initMsMedian: Math.round(median(initWithSdk.map((r) => r.wall))),
            initCpuMsMedian: Math.round(median(initWithSdk.map((r) => r.cpu))),
          },
          loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
          target: 'under 1 MB (1,000,000 bytes), no source map',
          meetsTarget: deployed.bytes < 1_000_000 && !deployed.files.some((f) => f.endsWith('.map')),
          runs: RUNS,
          note: 'init = fresh node process importing the bundle (wall clock, and CPU time, which a busy machine skews less); in the deployed variant @aws-sdk/* loads from node_modules as it would from the runtime; largestPackagesBytes: npm run bundle-analysis',
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

