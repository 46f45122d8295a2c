/**
 * The configuration errors, apart from the schema: the CLI catches them on every run, and importing them from
 * schema.ts would load zod and yaml before `--version` or `--help` could answer.
 */

/** A config that does not validate. `message` lists every problem, one per line, path first. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A credential that is named but cannot be used. The message names keys and variables, never values. */
export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}
