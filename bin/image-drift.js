#!/usr/bin/env node
// Development launcher kept for scripts and docs that name bin/image-drift.js: runs the compiled CLI
// (dist/cli/image-drift.js, the package's "bin"), built by `npm ci`/`npm run build` with scripts/build.mjs.
// No TypeScript loader runs: run `npm run build` after changing the sources.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/image-drift.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('image-drift: the CLI is not built yet; run `npm run build` (npm ci does it too)\n');
  process.exit(2);
}
await import(built.href);
