#!/usr/bin/env node
/**
 * Writes docs/config.schema.json from the zod schema (z.toJSONSchema, input side: defaults optional).
 *   npx tsx bin/generate-config-schema.ts          # write
 *   npx tsx bin/generate-config-schema.ts --check  # exit 1 when the committed file is stale
 * test/cdk/config-schema.test.ts fails when the committed file differs from a fresh generation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildConfigJsonSchema } from '../lambdas/engine/config/schema.js';

export const CONFIG_SCHEMA_PATH = fileURLToPath(new URL('../docs/config.schema.json', import.meta.url));

const fresh = buildConfigJsonSchema();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(CONFIG_SCHEMA_PATH, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== fresh) {
    console.error(`${CONFIG_SCHEMA_PATH} is stale: run npx tsx bin/generate-config-schema.ts`);
    process.exit(1);
  }
  console.log(`${CONFIG_SCHEMA_PATH} is up to date`);
} else {
  writeFileSync(CONFIG_SCHEMA_PATH, fresh);
  console.log(`wrote ${CONFIG_SCHEMA_PATH}`);
}
