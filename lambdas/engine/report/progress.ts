/**
 * A one-line progress display for interactive runs: `checked 120/300 images · 45/s`, redrawn in place
 * with `\r`. The caller decides when it is enabled (a TTY, and never with --format json|sarif, whose
 * output must stay clean); when disabled nothing at all is written.
 */

/** The part of a writable stream the display needs (process.stderr fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  /** Terminal width, when the stream is a TTY. */
  columns?: number;
}

export interface ProgressOptions {
  enabled: boolean;
  /** Milliseconds clock, for tests; `performance.now` when not given. */
  now?: () => number;
  /** Minimum time between redraws; the last update (done === total) is always drawn. Default 100 ms. */
  intervalMs?: number;
  /** Noun for what is counted; `images` when not given. */
  noun?: string;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Clears the line so the report starts on a clean line. Safe to call more than once. */
  done(): void;
}

export function formatProgressLine(done: number, total: number, elapsedMs: number, noun = 'images'): string {
  const base = `checked ${done}/${total} ${noun}`;
  if (done <= 0 || elapsedMs < 250) return base;
  const perSecond = (done / elapsedMs) * 1000;
  const rate = perSecond >= 10 ? Math.round(perSecond).toString() : perSecond.toFixed(1);
  return `${base} \u00b7 ${rate}/s`;
}

export function createProgress(stream: ProgressStream, options: ProgressOptions): Progress {
  if (!options.enabled) return { update: () => undefined, done: () => undefined };
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 100;
  let startedAt: number | undefined;
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let drawnLength = 0;
  let finished = false;

  return {
    update(done, total) {
      if (finished) return;
      const at = now();
      startedAt ??= at;
      if (done < total && at - lastDrawAt < interval) return;
      lastDrawAt = at;
      let line = formatProgressLine(done, total, at - startedAt, options.noun);
      const columns = stream.columns;
      if (columns && columns > 1 && line.length >= columns) line = line.slice(0, columns - 1);
      // Pad over the previous, possibly longer, line instead of relying on an erase sequence.
      const padding = drawnLength > line.length ? ' '.repeat(drawnLength - line.length) : '';
      stream.write(`\r${line}${padding}`);
      drawnLength = line.length;
    },
    done() {
      if (finished) return;
      finished = true;
      if (drawnLength > 0) stream.write(`\r${' '.repeat(drawnLength)}\r`);
    },
  };
}
