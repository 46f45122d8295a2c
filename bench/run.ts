/**
 * `npm run bench`: runs every benchmark in its own process, one after another (they measure
 * wall time and RSS, so they must not share a process or run in parallel), and prints each
 * one's JSON. Pass names to run a subset: `npm run bench -- registry history`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Record<string, string[]> = {
  'desired-state': ['bench/desired-state.ts'],
  'pull-request': ['bench/pull-request.ts'],
  registry: ['bench/registry.ts'],
  history: ['bench/history.ts'],
  'lambda-bundle': ['bench/lambda-bundle.ts'],
  'helm-charts': ['bench/helm-charts.ts'],
  startup: ['bench/startup.ts'],
  'worst-case': ['bench/worst-case.ts'],
};

const root = join(import.meta.dirname, '..');
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
let failed = 0;
for (const name of names) {
  const args = BENCHES[name];
  if (!args) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n## ${name}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  console.log(`(${name}: exit ${result.status}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (result.status !== 0) failed++;
}
if (failed) process.exitCode = 1;
