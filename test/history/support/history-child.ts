/**
 * A child process for the crash tests: opens the embedded history store in `dir` and records one run of
 * `count` synthetic images, all with the same verdict. Prints `history-phase` when trackDrift starts and
 * `done <transitions>` at the end, so the parent can `kill -9` it at a chosen point of the history phase.
 *
 * Usage: node --import tsx history-child.ts <dir> <runId> <verdict> <count> <iso-time>
 */
import { trackDrift } from '../../../lambdas/engine/history/index.js';
import { openLocalHistoryStore } from '../../../lambdas/engine/history/local-store.js';
import type { Verdict } from '../../../lambdas/engine/model.js';
import { result } from '../fixtures.js';

const [dir = '', runId = '', verdict = 'OK', countText = '0', time = ''] = process.argv.slice(2);
const at = new Date(time);
const images = Array.from({ length: Number(countText) }, (_, i) => `ghcr.io/acme/crash-${String(i).padStart(5, '0')}:1.0.0`);
const local = await openLocalHistoryStore(dir);
process.stdout.write('history-phase\n');
const out = await trackDrift(
  { runId, repository: 'org/gitops', startedAt: at, durationMs: 1, results: images.map((image) => result(image, verdict as Verdict, { apps: ['web', 'api'] })) },
  { store: local.store, clock: () => at },
);
await local.close();
process.stdout.write(`done ${out.transitions.length} ${out.errors.length}\n`);

