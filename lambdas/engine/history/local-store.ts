/**
 * Embedded history store for the CLI: dynalite (DynamoDB on LevelDB) in process on 127.0.0.1,
 * persisted under `<stateDir>/dynamodb`, driven through the same DynamoHistoryStore code as the Lambda.
 * A lock file keeps a second process from opening the same directory.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { DynamoHistoryStore, ensureHistoryTable } from './dynamodb.js';
import { HISTORY_TABLE_DESIGN } from './table-design.js';

export const DEFAULT_STATE_DIR = '.image-drift';

export class HistoryStateLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `the history in ${stateDir} is in use by process ${pid} (lock file ${lockFile}). ` +
        'Wait for that audit to finish, use another --state-dir, or delete the lock file if that process is gone.',
    );
    this.name = 'HistoryStateLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(stateDir: string): Promise<string> {
  const lockFile = join(stateDir, 'dynamodb.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(`${process.pid}\n${new Date().toISOString()}\n`);
      await fh.close();
      return lockFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt((await readFile(lockFile, 'utf8').catch(() => '')).split('\n')[0] ?? '', 10);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new HistoryStateLockedError(stateDir, pid, lockFile);
    // Stale lock from a process that is gone: take it over.
    await unlink(lockFile).catch(() => undefined);
  }
  throw new Error(`could not lock ${lockFile}`);
}

export interface LocalHistoryStore {
  store: DynamoHistoryStore;
  /** Endpoint of the embedded DynamoDB (127.0.0.1, ephemeral port). */
  endpoint: string;
  close(): Promise<void>;
}

export async function openLocalHistoryStore(stateDir: string): Promise<LocalHistoryStore> {
  const dir = resolve(stateDir);
  await mkdir(join(dir, 'dynamodb'), { recursive: true });
  const lockFile = await acquireLock(dir);
  const server = dynalite({ path: join(dir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let client: DynamoDBClient | undefined;
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new DynamoDBClient({
      endpoint,
      region: 'local',
      // dynalite checks nothing; these are placeholders, not secrets.
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
    });
    const tableName = HISTORY_TABLE_DESIGN.defaultTableName;
    await ensureHistoryTable(client, tableName);
    const store = new DynamoHistoryStore({ client, tableName });
    const c = client;
    let closed = false;
    return {
      store,
      endpoint,
      async close() {
        if (closed) return;
        closed = true;
        c.destroy();
        await closeServer(server);
        await unlink(lockFile).catch(() => undefined);
      },
    };
  } catch (err) {
    client?.destroy();
    await closeServer(server).catch(() => undefined);
    await unlink(lockFile).catch(() => undefined);
    throw err;
  }
}

function closeServer(server: ReturnType<typeof dynalite>): Promise<void> {
  return new Promise((ok, fail) => {
    server.closeAllConnections();
    server.close((err) => (err ? fail(err) : ok()));
  });
}
