/**
 * A child process for the lock race test: prints `ready` once loaded and waits for a line on stdin (so that
 * racers start together; with `startAt` = `now`, it starts at once), then opens the embedded history store in `dir`, holds it `holdMs`, closes it. Prints `acquired <epoch ms>` and
 * `released <epoch ms>` (just before closing), or `locked` when another process holds the store.
 *
 * Usage: node --import tsx lock-child.ts <dir> <stdin|now> <holdMs>
 */
import { HistoryStateLockedError, openLocalHistoryStore } from '../../../lambdas/engine/history/local-store.js';

const [dir = '', startAt = 'now', holdMs = '0'] = process.argv.slice(2);
if (startAt === 'stdin') {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}
try {
  const local = await openLocalHistoryStore(dir);
  process.stdout.write(`acquired ${Date.now()}\n`);
  // Use the store while holding it: a second holder would corrupt or fail exactly here.
  await local.store.loadActiveStates();
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  process.stdout.write(`released ${Date.now()}\n`);
  await local.close();
} catch (err) {
  if (!(err instanceof HistoryStateLockedError)) throw err;
  process.stdout.write('locked\n');
}
