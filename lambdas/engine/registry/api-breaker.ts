/**
 * A circuit breaker for one API host (the GitHub Packages API, GHES): evidence that is nice to have must not cost
 * the run its time budget. A host whose name does not resolve, that refuses connections, that the outbound policy
 * refuses, or that fails before it ever answered is given up at the first such failure; once it has answered,
 * repeated timeouts or 5xx answers (three in a row by default) do the same; a rate limit about
 * to run out stops the calls before GitHub has to refuse them. Once open it stays open for the run: callers get a
 * BreakerOpenError at once, without a request, and the reason is reported once.
 *
 * Until the host has answered once, calls go one at a time: when it is unreachable, the run pays one failed
 * lookup instead of one per concurrent caller.
 */

export type ApiFailureKind = 'dns' | 'refused' | 'denied' | 'timeout' | 'server-error' | 'network';

export class BreakerOpenError extends Error {
  constructor(readonly host: string, readonly reason: string) {
    super(`not asked: ${host} was given up for this run (${reason})`);
    this.name = 'BreakerOpenError';
  }
}

export interface HostBreakerOptions {
  host: string;
  /** Consecutive timeouts/5xx/other network errors that open the breaker (default 3). DNS and refused: 1. */
  failuresToOpen?: number;
  /** Called once, when the breaker opens. */
  onOpen?: (reason: string) => void;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The first `code` found on an error or its chain of causes (fetch wraps network errors: TypeError → cause). */
function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The outbound policy's reason (OutboundDeniedError's `reason`) on an error or its chain of causes. */
function deniedReason(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const reason = (e as { reason?: unknown }).reason;
    if ((e as { code?: unknown }).code === 'EOUTBOUNDDENIED' && typeof reason === 'string') return reason;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorName(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const name = (e as { name?: unknown }).name;
    if (name === 'AbortError' || name === 'TimeoutError') return name;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What kind of host failure an error from fetch/Octokit is; undefined for an HTTP answer that is not a host
 * failure (401, 403, 404...). Octokit reports network errors as status 500 without a response: the cause decides.
 */
export function classifyApiFailure(err: unknown): ApiFailureKind | undefined {
  const e = err as { status?: unknown; response?: unknown } | undefined;
  const code = errorCode(err);
  // The outbound policy refused the host (before the request or at connect time): it will not change this run.
  if (code === 'EOUTBOUNDDENIED') return 'denied';
  if (code && DNS_CODES.has(code)) return 'dns';
  if (code && REFUSED_CODES.has(code)) return 'refused';
  if ((code && TIMEOUT_CODES.has(code)) || errorName(err)) return 'timeout';
  if (e && typeof e === 'object' && e.response !== undefined) {
    return typeof e.status === 'number' && e.status >= 500 ? 'server-error' : undefined;
  }
  // No HTTP answer at all: a network failure of some other kind.
  return 'network';
}

export function describeApiFailure(kind: ApiFailureKind, err: unknown): string {
  const code = errorCode(err);
  switch (kind) {
    case 'dns':
      return `its name does not resolve${code ? ` (${code})` : ''}`;
    case 'refused':
      return `it refused the connection${code ? ` (${code})` : ''}`;
    case 'denied':
      return `the outbound policy refuses it${deniedReason(err) ? ` (${deniedReason(err)})` : ''}`;
    case 'timeout':
      return 'it timed out repeatedly';
    case 'server-error':
      return `it answered 5xx repeatedly (last HTTP ${String((err as { status?: unknown }).status)})`;
    default:
      return `the connection failed repeatedly${code ? ` (${code})` : ''}`;
  }
}

export class HostBreaker {
  readonly host: string;
  #openReason: string | undefined;
  #healthy = false;
  #consecutive = 0;
  #probe: Promise<unknown> = Promise.resolve();
  readonly #failuresToOpen: number;
  readonly #onOpen: ((reason: string) => void) | undefined;

  constructor(options: HostBreakerOptions) {
    this.host = options.host;
    this.#failuresToOpen = Math.max(1, options.failuresToOpen ?? 3);
    this.#onOpen = options.onOpen;
  }

  get openReason(): string | undefined {
    return this.#openReason;
  }

  /** Opens the breaker for the rest of the run (also used by the rate-limit guard). */
  open(reason: string): void {
    if (this.#openReason !== undefined) return;
    this.#openReason = reason;
    try {
      this.#onOpen?.(reason);
    } catch {
      // a listener never breaks a check
    }
  }

  /** Runs `call` unless the breaker is open; records its outcome. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (!this.#healthy) {
      // One call at a time until the host has answered once.
      const previous = this.#probe;
      let done!: () => void;
      this.#probe = new Promise<void>((resolve) => (done = resolve));
      try {
        await previous.catch(() => undefined);
        return await this.#attempt(call);
      } finally {
        done();
      }
    }
    return this.#attempt(call);
  }

  async #attempt<T>(call: () => Promise<T>): Promise<T> {
    if (this.#openReason !== undefined) throw new BreakerOpenError(this.host, this.#openReason);
    try {
      const result = await call();
      this.#healthy = true;
      this.#consecutive = 0;
      return result;
    } catch (err) {
      const kind = classifyApiFailure(err);
      if (kind === undefined) {
        // The host answered (401/403/404...): it is reachable.
        this.#healthy = true;
        this.#consecutive = 0;
      } else if (kind === 'dns' || kind === 'refused' || kind === 'denied' || !this.#healthy) {
        // A host that has not answered once this run and fails now is given up at once.
        this.open(describeApiFailure(kind, err));
      } else if (++this.#consecutive >= this.#failuresToOpen) {
        this.open(describeApiFailure(kind, err));
      }
      throw err;
    }
  }
}
