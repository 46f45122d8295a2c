/**
 * The `image-drift` command line: commander wiring only. Each command lives in commands/
 * and returns an exit code; errors are mapped to exit codes here, in one place.
 * Commands are imported when run, so `desired` never loads the AWS SDK or the registry client.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, CredentialError } from '../lambdas/engine/config/errors.js';
import { SourceUnavailableError } from '../lambdas/engine/sources/errors.js';
import { EXIT_CODES_HELP, ExitCode, IncompleteAuditError, UsageError } from './exit-codes.js';
import { collect } from './parse.js';
import { redactSecrets } from '../lambdas/engine/hygiene.js';
import { TOOL_VERSION } from './version.js';

function sourceOptions(command: Command): Command {
  return command
    .option('--dir <path>', 'audit a local directory (a git checkout also lets apps read other revisions)')
    .option('--repo <owner/name[@ref]>', 'audit a GitHub repository through the REST API (token from GITHUB_TOKEN or GH_TOKEN)')
    .option('--path <subdir>', 'only apps under this repository path (repeatable)', collect)
    .option('--exclude <glob>', 'do not read files matching this repository path glob, or under a matching directory (repeatable; added to the config\'s exclude:)', collect)
    .option('--repo-url <url>', 'a URL under which Argo CD/Flux apps refer to this repository (repeatable; added to the git remotes or --repo URL; default: those, else the repoURL apps use most for paths that exist here)', collect)
    .option('--github-api-url <url>', 'GitHub API base URL (GitHub Enterprise: https://HOST/api/v3)')
    .option('--ref <name>', 'a branch or tag the audited tree is (repeatable; for plain trees and tarballs): apps following it read the audited tree', collect)
    .addOption(
      new Option('--revisions <mode>', 'how app targetRevisions are read: auto (as Argo CD/Flux resolve them; unreadable ones fall back to the audited tree, marked assumed), strict (unreadable ones stay unresolved), audited (always the audited tree)')
        .choices(['auto', 'strict', 'audited'])
        .default('auto'),
    )
    .option('--state-dir <dir>', 'history and cache directory (default .image-drift, or IMAGE_DRIFT_STATE_DIR)')
    .option('--offline', 'fetch no remote Helm chart: render remote charts from the chart cache only (charts in the repository are rendered as usual)');
}

function registryOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: image-drift.config.yaml|yml|json in the working directory)')
    .option('--registry-endpoint <host=url>', 'serve a registry host from another endpoint, e.g. ghcr.io=http://127.0.0.1:5000 (repeatable)', collect)
    .option('--platform <os/arch>', 'platform the cluster runs (repeatable; default linux/amd64)', collect)
    .option('--concurrency <n>', 'most registry requests in flight per registry (default adaptive: 32 up to 64, halved on 429)')
    .option('--packages-token-sees-all', 'the GitHub token sees every package of the owner, so a Packages API 404 proves absence');
}

const CREDENTIALS_HELP = `
Credentials (never taken from flags, never printed):
  Docker config file   $DOCKER_CONFIG/config.json, else ~/.docker/config.json ("auths" by registry host)
  GITHUB_TOKEN/GH_TOKEN ghcr.io and the GitHub Packages API, when no Docker config entry covers ghcr.io
                       (a classic PAT with read:packages settles "missing or private")
  config file          registries.<host>.credential.env names an environment variable`;

export function buildProgram(setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('image-drift')
    .description('Finds the container images a GitOps repository deploys that a registry cannot serve, and says why.')
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);

  sourceOptions(program.command('desired'))
    .description('list the images each app really deploys (overlays applied), with file:line provenance; no registry traffic')
    .option('--json', 'JSON output (images, findings)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--config <file>', 'config file')
    .action(async (options) => setExitCode(await (await import('./commands/desired.js')).desiredCommand(options)));

  registryOptions(sourceOptions(program.command('audit')))
    .description('check every desired image against its registry and report drift, grouped by status and app')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'sarif', 'markdown']).default('table'))
    .option('--json', 'same as --format json')
    .option('--fail-on <statuses>', 'statuses that make the exit code 1 (comma-separated, repeatable; NONE for never)', collect)
    .option('--changed-since <ref>', 'pull-request mode: only check images new or changed since this git revision')
    .option('--base <ref>', 'pull-request mode with --repo: the base revision (with --head)')
    .option('--head <ref>', 'pull-request mode with --repo: the head revision')
    .option('--allow-unverified', 'exit 0/1 even when images got no verdict (UNREACHABLE, RATE_LIMITED, REGISTRY_NOT_ALLOWED); default: exit 3')
    .option('--no-history', 'do not record this run in the history store')
    .option('--no-progress', 'no progress line on the terminal')
    .option('--markdown-summary <file>', 'also append the Markdown report to this file (e.g. $GITHUB_STEP_SUMMARY)')
    .option(
      '--alerts-preview <file>',
      'write the alert messages the deployed auditor would publish for this run (JSON array of {subject, message}), by the same policy and history; the history records them as announced',
    )
    .addHelpText('after', `${CREDENTIALS_HELP}\n\nDefault --fail-on: NEVER_PUSHED, DISAPPEARED, TAG_MISSING, REPO_MISSING, INVALID_REFERENCE\n${EXIT_CODES_HELP}`)
    .action(async (options) => setExitCode(await (await import('./commands/audit.js')).auditCommand(options)));

  registryOptions(program.command('check'))
    .description('check images named on the command line and say why each cannot be pulled')
    .argument('<image...>', 'image references, e.g. ghcr.io/acme/auth-api:latest')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'sarif', 'markdown']).default('table'))
    .option('--json', 'same as --format json')
    .option('--fail-on <statuses>', 'statuses that make the exit code 1', collect)
    .option('--allow-unverified', 'exit 0/1 even when images got no verdict; default: exit 3')
    .option('--github-api-url <url>', 'GitHub API base URL for the Packages API')
    .addHelpText('after', `${CREDENTIALS_HELP}\n${EXIT_CODES_HELP}`)
    .action(async (images: string[], options) => setExitCode(await (await import('./commands/check.js')).checkCommand(images, options)));

  registryOptions(program.command('explain'))
    .description('walk the diagnosis of one image step by step: every probe with its HTTP status and error code, then the verdict')
    .argument('[image]', 'image reference (optional with --from-event when the event names it)')
    .option('--from-event <line>', 'a kubelet/containerd error line (ErrImagePull, ImagePullBackOff...) to interpret first')
    .option('--json', 'JSON output')
    .option('--github-api-url <url>', 'GitHub API base URL for the Packages API')
    .addHelpText('after', CREDENTIALS_HELP)
    .action(async (image: string | undefined, options) => setExitCode(await (await import('./commands/explain.js')).explainCommand(image, options)));

  const storeOptions = (command: Command): Command =>
    command
      .option('--table <name>', 'query a deployed DynamoDB table instead of the embedded store')
      .option('--region <region>', 'AWS region of --table (default AWS_REGION)')
      .option('--state-dir <dir>', 'embedded store directory (default .image-drift, or IMAGE_DRIFT_STATE_DIR)')
      .option('--json', 'JSON output');

  storeOptions(program.command('history'))
    .description('list recorded drift events (transitions, digest changes), newest first')
    .option('--image <ref>', 'events of one image')
    .option('--app <name>', 'events of one app')
    .option('--status <status>', 'events that entered this drift state')
    .option('--since <duration|date>', 'events newer than this: 7d, 12h, 30m, or a date')
    .option('--until <duration|date>', 'events older than this: 7d, 12h, 30m, or a date')
    .option('--limit <n>', 'at most this many events (default 200)')
    .action(async (options) => setExitCode(await (await import('./commands/history.js')).historyCommand(options)));

  storeOptions(program.command('runs'))
    .description('list recorded runs, newest first: what each audited, changed and announced, and its errors')
    .option('--limit <n>', 'at most this many runs (default 20)')
    .action(async (options) => setExitCode(await (await import('./commands/history.js')).runsCommand(options)));

  storeOptions(program.command('open'))
    .description('list drifts open now (exit code 1 when there are any)')
    .action(async (options) => setExitCode(await (await import('./commands/history.js')).openCommand(options)));

  program
    .command('init')
    .description('write a commented starter image-drift.config.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--output <file>', 'where to write it (default image-drift.config.yaml)')
    .action(async (options) => setExitCode(await (await import('./commands/init.js')).initCommand(options)));

  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit (tests call it in-process). */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Clean;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  // exitOverride() is not inherited by commands created before it is called: set it on each,
  // or a parse error or --help of a subcommand would call process.exit.
  for (const command of [program, ...program.commands]) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // --help and --version end here with exit code 0; commander already printed the message.
    return error.exitCode === 0 ? ExitCode.Clean : ExitCode.Usage;
  }
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof CredentialError) {
    process.stderr.write(`image-drift: ${redactSecrets(error.message)}\n`);
    return ExitCode.Usage;
  }
  if (error instanceof IncompleteAuditError || error instanceof SourceUnavailableError) {
    const hint = error instanceof SourceUnavailableError && error.hint ? `\n  ${error.hint}` : '';
    process.stderr.write(`image-drift: the audit could not complete: ${redactSecrets(error.message)}${hint}\n`);
    return ExitCode.Incomplete;
  }
  process.stderr.write(`image-drift: unexpected error: ${redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
  return ExitCode.Incomplete;
}
