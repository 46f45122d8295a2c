/**
 * Tar archives as snapshots: extracting GitHub's repository archive (gzip, one top-level
 * `<owner>-<repo>-<sha>/` directory) through the load rules, and writing/reading the kept files as
 * a plain tar for the on-disk snapshot cache.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { LoadBudget } from './relevance.js';
import { formatBytes, normalizeRepoPath } from './relevance.js';

/**
 * SECURITY: bytes an archive may inflate to, every entry counted (the files we keep and the ones we only skip
 * through: tar is sequential, so a skipped entry is still decompressed). A gzip bomb (a few MiB of download, many
 * GiB of zeros) stops here instead of burning the Lambda's time. Larger than the 200 MiB of kept files
 * (MAX_TOTAL_BYTES) because a repository's archive also holds sources, images and binaries we skip.
 */
export const DEFAULT_MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;
/** SECURITY: entries (files, directories, links) an archive may hold. */
export const DEFAULT_MAX_ARCHIVE_ENTRIES = 200_000;

export interface ExtractOptions {
  /** Leading path segments to drop (GitHub archives: 1). */
  stripComponents: number;
  gzip: boolean;
  /** Called when extraction stops early (total cap reached) so the caller can abort the download. */
  onStop?: () => void;
  /** Decompressed bytes of the whole archive (MAX_ARCHIVE_BYTES). Default DEFAULT_MAX_ARCHIVE_BYTES. */
  maxArchiveBytes?: number;
  /** Entries of the archive (MAX_ARCHIVE_ENTRIES). Default DEFAULT_MAX_ARCHIVE_ENTRIES. */
  maxArchiveEntries?: number;
  /**
   * Called with the records of a leading pax global header (`git archive` and GitHub's tarballs write
   * `comment=<commit sha>` there), which tar-stream reads but does not hand out.
   */
  onPaxGlobal?: (records: Record<string, string>) => void;
}

/** Thrown inside the pipeline when the inflated bytes pass the cap; never leaves extractArchive. */
class ArchiveCapError extends Error {}

/**
 * Extracts the regular files the budget admits. Bodies of skipped entries are drained, never
 * buffered; once the total cap or an archive cap is hit the stream is abandoned, with a LIMIT_EXCEEDED
 * finding in the budget naming the cap (MAX_TOTAL_BYTES, MAX_ARCHIVE_BYTES, MAX_ARCHIVE_ENTRIES).
 */
export async function extractArchive(source: Readable, budget: LoadBudget, options: ExtractOptions): Promise<Map<string, Buffer>> {
  const maxBytes = options.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
  const maxEntries = options.maxArchiveEntries ?? DEFAULT_MAX_ARCHIVE_ENTRIES;
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  let stoppedEarly = false;
  let streamError: unknown;
  let inflated = 0;
  let capped = false;
  const stopAtCap = (file: string, message: string): void => {
    if (capped) return;
    capped = true;
    budget.record({
      file,
      line: 0,
      code: 'LIMIT_EXCEEDED',
      severity: 'error',
      message,
      hint: 'Audit a smaller repository or a subdirectory; the archive was abandoned at this point.',
    });
  };
  const bytesCap = (file: string): string =>
    `the repository archive inflates past the ${formatBytes(maxBytes)} cap (MAX_ARCHIVE_BYTES)${file ? ` at ${file}` : ''}; it and every file after it were not loaded, so what they declare is unknown`;
  // Counts what the decompressor hands to tar: every byte of every entry, headers and padding included.
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      inflated += chunk.length;
      if (inflated > maxBytes) {
        stopAtCap('', bytesCap(''));
        callback(new ArchiveCapError());
        return;
      }
      callback(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = options.gzip ? [createGunzip(), counter] : [counter];
  if (options.onPaxGlobal) stages.push(paxGlobalSniffer(options.onPaxGlobal));
  const piped = pipeline([source, ...stages, extract]).catch((error: unknown) => {
    streamError = error;
  });
  let entries = 0;
  try {
    for await (const entry of extract) {
      const { header } = entry;
      entries += 1;
      const name = stripPath(header.name, options.stripComponents) ?? header.name;
      if (entries > maxEntries) {
        stopAtCap(name, `the repository archive holds more than ${maxEntries} entries (MAX_ARCHIVE_ENTRIES) at ${name}; it and every file after it were not loaded, so what they declare is unknown`);
        stoppedEarly = true;
        break;
      }
      // An entry that declares more than is left of the budget stops before a byte of it is inflated.
      if ((header.size ?? 0) > maxBytes - inflated) {
        stopAtCap(name, bytesCap(name));
        stoppedEarly = true;
        break;
      }
      const path = header.type === 'file' || header.type === 'contiguous-file' ? stripPath(header.name, options.stripComponents) : undefined;
      if (path === undefined || !budget.admit(path, header.size ?? 0)) {
        if (budget.exhausted) {
          stoppedEarly = true;
          break;
        }
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      files.set(path, Buffer.concat(chunks));
    }
  } catch (error) {
    if (!stoppedEarly && !capped) streamError ??= error;
  }
  if (capped) stoppedEarly = true;
  if (stoppedEarly) {
    options.onStop?.();
    source.destroy();
    extract.destroy();
  }
  await piped;
  if (streamError !== undefined && !stoppedEarly) throw streamError;
  return files;
}

const BLOCK = 512;
/** Pax headers larger than this are not what git writes; they are passed on unread. */
const MAX_PAX_GLOBAL_BYTES = 64 * 1024;

/**
 * Passes a tar stream through unchanged, reading the pax global header when it is the first entry
 * (typeflag `g`): records are `<length> <key>=<value>\n`.
 */
function paxGlobalSniffer(onRecords: (records: Record<string, string>) => void): Transform {
  let head = Buffer.alloc(0);
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!done) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= BLOCK) {
          const size = head[156] === 0x67 /* g */ ? parseInt(head.subarray(124, 136).toString('latin1').replace(/[\0 ]+/g, ''), 8) : NaN;
          if (!Number.isFinite(size) || size <= 0 || size > MAX_PAX_GLOBAL_BYTES) done = true;
          else if (head.length >= BLOCK + size) {
            done = true;
            onRecords(parsePaxRecords(head.subarray(BLOCK, BLOCK + size)));
          }
          if (done) head = Buffer.alloc(0);
        }
      }
      callback(null, chunk);
    },
  });
}

function parsePaxRecords(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number(body.subarray(offset, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - offset + 1 || offset + length > body.length) break;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}

function stripPath(name: string, components: number): string | undefined {
  const segments = name.split('/');
  if (segments.length <= components) return undefined;
  return normalizeRepoPath(segments.slice(components).join('/'));
}

/** Writes files as an uncompressed tar (paths sorted as given). */
export async function writeTar(path: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(path));
  for (const [name, content] of files) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name, size: content.length, mode: 0o644, mtime: new Date(0), type: 'file' }, content, (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  await written;
}

/** Reads every regular file of an uncompressed tar. */
export async function readTar(path: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const piped = pipeline(createReadStream(path), extract);
  for await (const entry of extract) {
    const name = entry.header.type === 'file' ? normalizeRepoPath(entry.header.name) : undefined;
    if (name === undefined) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files.set(name, Buffer.concat(chunks));
  }
  await piped;
  return files;
}
