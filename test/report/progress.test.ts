import { describe, expect, it } from 'vitest';
import { createProgress, formatProgressLine } from '../../lambdas/engine/report/progress.js';

function recorder(columns?: number) {
  const chunks: string[] = [];
  return { chunks, stream: { write: (chunk: string) => chunks.push(chunk), ...(columns ? { columns } : {}) } };
}

describe('createProgress', () => {
  it('writes nothing at all when disabled', () => {
    const { chunks, stream } = recorder();
    const progress = createProgress(stream, { enabled: false });
    progress.update(1, 3);
    progress.update(3, 3);
    progress.done();
    expect(chunks).toEqual([]);
  });

  it('redraws one line with a carriage return and shows the rate', () => {
    const { chunks, stream } = recorder();
    let clock = 0;
    const progress = createProgress(stream, { enabled: true, now: () => clock });
    progress.update(0, 300);
    clock = 2000;
    progress.update(90, 300);
    expect(chunks[0]).toBe('\rchecked 0/300 images');
    expect(chunks[1]).toBe('\rchecked 90/300 images \u00b7 45/s');
    expect(chunks.join('')).not.toContain('\n');
  });

  it('skips redraws closer than the interval but always draws the last one', () => {
    const { chunks, stream } = recorder();
    let clock = 0;
    const progress = createProgress(stream, { enabled: true, now: () => clock, intervalMs: 100 });
    progress.update(1, 3);
    clock = 10;
    progress.update(2, 3);
    clock = 20;
    progress.update(3, 3);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toContain('3/3');
  });

  it('pads over a longer previous line and clears the line when done', () => {
    const { chunks, stream } = recorder();
    let clock = 0;
    const progress = createProgress(stream, { enabled: true, now: () => clock });
    progress.update(0, 300);
    clock = 1000;
    progress.update(150, 300);
    clock = 2000;
    progress.update(0, 5);
    const last = chunks[chunks.length - 1] ?? '';
    expect(last.length).toBe((chunks[1] ?? '').length);
    progress.done();
    progress.done();
    expect(chunks[chunks.length - 1]).toMatch(/^\r +\r$/);
    expect(chunks.filter((chunk) => /^\r +\r$/.test(chunk))).toHaveLength(1);
  });

  it('never writes a line as wide as the terminal', () => {
    const { chunks, stream } = recorder(12);
    createProgress(stream, { enabled: true, now: () => 0 }).update(5, 10);
    expect((chunks[0] ?? '').replace('\r', '').length).toBeLessThan(12);
  });
});

describe('formatProgressLine', () => {
  it('shows a decimal rate below 10 per second', () => {
    expect(formatProgressLine(3, 10, 1000)).toBe('checked 3/10 images \u00b7 3.0/s');
  });
});
