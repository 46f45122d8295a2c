/**
 * Embedded history store for the CLI: dynalite (DynamoDB on LevelDB) in process on 127.0.0.1,
 * persisted under `<stateDir>/dynamodb`, driven through the same DynamoHistoryStore code as the Lambda.
 *
 * Locking: an OS file lock (LevelDB's own `LOCK`, fcntl/LockFileEx) on a small database that exists only to be
 * locked, `<stateDir>/dynamodb.lockdb`. The kernel decides who holds it and frees it when the holder dies, even
 * by `kill -9`, so there is no stale lock to take over and no race. `dynamodb.lock` says who holds it (pid and
 * start time), for the message only.
 *
 * Damage: before dynalite opens the data, every entry is read once; a database that does not open or whose
 * entries do not read is moved aside to `dynamodb.damaged-<time>` and an empty one is created
 * (HistoryStoreUnusableError: the CLI exits 3 and says where the old history went).
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { DynamoHistoryStore, ensureHistoryTable } from './dynamodb.js';
import { HISTORY_TABLE_DESIGN } from './table-design.js';
import { errorMessage } from './util.js';

export const DEFAULT_STATE_DIR = '.image-drift';

const DATA_DIR = 'dynamodb';
const LOCK_DB = 'dynamodb.lockdb';
const OWNER_FILE = 'dynamodb.lock';

export class HistoryStateLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number | undefined,
    readonly lockFile: string,
    readonly ownerStartedAt?: string,
  ) {
    super(
      `the history in ${stateDir} is in use by ${pid !== undefined ? `process ${pid}` : 'another process'}` +
        `${ownerStartedAt ? ` (started ${ownerStartedAt})` : ''}. Wait for that audit to finish, or use another --state-dir.`,
    );
    this.name = 'HistoryStateLockedError';
  }
}

/** The local store could not be used as it was; its data was moved aside (when `movedTo` is set) and a new one created. */
export class HistoryStoreUnusableError extends Error {
  constructor(
    readonly stateDir: string,
    readonly reason: string,
    readonly movedTo?: string,
  ) {
    super(
      `history store unusable: ${reason}` +
        (movedTo
          ? `. The damaged history was moved to ${movedTo} and an empty one was started in its place; this run's history was not recorded`
          : ''),
    );
    this.name = 'HistoryStoreUnusableError';
  }
}

// ─── LevelDB, the one dynalite itself uses ─────────────────────────────────

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(options?: { keyEncoding?: string; valueEncoding?: string }): AsyncIterable<[string, string]>;
}
type LevelConstructor = new (location: string, options?: { createIfMissing?: boolean; valueEncoding?: string }) => LevelDatabase;

function levelConstructor(): LevelConstructor {
  // Resolved from dynalite's own location, so the lock and the check use the very LevelDB binding it opens.
  const fromHere = createRequire(import.meta.url);
  const fromDynalite = createRequire(fromHere.resolve('dynalite'));
  return (fromDynalite('level') as { Level: LevelConstructor }).Level;
}

function levelCause(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Error ? cause.message : errorMessage(err);
}

// ─── Lock ──────────────────────────────────────────────────────────────────

interface HeldLock {
  release(): Promise<void>;
}

async function acquireLock(stateDir: string, Level: LevelConstructor): Promise<HeldLock> {
  const ownerFile = join(stateDir, OWNER_FILE);
  const lockDb = new Level(join(stateDir, LOCK_DB));
  try {
    await lockDb.open();
  } catch (err) {
    if (levelCause(err) === 'LEVEL_LOCKED') {
      const [pid, startedAt] = (await readFile(ownerFile, 'utf8').catch(() => '')).split('\n');
      const owner = Number.parseInt(pid ?? '', 10);
      throw new HistoryStateLockedError(stateDir, Number.isInteger(owner) && owner > 0 ? owner : undefined, ownerFile, startedAt || undefined);
    }
    // Never deleted automatically: removing a lock another process may be opening would let both in.
    throw new HistoryStoreUnusableError(
      stateDir,
      `its lock ${join(stateDir, LOCK_DB)} cannot be opened (${causeMessage(err)}); delete that directory when no audit is running`,
    );
  }
  const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();
  await writeFile(ownerFile, `${process.pid}\n${startedAt}\n`).catch(() => undefined);
  return {
    async release() {
      // The owner note goes first: once the lock is free, the next holder writes its own.
      await unlink(ownerFile).catch(() => undefined);
      await lockDb.close();
    },
  };
}

// ─── Damage check ──────────────────────────────────────────────────────────

/** Opens the data with LevelDB and reads every entry (dynalite stores JSON values); undefined when all is well. */
async function damageOf(dataDir: string, Level: LevelConstructor): Promise<string | undefined> {
  const db = new Level(dataDir, { valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (err) {
    return `the database in ${dataDir} does not open (${causeMessage(err)})`;
  }
  try {
    for await (const [key, value] of db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8' })) {
      try {
        JSON.parse(value);
      } catch {
        return `the database in ${dataDir} holds an unreadable entry (${JSON.stringify(key.slice(0, 80))})`;
      }
    }
    return undefined;
  } catch (err) {
    return `the database in ${dataDir} cannot be read (${causeMessage(err)})`;
  } finally {
    await db.close().catch(() => undefined);
  }
}

async function moveAside(dataDir: string): Promise<string> {
  const target = `${dataDir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(dataDir, target);
  return target;
}

// ─── Open ──────────────────────────────────────────────────────────────────

export interface LocalHistoryStore {
  store: DynamoHistoryStore;
  /** Endpoint of the embedded DynamoDB (127.0.0.1, ephemeral port). */
  endpoint: string;
  close(): Promise<void>;
}

export async function openLocalHistoryStore(stateDir: string): Promise<LocalHistoryStore> {
  const dir = resolve(stateDir);
  const dataDir = join(dir, DATA_DIR);
  await mkdir(dir, { recursive: true });
  const Level = levelConstructor();
  const lock = await acquireLock(dir, Level);
  let damage: HistoryStoreUnusableError | undefined;
  let opened: Omit<LocalHistoryStore, 'close'> & { close(): Promise<void> };
  try {
    const found = await damageOf(dataDir, Level);
    if (found) {
      damage = new HistoryStoreUnusableError(dir, found, await moveAside(dataDir));
    }
    await mkdir(dataDir, { recursive: true });
    opened = await startStore(dataDir);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
  if (damage) {
    // The empty store is created (table included) so that the next run works; this one reports the damage.
    await opened.close().catch(() => undefined);
    await lock.release().catch(() => undefined);
    throw damage;
  }
  const removeGuard = guardAgainstStoreCrash(dir);
  let closed = false;
  return {
    store: opened.store,
    endpoint: opened.endpoint,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await opened.close();
      } finally {
        removeGuard();
        await lock.release();
      }
    },
  };
}

async function startStore(dataDir: string): Promise<Omit<LocalHistoryStore, 'close'> & { close(): Promise<void> }> {
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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
    const c = client;
    return {
      store: new DynamoHistoryStore({ client, tableName }),
      endpoint,
      async close() {
        c.destroy();
        await closeServer(server);
      },
    };
  } catch (err) {
    client?.destroy();
    await closeServer(server).catch(() => undefined);
    throw err;
  }
}

/**
 * dynalite throws LevelDB failures from inside its request handler, where nothing can catch them: the process
 * would die with exit 1 and a stack trace. While the store is open such a failure ends the process with exit 3
 * and a sentence instead (the next open checks the data and moves it aside if it is damaged).
 */
function guardAgainstStoreCrash(stateDir: string): () => void {
  const marker = `${sep}dynalite${sep}`;
  const onCrash = (err: unknown) => {
    const fromStore = err instanceof Error && (err.stack ?? '').includes(marker);
    if (!fromStore) {
      // Someone else (a test runner) handles the rest; alone, behave like Node's default.
      if (process.listenerCount('uncaughtException') > 1) return;
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    }
    process.stderr.write(
      `image-drift: the audit could not complete: history store unusable: the embedded database in ${stateDir} failed (${errorMessage(err)}); ` +
        'the next run checks it and moves it aside if it is damaged\n',
    );
    process.exit(3);
  };
  process.on('uncaughtException', onCrash);
  return () => process.off('uncaughtException', onCrash);
}

function closeServer(server: ReturnType<typeof dynalite>): Promise<void> {
  return new Promise((ok, fail) => {
    server.closeAllConnections();
    server.close((err) => (err ? fail(err) : ok()));
  });
}
