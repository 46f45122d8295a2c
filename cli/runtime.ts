/**
 * Builds the engine's pieces from the command line, the config file and the environment.
 * Precedence: flags, then the config file, then defaults. Secrets come only from the
 * environment and the Docker config file, never from flags (they would show in `ps`).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CONFIG_FILE_NAMES,
  ConfigError,
  loadConfigFile,
  parseConfig,
  registryEntries,
  type AuditorConfig,
  type FailOnValue,
  FAIL_ON_VALUES,
} from '../lambdas/engine/config/schema.js';
import { credentialFromEnv } from '../lambdas/engine/config/secret.js';
import { createImageChecker, type DiagnosingImageChecker, type ExchangeEvent } from '../lambdas/engine/diagnose/index.js';
import { loadRegistryCredentials, makeCredential, type RegistryCredentials } from '../lambdas/engine/registry/credentials.js';
import { ecrHostsFromConfig } from '../lambdas/engine/registry/ecr.js';
import { openSource, SourceUnavailableError, workflowReader } from '../lambdas/engine/sources/index.js';
import { createPathFilter } from '../lambdas/engine/sources/relevance.js';
import type { AuditReport, AuditResult, FileTree, Finding, RepoSource } from '../lambdas/engine/model.js';
import { unresolvedNote, unverifiedNote } from '../lambdas/engine/completeness.js';
import { registerSecret } from '../lambdas/engine/hygiene.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { CiSourceReader, configSourceModels, type CiModel } from '../lambdas/engine/ci/index.js';
import { parseEndpointMapping, parsePlatform, parsePositiveInteger } from './parse.js';

export interface SourceFlags {
  dir?: string;
  repo?: string;
  githubApiUrl?: string;
  /** `--exclude GLOB` (repeatable), added to the config's `exclude:`. */
  exclude?: string[];
}

export interface RegistryFlags {
  config?: string;
  registryEndpoint?: string[];
  platform?: string[];
  concurrency?: string;
  githubApiUrl?: string;
  packagesTokenSeesAll?: boolean;
  /** Exit 0/1 even when images got no verdict (default: exit 3, the run is incomplete). */
  allowUnverified?: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The config file named by --config, else the first of CONFIG_FILE_NAMES in the working directory, else defaults. */
export async function loadCliConfig(path: string | undefined, cwd = process.cwd()): Promise<{ config: AuditorConfig; file?: string }> {
  const file = path ?? CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((candidate) => existsSync(candidate));
  if (!file) return { config: parseConfig({}) };
  if (!existsSync(file)) throw new UsageError(`--config ${file}: no such file`);
  try {
    return { config: await loadConfigFile(file), file };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export function stateDirFrom(flag: string | undefined, env: Env): string {
  return resolve(flag ?? env.IMAGE_DRIFT_STATE_DIR ?? '.image-drift');
}

export function openCliSource(flags: SourceFlags, env: Env, config: AuditorConfig, stateDir: string): RepoSource {
  if (!flags.dir && !flags.repo) throw new UsageError('give the repository to audit: --dir PATH or --repo OWNER/NAME[@REF]');
  if (flags.dir && flags.repo) throw new UsageError('give either --dir or --repo, not both');
  if (flags.dir && !existsSync(flags.dir)) throw new UsageError(`--dir ${flags.dir}: no such directory`);
  if (flags.dir && !statSync(flags.dir).isDirectory()) throw new UsageError(`--dir ${flags.dir}: not a directory (give the repository's root directory)`);
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  registerSecret(token);
  const baseUrl = flags.githubApiUrl ?? config.github.baseUrl;
  const exclude = [...config.exclude, ...(flags.exclude ?? [])];
  try {
    return openSource({
      ...(exclude.length > 0 ? { exclude } : {}),
      ...(flags.dir ? { dir: flags.dir } : {}),
      ...(flags.repo ? { repo: flags.repo } : {}),
      ...(token ? { token } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(config.registries.allow ? { outbound: { allow: config.registries.allow } } : {}),
      cacheDir: resolve(stateDir, 'cache'),
    });
  } catch (error) {
    if (error instanceof SourceUnavailableError && error.reason === 'invalid') throw new UsageError(error.message);
    throw error;
  }
}

/** A --path under which the tree holds no file is a typo, not a clean audit: refuse it (exit 2). */
export function checkPathsExist(tree: FileTree, paths: readonly string[] | undefined): void {
  for (const path of paths ?? []) {
    const inScope = createPathFilter([path]);
    if (!tree.paths().some(inScope)) throw new UsageError(`--path ${path}: ${tree.description.location} has no manifest, values or compose file under it`);
  }
}

/**
 * Registry credentials: the Docker config file and GITHUB_TOKEN/GH_TOKEN (loadRegistryCredentials),
 * plus config entries that name an environment variable (`registries.<host>.credential.env`).
 */
export async function loadCliCredentials(config: AuditorConfig, env: Env): Promise<RegistryCredentials> {
  let base: RegistryCredentials;
  try {
    base = await loadRegistryCredentials({ env, ecr: ecrHostsFromConfig(config.registries) });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const fromConfig = [];
  for (const [host, registry] of registryEntries(config.registries)) {
    if (!registry.credential) continue;
    const basic = credentialFromEnv(host, registry.credential, env);
    if (basic) fromConfig.push(makeCredential({ host, username: basic.username, secret: basic.password, source: 'config' }));
  }
  if (fromConfig.length === 0) return base;
  return base.withExplicit(fromConfig, env.GITHUB_TOKEN || env.GH_TOKEN || undefined);
}

export async function buildChecker(
  flags: RegistryFlags,
  config: AuditorConfig,
  env: Env,
  onExchange?: (event: ExchangeEvent) => void,
): Promise<DiagnosingImageChecker> {
  const credentials = await loadCliCredentials(config, env);
  const registries: Record<string, { endpoint?: string; allowedRealmHosts?: string[] }> = {};
  for (const [host, registry] of registryEntries(config.registries)) {
    registries[host] = {
      ...(registry.endpoint ? { endpoint: registry.endpoint } : {}),
      ...(registry.allowedRealmHosts ? { allowedRealmHosts: registry.allowedRealmHosts } : {}),
    };
  }
  for (const mapping of flags.registryEndpoint ?? []) {
    const [host, endpoint] = parseEndpointMapping(mapping);
    registries[host] = { ...registries[host], endpoint };
  }
  const platforms = flags.platform?.length ? flags.platform.map(parsePlatform) : config.platforms;
  const concurrency = flags.concurrency ? parsePositiveInteger('--concurrency', flags.concurrency) : config.concurrency;
  const githubBaseUrl = flags.githubApiUrl ?? config.github.baseUrl;
  return createImageChecker({
    credentials,
    registries,
    platforms,
    ...(concurrency ? { concurrencyPerRegistry: concurrency } : {}),
    github: {
      ...(githubBaseUrl ? { baseUrl: githubBaseUrl } : {}),
      packagesTokenSeesAllPackages: flags.packagesTokenSeesAll ?? config.github.packagesTokenSeesAllPackages ?? false,
    },
    ...(onExchange ? { onExchange } : {}),
    ...(config.registries.allow ? { outbound: { allow: config.registries.allow } } : {}),
  });
}

/**
 * The exit code of a finished report: 3 when images got no verdict (unless allowed), else 1 for results at or
 * above failOn, else 0. The count of unverified images is added to the report's notes (every format shows them)
 * before it is written, and said on stderr when it decides the exit code.
 */
export function noteUnverified(report: AuditReport): string | undefined {
  const notes = [unverifiedNote(report.results), unresolvedNote(report.findings, report.unknown)].filter((n): n is string => n !== undefined);
  if (notes.length) report.notes = [...(report.notes ?? []), ...notes];
  return notes[0];
}

export function exitCodeForReport(report: AuditReport, failOn: ReadonlySet<FailOnValue>, allowUnverified: boolean): ExitCode {
  // A tag CI can never push is known offline, whatever the registry answered: drift, not "incomplete".
  if (failingCiFindings(report, failOn).length > 0) return ExitCode.Drift;
  const unresolved = unresolvedNote(report.findings, report.unknown);
  if (unresolved) {
    process.stderr.write(`image-drift: the audit is incomplete: ${unresolved}\n`);
    return ExitCode.Incomplete;
  }
  const note = unverifiedNote(report.results);
  if (note && !allowUnverified) {
    process.stderr.write(`image-drift: the audit is incomplete: ${note} Pass --allow-unverified to accept that.\n`);
    return ExitCode.Incomplete;
  }
  return failingResults(report.results, failOn).length > 0 ? ExitCode.Drift : ExitCode.Clean;
}

/** `--fail-on` accepts a comma-separated list and may be repeated; the config's failOn is the default. */
export function resolveFailOn(flags: string[] | undefined, config: AuditorConfig): Set<FailOnValue> {
  if (!flags?.length) return new Set(config.failOn);
  const values = flags.flatMap((flag) => flag.split(',')).map((value) => value.trim().toUpperCase()).filter(Boolean);
  const known = new Set<string>(FAIL_ON_VALUES);
  for (const value of values) {
    if (value === 'NONE') continue;
    if (!known.has(value)) throw new UsageError(`--fail-on: unknown status "${value}"; use NONE or any of ${FAIL_ON_VALUES.join(', ')}`);
  }
  return new Set(values.filter((value): value is FailOnValue => known.has(value)));
}

/**
 * Results whose verdict or drift state is listed in failOn. Without history (pull-request mode,
 * `check`, `--no-history`) a missing tag or repository has no NEVER_PUSHED/DISAPPEARED state yet,
 * so those two count for TAG_MISSING and REPO_MISSING: a gate configured with only them still fails.
 */
export function failingResults(results: readonly AuditResult[], failOn: ReadonlySet<FailOnValue>): AuditResult[] {
  const missingWithoutHistory = (result: AuditResult) =>
    result.drift === undefined &&
    (result.status === 'TAG_MISSING' || result.status === 'REPO_MISSING') &&
    (failOn.has('NEVER_PUSHED') || failOn.has('DISAPPEARED'));
  return results.filter(
    (result) => failOn.has(result.status) || (result.drift !== undefined && failOn.has(result.drift)) || missingWithoutHistory(result),
  );
}

/**
 * CI_NEVER_PUSHES_TAG findings that fail the run: those of audited images (in pull-request mode the
 * new or changed ones) that the registry did not find as OK. They are read offline from the workflows,
 * so a gate fails on them even when the registry cannot be asked. `--fail-on NONE` never fails.
 */
export function failingCiFindings(report: Pick<AuditReport, 'desired' | 'results' | 'findings'>, failOn: ReadonlySet<FailOnValue>): Finding[] {
  if (failOn.size === 0) return [];
  const ok = new Set(report.results.filter((result) => result.status === 'OK').map((result) => result.image));
  const deciding = new Set<string>();
  for (const entry of report.desired) {
    if (entry.ci?.tagPushed !== false || ok.has(entry.image)) continue;
    const decider = entry.locations[entry.locations.length - 1];
    if (decider) deciding.add(`${decider.file}:${decider.line}`);
  }
  return report.findings.filter((finding) => finding.code === 'CI_NEVER_PUSHES_TAG' && deciding.has(`${finding.file}:${finding.line}`));
}

/**
 * Config `sources:`: the CI models of the repositories that build images outside the audited one,
 * read through the GitHub API with the audit's token and ETag cache. A repository that cannot be
 * read is a warning, and its images get no CI verdict (we say nothing rather than guess). The reader
 * is returned for the audit to follow ghcr.io package links with (each repository read once).
 */
export async function loadCiSources(
  config: AuditorConfig,
  env: Env,
  stateDir: string,
  githubApiUrl: string | undefined,
): Promise<{ models: CiModel[]; findings: Finding[]; reader: CiSourceReader }> {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  const baseUrl = githubApiUrl ?? config.github.baseUrl;
  const reader = new CiSourceReader(
    workflowReader({
      ...(token ? { token } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(config.registries.allow ? { outbound: { allow: config.registries.allow } } : {}),
      cacheDir: resolve(stateDir, 'cache'),
    }),
  );
  return { ...(await configSourceModels(config.sources, reader)), reader };
}
