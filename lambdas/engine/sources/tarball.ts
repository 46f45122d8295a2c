/**
 * Tar archives as snapshots: extracting GitHub's repository archive (gzip, one top-level
 * `<owner>-<repo>-<sha>/` directory) through the load rules, and writing/reading the kept files as
 * a plain tar for the on-disk snapshot cache.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { LoadBudget } from './relevance.js';
import { normalizeRepoPath } from './relevance.js';

export interface ExtractOptions {
  /** Leading path segments to drop (GitHub archives: 1). */
  stripComponents: number;
  gzip: boolean;
  /** Called when extraction stops early (total cap reached) so the caller can abort the download. */
  onStop?: () => void;
}

/**
 * Extracts the regular files the budget admits. Bodies of skipped entries are drained, never
 * buffered; once the total cap is hit the stream is abandoned.
 */
export async function extractArchive(source: Readable, budget: LoadBudget, options: ExtractOptions): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  let stoppedEarly = false;
  let streamError: unknown;
  const piped = (options.gzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract)).catch((error: unknown) => {
    streamError = error;
  });
  try {
    for await (const entry of extract) {
      const { header } = entry;
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
    if (!stoppedEarly) streamError ??= error;
  }
  if (stoppedEarly) {
    options.onStop?.();
    source.destroy();
  }
  await piped;
  if (streamError !== undefined && !stoppedEarly) throw streamError;
  return files;
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
