/**
 * Start-up benchmark: `image-drift --version` through the built bin (dist/cli/image-drift.js, what npm links)
 * against `node -e 0`, each a fresh process, median of several runs. Goal (issue 11): at most 3× `node -e 0`.
 *
 *   npx tsx bench/startup.ts [--runs 9]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildCli } from '../scripts/build.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 9;
const BIN = join(ROOT, 'dist/cli/image-drift.js');

function timeMs(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

if (!existsSync(BIN)) await buildCli();
const node: number[] = [];
const version: number[] = [];
const help: number[] = [];
// Interleaved, so that a change in machine load hits all three alike.
for (let i = 0; i < RUNS; i++) {
  node.push(timeMs(['-e', '0']));
  version.push(timeMs([BIN, '--version']));
  help.push(timeMs([BIN, '--help']));
}
const ratio = median(version) / median(node);
console.log(
  JSON.stringify(
    {
      bench: 'startup',
      runs: RUNS,
      nodeEmptyMsMedian: Math.round(median(node)),
      versionMsMedian: Math.round(median(version)),
      helpMsMedian: Math.round(median(help)),
      versionVsNode: Math.round(ratio * 100) / 100,
      goal: '<= 3',
      meetsGoal: ratio <= 3,
      note: 'fresh node processes; no TypeScript loader (the bin is compiled JavaScript)',
    },
    null,
    2,
  ),
);
