/**
 * Retries with jittered exponential backoff for 429, 5xx and network errors, honouring Retry-After (the header,
 * in seconds or as an HTTP date, or GHCR's message text `retry-after: 664.2µs`). After the last attempt the
 * failure becomes a RegistryError of kind `rate-limited` or `unreachable`: never a status that could be read as
 * "missing".
 */
import { RegistryError, parseRegistryErrorBody, toRegistryError, type RegistryStage } from './errors.js';
import { DeadlineExceededError, sleep, type HttpRequest, type HttpResponse, type Transport } from './transport.js';

export interface RetryPolicy {
  /** Total attempts, first included (default 4). */
  attempts?: number;
  /** First backoff (default 200 ms), doubled per attempt, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the result is RATE_LIMITED (default 30 s). */
  maxRetryAfterMs?: number;
  /** For tests: replaces Math.random. */
  random?: () => number;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a Retry-After header or a `retry-after: N` text in the error message; undefined if none. */
export function parseRetryAfter(headers: Record<string, string | undefined>, body: string, now = Date.now()): number | undefined {
  const header = headers['retry-after']?.trim();
  if (header) {
    if (/^\d+(\.\d+)?$/.test(header)) return Math.ceil(Number(header) * 1000);
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  // The raw body (JSON or not): GHCR writes `retry-after: 664.2µs` inside its error message.
  const text = body.slice(0, 4096);
  const m = /retry-after:\s*([\d.]+)\s*(ns|us|µs|μs|ms|s|m|h)?/i.exec(text);
  if (m?.[1]) {
    const value = Number(m[1]);
    if (!Number.isFinite(value)) return undefined;
    // Go durations compose (`1m30s`), but GHCR sends one unit; a bare number is seconds, as in the header.
    const unit = m[2] ? GO_DURATION_UNITS[m[2].toLowerCase()] ?? GO_DURATION_UNITS[m[2]] ?? 1000 : 1000;
    return Math.ceil(value * unit);
  }
  return undefined;
}

export function stageOf(req: HttpRequest): RegistryStage {
  return req.stage === 'packages-api' ? 'network' : req.stage;
}

/**
 * Sends with retries. Resolves with the final response when its status is not retryable (2xx, 3xx, 4xx but 429).
 * Rejects with a transient RegistryError when attempts, the Retry-After budget or the deadline run out.
 */
export async function sendWithRetry(transport: Transport, req: HttpRequest, policy: RetryPolicy = {}): Promise<HttpResponse> {
  const attempts = Math.max(1, policy.attempts ?? 4);
  const base = policy.baseDelayMs ?? 200;
  const maxDelay = policy.maxDelayMs ?? 5_000;
  const maxRetryAfter = policy.maxRetryAfterMs ?? 30_000;
  const random = policy.random ?? Math.random;
  const stage = stageOf(req);
  let last: RegistryError | undefined;

  for (let attempt = 1; attempt <= attempts; attempt++) {
    let res: HttpResponse | undefined;
    try {
      res = await transport.send(req);
    } catch (err) {
      // A policy refusal is a decision, not a fault: never retried.
      if (err instanceof RegistryError && err.kind === 'not-allowed') throw err;
      if (err instanceof DeadlineExceededError) {
        throw new RegistryError({ kind: last?.kind === 'rate-limited' ? 'rate-limited' : 'unreachable', stage, message: last ? `${last.message}; then the overall deadline passed` : 'overall deadline passed before the request could be sent' });
      }
      last = toRegistryError(err, 'network');
    }
    let wait: number | undefined;
    if (res) {
      if (!RETRYABLE_STATUS.has(res.status)) return res;
      const info = parseRegistryErrorBody(res.body);
      const retryAfter = parseRetryAfter(res.headers, res.body);
      const init = {
        kind: res.status === 429 ? ('rate-limited' as const) : ('unreachable' as const),
        stage,
        status: res.status,
        message: info.message ?? `HTTP ${res.status}`,
        ...(info.code ? { code: info.code } : {}),
        ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      };
      last = new RegistryError(init);
      if (retryAfter !== undefined) {
        if (retryAfter > maxRetryAfter) throw last;
        wait = retryAfter;
      }
    }
    if (attempt === attempts) break;
    if (wait === undefined) {
      const exp = Math.min(maxDelay, base * 2 ** (attempt - 1));
      wait = exp / 2 + random() * (exp / 2);
    }
    if (Date.now() + wait >= transport.deadline) break;
    transport.report({ method: req.method, url: req.url.origin + req.url.pathname + req.url.search, stage: req.stage, note: `retry ${attempt}/${attempts - 1} in ${Math.round(wait)} ms` });
    await sleep(wait);
  }
  throw last ?? new RegistryError({ kind: 'unreachable', stage, message: 'no response' });
}
