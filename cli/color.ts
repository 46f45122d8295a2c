import type { Env } from './runtime.js';

/** Colour only on a terminal; NO_COLOR wins, FORCE_COLOR forces (https://no-color.org). */
export function colorEnabled(env: Env, stream: { isTTY?: boolean } = process.stdout): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}
