/**
 * The one error a source throws when the repository as a whole cannot be read (as opposed to one
 * revision of it, which is RevisionUnavailableError in model.ts). The CLI maps it to exit code 3.
 * Messages never contain credentials or signed URLs.
 */

export type SourceUnavailableReason =
  | 'not-found' // directory, repository or ref does not exist, or the credentials cannot see it
  | 'unauthorized' // the token was rejected (401)
  | 'forbidden' // 403 that is not a rate limit (SSO enforcement, missing scope, blocked repository)
  | 'rate-limited' // GitHub's primary or secondary rate limit
  | 'unreachable' // network failure
  | 'server-error' // 5xx or an answer we could not understand
  | 'invalid'; // the source specification itself is wrong

export interface SourceUnavailableDetails {
  /** HTTP status of the answer that failed, when there was one. */
  status?: number;
  /** ISO time at which a rate limit resets, when the server said. */
  resetAt?: string;
  /** What to do about it. */
  hint?: string;
}

export class SourceUnavailableError extends Error {
  readonly status?: number;
  readonly resetAt?: string;
  readonly hint?: string;

  constructor(
    /** `owner/name` or a directory path. */
    readonly location: string,
    readonly reason: SourceUnavailableReason,
    message: string,
    details: SourceUnavailableDetails = {},
  ) {
    super(message);
    this.name = 'SourceUnavailableError';
    if (details.status !== undefined) this.status = details.status;
    if (details.resetAt !== undefined) this.resetAt = details.resetAt;
    if (details.hint !== undefined) this.hint = details.hint;
  }
}
