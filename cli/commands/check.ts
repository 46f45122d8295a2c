/**
 * `image-drift check IMAGE…`: the registry verdict for images named on the command line,
 * the incident's manual investigation (docker pull, curl, guessing) automated.
 */
import { checkDesiredImages } from '../../lambdas/engine/audit.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import type { AuditReport, DesiredImage } from '../../lambdas/engine/model.js';
import { createProgress } from '../../lambdas/engine/report/progress.js';
import { type ExitCode, UsageError } from '../exit-codes.js';
import { parseFormat, writeAuditReport } from '../output.js';
import { buildChecker, exitCodeForReport, loadCliConfig, noteUnverified, resolveFailOn, type Env, type RegistryFlags } from '../runtime.js';
import { colorEnabled } from '../color.js';

export interface CheckFlags extends RegistryFlags {
  format?: string;
  json?: boolean;
  failOn?: string[];
}

export async function checkCommand(images: string[], flags: CheckFlags, env: Env = process.env): Promise<ExitCode> {
  if (images.length === 0) throw new UsageError('name at least one image, e.g. image-drift check ghcr.io/acme/auth-api:latest');
  const format = flags.json ? 'json' : parseFormat(flags.format ?? 'table');
  const { config } = await loadCliConfig(flags.config);
  const failOn = resolveFailOn(flags.failOn, config);
  const checker = await buildChecker(flags, config, env);
  const progress = createProgress(process.stderr, { enabled: Boolean(process.stderr.isTTY) && format === 'table' && images.length > 5 });
  const startedAt = new Date();
  const results = await checkDesiredImages(images.map(commandLineImage), checker, (done, total) => progress.update(done, total));
  progress.done();
  const report: AuditReport = {
    source: { kind: 'local', location: 'command line' },
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    results,
    findings: [],
    desired: [],
  };
  noteUnverified(report);
  writeAuditReport(report, format, { color: colorEnabled(env), title: 'image-drift check' });
  return exitCodeForReport(report, failOn, flags.allowUnverified ?? false);
}

/** An image named on the command line, shaped like a desired image without a GitOps location. */
export function commandLineImage(text: string): DesiredImage {
  const reference = parseImageReference(text);
  return {
    image: reference.ok ? reference.ref.canonical : text,
    written: text,
    reference,
    app: { name: '(command line)', kind: 'directory' },
    workload: { kind: 'CommandLine', name: text },
    container: '',
    locations: [],
  };
}
