/**
 * The engine's zod: `zod/mini`, the tree-shakable build, with zod's English error messages.
 *
 * Classic zod attaches every method to every schema, so a bundle carries all of zod (~97 KB minified); the mini
 * API (`z.optional(s)`, `s.check(z.minLength(1))`) keeps the Lambda bundle to what the schemas use. Unlike classic
 * zod, mini loads no locale by itself and would say only "Invalid input": the config errors users read need the
 * same English messages, so every engine module imports zod from here, never from 'zod' or 'zod/mini'.
 */
import { config } from 'zod/mini';
// The one locale, imported by path: `z.locales.en` would bundle all ~50 of them.
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
