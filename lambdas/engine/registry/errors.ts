/**
 * One structured error for everything the registry side can fail with: HTTP status, the registry's OCI error code
 * and message, and the stage that answered. It travels unchanged up to the verdict (diagnose/), where it becomes
 * ProbeEvidence. Transient failures (429 after retries, 5xx, network) are marked so that they can never be read
 * as "missing".
 */
import * as z from '../zod.js';
import { displaySafe } from '../hygiene.js';

export type RegistryStage = 'ping' | 'token' | 'manifest' | 'tags' | 'network';

export type RegistryErrorKind =
  /** The registry answered with an HTTP error status. */
  | 'http'
  /** Still 429 after retries (or a Retry-After beyond what we may wait). */
  | 'rate-limited'
  /** Network failure, timeout or 5xx after retries, or the overall deadline passed. */
  | 'unreachable'
  /** The outbound policy refused the URL (registry, token realm or redirect): no connection was made. */
  | 'not-allowed';

export interface RegistryErrorInit {
  kind: RegistryErrorKind;
  stage: RegistryStage;
  status?: number;
  code?: string;
  message: string;
  retryAfterMs?: number;
}

export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  readonly stage: RegistryStage;
  readonly status?: number;
  /** OCI error code (`MANIFEST_UNKNOWN`, `DENIED`...) when the body carried one. */
  readonly code?: string;
  readonly retryAfterMs?: number;

  constructor(init: RegistryErrorInit) {
    super(init.message);
    this.name = 'RegistryError';
    this.kind = init.kind;
    this.stage = init.stage;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }

  get transient(): boolean {
    return this.kind !== 'http';
  }
}

const ociErrorBody = z.object({
  errors: z.optional(
    z.array(
      z.object({
        code: z.optional(z.string()),
        message: z.optional(z.string()),
      }),
    ),
  ),
  // Some token servers (Docker Hub, GHCR in places) answer `{"details": "..."}` or `{"message": "..."}`.
  details: z.optional(z.string()),
  message: z.optional(z.string()),
});

/** Longest registry message kept; a remote body is never copied beyond this. */
export const MAX_REMOTE_MESSAGE_CHARS = 200;
const OCI_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A remote message as we may repeat it: one line, control characters escaped, capped. */
function shortMessage(text: string): string {
  const flat = displaySafe(text.trim(), true);
  return flat.length > MAX_REMOTE_MESSAGE_CHARS ? `${flat.slice(0, MAX_REMOTE_MESSAGE_CHARS - 1)}\u2026` : flat;
}

/**
 * Reads `{"errors":[{code,message}]}` (or the looser token-server forms). Empty bodies give {}. SECURITY: only a
 * short, sanitized code and message ever leave here; a body that is not JSON (an HTML page, whatever an internal
 * URL answered) is never copied, only described, so a hostile registry or realm cannot make us repeat it.
 */
export function parseRegistryErrorBody(text: string): { code?: string; message?: string } {
  const trimmed = text.trim();
  if (!trimmed) return {};
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return { message: `the reply was not JSON (${Buffer.byteLength(trimmed, 'utf8')} bytes, not shown)` };
  }
  const parsed = ociErrorBody.safeParse(json);
  if (!parsed.success) return {};
  const first = parsed.data.errors?.[0];
  const out: { code?: string; message?: string } = {};
  const code = first?.code?.toUpperCase();
  if (code && OCI_CODE.test(code)) out.code = code;
  const message = first?.message ?? parsed.data.details ?? parsed.data.message;
  if (message) out.message = shortMessage(message);
  return out;
}

/** Turns a thrown value into a RegistryError (network errors become `unreachable`). */
export function toRegistryError(err: unknown, stage: RegistryStage): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  const parts: string[] = [];
  if (typeof e?.code === 'string') parts.push(e.code);
  if (typeof e?.message === 'string' && e.message) parts.push(e.message);
  else if (typeof e?.name === 'string') parts.push(e.name);
  return new RegistryError({ kind: 'unreachable', stage, message: parts.join(': ') || String(err) });
}
