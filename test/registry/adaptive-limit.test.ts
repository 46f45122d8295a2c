import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from '../../lambdas/engine/registry/adaptive-limit.js';

/** Holds `n` slots at once and releases them with the given outcome. */
async function burst(limit: AdaptiveLimit, n: number, outcome: { latencyMs: number; throttled: boolean }): Promise<void> {
  const releases = await Promise.all(Array.from({ length: n }, () => limit.acquire()));
  for (const release of releases) release(outcome);
}

describe('adaptive concurrency per registry', () => {
  it('starts high and lets that many requests run at once, queueing the next', async () => {
    const limit = new AdaptiveLimit();
    expect(limit.limit).toBe(32);
    const held = await Promise.all(Array.from({ length: 32 }, () => limit.acquire()));
    let queuedGotSlot = false;
    const queued = limit.acquire().then((release) => {
      queuedGotSlot = true;
      return release;
    });
    await Promise.resolve();
    expect(queuedGotSlot).toBe(false);
    held[0]?.({ latencyMs: 20, throttled: false });
    (await queued)({ latencyMs: 20, throttled: false });
    expect(queuedGotSlot).toBe(true);
    for (const release of held.slice(1)) release();
  });

  it('halves once for a burst of 429s from requests sent at the same limit, not once per refusal', async () => {
    const limit = new AdaptiveLimit({ initial: 32 });
    await burst(limit, 32, { latencyMs: 20, throttled: true });
    expect(limit.limit).toBe(16);
    await burst(limit, 16, { latencyMs: 20, throttled: true });
    expect(limit.limit).toBe(8);
  });

  it('never goes below the minimum nor above the maximum', async () => {
    const limit = new AdaptiveLimit({ initial: 4, min: 2, max: 5 });
    for (let i = 0; i < 5; i++) await burst(limit, limit.limit, { latencyMs: 20, throttled: true });
    expect(limit.limit).toBe(2);
    // Saturated windows of healthy answers grow it by one each, up to the maximum.
    for (let i = 0; i < 20; i++) {
      const held = await Promise.all(Array.from({ length: limit.limit }, () => limit.acquire()));
      const extra = limit.acquire();
      for (const release of held) release({ latencyMs: 20, throttled: false });
      (await extra)({ latencyMs: 20, throttled: false });
    }
    expect(limit.limit).toBe(5);
  });

  it('shrinks when latency grows far beyond the best seen', async () => {
    const limit = new AdaptiveLimit({ initial: 20 });
    await burst(limit, 20, { latencyMs: 20, throttled: false });
    const before = limit.limit;
    for (let i = 0; i < 3; i++) await burst(limit, limit.limit, { latencyMs: 2_000, throttled: false });
    expect(limit.limit).toBeLessThan(before);
  });
});
