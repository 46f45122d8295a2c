/** `image-drift init`: writes a commented starter config that validates as written. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { STARTER_CONFIG_YAML } from '../../lambdas/engine/config/schema.js';
import { ExitCode, UsageError } from '../exit-codes.js';

export async function initCommand(flags: { force?: boolean; output?: string }): Promise<ExitCode> {
  const path = resolve(flags.output ?? 'image-drift.config.yaml');
  if (existsSync(path) && !flags.force) throw new UsageError(`${path} exists; pass --force to overwrite it`);
  await writeFile(path, STARTER_CONFIG_YAML, 'utf8');
  process.stdout.write(`Wrote ${path}. Edit it, then run: image-drift audit --dir . (or --repo OWNER/NAME)\n`);
  return ExitCode.Clean;
}
