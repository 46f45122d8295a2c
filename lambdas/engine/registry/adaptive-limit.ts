/**
 * Requests in flight to one registry, adapted to how it answers instead of a fixed 8: start high (most registries,
 * ghcr.io included, serve dozens of parallel HEADs without complaint), halve on throttling (429, 503, a
 * Retry-After), shrink by a quarter when latency grows well past the best seen (a queue is building somewhere),
 * and grow back by one per window of healthy answers while the limit is the bottleneck. A window is `limit`
 * completions, so one burst of refusals halves the limit once, not once per refused request.
 */

export interface AdaptiveLimitOptions {
  /** Limit at the start (default 32). */
  initial?: number;
  /** Never below this (default 2). */
  min?: number;
  /** Never above this (default 64). */
  max?: number;
}

export interface Outcome {
  latencyMs: number;
  /** 429, 503 or an answer with Retry-After. */
  throttled: boolean;
}

export class AdaptiveLimit {
  #limit: number;
  #inFlight = 0;
  readonly #min: number;
  readonly #max: number;
  readonly #waiters: Array<() => void> = [];
  #bestLatency = Number.POSITIVE_INFINITY;
  #ewma: number | undefined;
  #completionsSinceChange = 0;
  #saturatedInWindow = false;
  /** Requests started before the last decrease do not decrease again. */
  #generation = 0;

  constructor(options: AdaptiveLimitOptions = {}) {
    this.#min = Math.max(1, options.min ?? 2);
    this.#max = Math.max(this.#min, options.max ?? 64);
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial ?? 32));
  }

  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Waits for a slot; the returned function frees it and reports how the request went. */
  async acquire(): Promise<(outcome?: Outcome) => void> {
    while (this.#inFlight >= this.#limit) {
      this.#saturatedInWindow = true;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#inFlight++;
    const generation = this.#generation;
    let released = false;
    return (outcome?: Outcome) => {
      if (released) return;
      released = true;
      this.#inFlight--;
      if (outcome) this.#record(outcome, generation);
      this.#wake();
    };
  }

  #wake(): void {
    // A woken waiter checks the limit again itself, so waking one too many only costs it a place in the queue.
    for (let free = this.#limit - this.#inFlight; free > 0 && this.#waiters.length; free--) this.#waiters.shift()?.();
  }

  #decrease(factor: number): void {
    const next = Math.max(this.#min, Math.floor(this.#limit * factor));
    if (next !== this.#limit) this.#limit = next;
    this.#generation++;
    this.#completionsSinceChange = 0;
    this.#saturatedInWindow = false;
  }

  #record(outcome: Outcome, generation: number): void {
    if (outcome.throttled) {
      if (generation === this.#generation) this.#decrease(0.5);
      return;
    }
    const latency = Math.max(0, outcome.latencyMs);
    this.#bestLatency = Math.min(this.#bestLatency, latency);
    this.#ewma = this.#ewma === undefined ? latency : this.#ewma * 0.9 + latency * 0.1;
    this.#completionsSinceChange++;
    if (this.#completionsSinceChange < this.#limit) return;
    // A window has passed: judge it.
    const best = this.#bestLatency;
    if (this.#ewma > best * 4 + 100 && generation === this.#generation) {
      this.#decrease(0.75);
    } else {
      if (this.#saturatedInWindow && this.#ewma < best * 2 + 50 && this.#limit < this.#max) this.#limit++;
      this.#completionsSinceChange = 0;
      this.#saturatedInWindow = false;
    }
  }
}
