/** `image-drift desired`: the images each app really deploys, with provenance; no registry traffic. */
import { resolveDesiredState } from '../../lambdas/engine/resolve/index.js';
import { ExitCode, IncompleteAuditError } from '../exit-codes.js';
import { writeDesiredState } from '../output.js';
import { checkPathsExist, loadCiSources, loadCliConfig, openCliSource, stateDirFrom, type Env, type SourceFlags } from '../runtime.js';
import { UsageError } from '../exit-codes.js';
import { colorEnabled } from '../color.js';
import { cliChartRendering, type ChartFlags } from '../charts.js';
import { revisionOptions, type RevisionFlags } from '../revisions.js';

export interface DesiredFlags extends SourceFlags, ChartFlags, RevisionFlags {
  path?: string[];
  repoUrl?: string[];
  json?: boolean;
  format?: string;
  config?: string;
  stateDir?: string;
}

export async function desiredCommand(flags: DesiredFlags, env: Env = process.env): Promise<ExitCode> {
  const format = flags.json ? 'json' : (flags.format ?? 'table');
  if (format !== 'json' && format !== 'table') throw new UsageError(`--format must be table or json, got "${format}"`);
  const { config } = await loadCliConfig(flags.config);
  const stateDir = stateDirFrom(flags.stateDir, env);
  const source = openCliSource(flags, env, config, stateDir);
  const tree = await source.load().catch((error: unknown) => {
    throw new IncompleteAuditError(`cannot read ${source.description.location}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  checkPathsExist(tree, flags.path);
  const ciSources = await loadCiSources(config, env, stateDir, flags.githubApiUrl);
  const state = await resolveDesiredState(source, {
    tree,
    ciModels: ciSources.models,
    ...revisionOptions(flags, env),
    ...(flags.path?.length ? { paths: flags.path } : {}),
    ...(flags.repoUrl?.length ? { repoUrls: flags.repoUrl } : {}),
    charts: await cliChartRendering(flags, stateDir, env, config),
  });
  state.findings.push(...ciSources.findings);
  writeDesiredState(state, format, colorEnabled(env));
  return ExitCode.Clean;
}
