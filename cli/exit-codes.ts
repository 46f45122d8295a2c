/** Exit codes of `image-drift`, documented in `--help` and docs/cli.md. */
export const ExitCode = {
  /** Every checked image is fine (or only has problems below --fail-on). */
  Clean: 0,
  /** At least one image has a status listed in --fail-on. */
  Drift: 1,
  /** Bad command line or configuration. */
  Usage: 2,
  /**
   * The audit could not complete: the source or the history store was unreachable, part of the desired state could
   * not be read (apps unknown: see completeness.ts), or an image got no verdict (UNREACHABLE, RATE_LIMITED,
   * REGISTRY_NOT_ALLOWED) and --allow-unverified was not given. Wins over 1.
   */
  Incomplete: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `
Exit codes:
  0  clean: nothing at or above --fail-on
  1  drift: at least one image has a status listed in --fail-on
  2  usage or configuration error
  3  the audit could not complete: source or history store unreachable, part of the
     desired state unreadable (a file that does not parse, a missing path, a failed
     build, a cycle or cap: its apps are unknown), or an image got no verdict
     (UNREACHABLE, RATE_LIMITED, REGISTRY_NOT_ALLOWED) without --allow-unverified;
     3 wins over 1`;

/** Thrown for problems with flags or the config file; main() prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown when the audit cannot run to the end; main() prints it and exits 3. */
export class IncompleteAuditError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IncompleteAuditError';
  }
}
