/**
 * Which files of a repository a source keeps, and how much of them. Shared by every source
 * (local directory, git revision, GitHub archive) so that the same repository gives the same
 * tree whichever way it is read.
 *
 * Two different filters live here, on purpose:
 * - the load rules (`LoadBudget`): file names, skipped directories, size caps, the config's
 *   `exclude:` globs and the optional `restrictTo` option. They decide which files are in the FileTree at all.
 * - the audit scope (`createPathFilter`): the `paths` a user asked to audit. Argo CD apps and
 *   kustomizations may point anywhere in the repository (`../../base`), so the audit scope must
 *   not shrink the tree; the resolver applies it to the apps and directories it reports on.
 *   Use `restrictTo` only when the repository is too big to load and a MISSING_FILE for a
 *   reference outside the restricted paths is acceptable.
 */
import picomatch from 'picomatch';
import type { Finding } from '../model.js';

export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 200 * 1024 * 1024;
/** JSON is kept only when small: Argo/Helm values may be JSON, lock files and dashboards are noise. */
export const DEFAULT_MAX_JSON_BYTES = 256 * 1024;

/** Directory names never descended into, at any depth. */
export const DEFAULT_SKIPPED_DIRECTORIES: readonly string[] = [
  '.git',
  '.github', // CI workflows: `container.image`/`services` look like images but are not desired state
  '.gitlab',
  '.circleci',
  '.idea',
  '.vscode',
  '.terraform',
  '.venv',
  'node_modules',
  'bower_components',
  'vendor',
  'third_party',
  '__pycache__',
];

/**
 * GitHub Actions workflows (`.github/workflows/*.yml` at the root, where GitHub reads them) are kept
 * although `.github` is skipped: the CI model (ci/) reads which tags they push. The resolver never
 * sees them (resolve/workspace.ts hides them), so their `container:` images are not desired state.
 */
export function isCiWorkflowPath(path: string): boolean {
  return /^\.github\/workflows\/[^/]+\.ya?ml$/i.test(path);
}

/** JSON files that are never GitOps input, whatever their size. */
const IGNORED_JSON_NAMES: ReadonlySet<string> = new Set([
  'package.json',
  'package-lock.json',
  'composer.json',
  'composer.lock',
  'tsconfig.json',
  'jsconfig.json',
  '.eslintrc.json',
  'renovate.json',
]);

export interface RelevanceOptions {
  /** Files larger than this are not kept; each gets a LIMIT_EXCEEDED finding naming MAX_FILE_BYTES. Default 2 MiB. */
  maxFileBytes?: number;
  /** Once the kept files add up to this, loading stops with a LIMIT_EXCEEDED finding naming MAX_TOTAL_BYTES. Default 200 MiB. */
  maxTotalBytes?: number;
  /** `.json` files larger than this are skipped silently (they are data, not config). Default 256 KiB. */
  maxJsonBytes?: number;
  /** Directory names skipped at any depth. Default DEFAULT_SKIPPED_DIRECTORIES. */
  skipDirectories?: readonly string[];
  /**
   * Load only files under these repository-relative directories. Not the audit scope (see the
   * module comment): references that leave these directories will be reported as missing.
   */
  restrictTo?: readonly string[];
  /** Do not keep `.github/workflows/*.yml` (the CI model then sees no workflow of this repository). Default false. */
  skipCiWorkflows?: boolean;
  /**
   * Repository-relative path globs (the config's `exclude:`, like Renovate's `ignorePaths`): a file is
   * not loaded (never read) when a glob matches its path or one of its directories (`test`, `**\/e2e`,
   * `dev/docker-compose.yml`, `**\/*.test.yaml`). Dot files match. Default: none.
   */
  exclude?: readonly string[];
}

/** A predicate for `exclude:` globs: true when a glob matches the path or one of its parent directories. */
export function createExcludeFilter(globs: readonly string[] | undefined): (path: string) => boolean {
  const patterns = (globs ?? []).map(normalizeGlob).filter((glob) => glob !== '');
  if (patterns.length === 0) return () => false;
  const matches = picomatch(patterns, { dot: true });
  return (path) => {
    const segments = path.split('/');
    for (let end = 1; end <= segments.length; end++) if (matches(segments.slice(0, end).join('/'))) return true;
    return false;
  };
}

/** `./test/`, `/test` and `test/` all mean the directory `test` at the root. */
function normalizeGlob(glob: string): string {
  return glob.trim().replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

export type RelevantKind = 'yaml' | 'json' | 'chart';

/**
 * Whether a file name is one the extractors read: `*.yaml`, `*.yml`, `*.json` and `Kustomization`
 * (kustomize's extension-less name). `Chart.yaml` and `values*.yaml` are YAML and so included.
 * `chart`: what helm needs besides YAML to render a chart: named templates (`*.tpl`) and packaged
 * subcharts (`charts/*.tgz`).
 */
export function relevantKind(path: string): RelevantKind | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'Kustomization') return 'yaml';
  const lower = name.toLowerCase();
  if (lower.endsWith('.tpl')) return 'chart';
  if (lower.endsWith('.tgz') && /(?:^|\/)charts\/[^/]+$/.test(path)) return 'chart';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return IGNORED_JSON_NAMES.has(lower) ? undefined : 'json';
  return undefined;
}

/** A repository-relative POSIX path without `.`/`..`/empty segments, or undefined when the input cannot be one. */
export function normalizeRepoPath(path: string): string | undefined {
  const segments: string[] = [];
  for (const segment of path.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' || segment.includes('\0')) return undefined;
    segments.push(segment);
  }
  return segments.length > 0 ? segments.join('/') : undefined;
}

/**
 * A predicate for the audit scope: true when `path` is one of `paths` or lies below one of them.
 * No paths (or an empty list, or `.`) means the whole repository.
 */
export function createPathFilter(paths: readonly string[] | undefined): (path: string) => boolean {
  const roots = (paths ?? []).map((p) => normalizeRepoPath(p) ?? '');
  if (roots.length === 0 || roots.includes('')) return () => true;
  return (path) => {
    const normalized = normalizeRepoPath(path) ?? '';
    return roots.some((root) => normalized === root || normalized.startsWith(`${root}/`));
  };
}

/** Applies the load rules to one snapshot. Create one per load; feed it files in a stable (sorted) order. */
export class LoadBudget {
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  readonly maxJsonBytes: number;
  private readonly skipped: ReadonlySet<string>;
  private readonly inScope: (path: string) => boolean;
  private readonly scopeRoots: readonly string[];
  private readonly skipsCi: boolean;
  private readonly isExcluded: (path: string) => boolean;
  private readonly excludedFiles = new Set<string>();
  private readonly excludeGlobs: readonly string[];
  private readonly recorded: Finding[] = [];
  private total = 0;
  private stopped = false;

  constructor(options: RelevanceOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    this.maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
    // `.git` is never content, whatever the caller lists.
    this.skipped = new Set([...(options.skipDirectories ?? DEFAULT_SKIPPED_DIRECTORIES), '.git']);
    this.inScope = createPathFilter(options.restrictTo);
    this.scopeRoots = (options.restrictTo ?? []).map((p) => normalizeRepoPath(p) ?? '');
    this.skipsCi = options.skipCiWorkflows === true;
    this.excludeGlobs = options.exclude ?? [];
    this.isExcluded = createExcludeFilter(this.excludeGlobs);
  }

  /** A key that changes whenever the rules would keep different files (for snapshot caches). */
  static cacheKey(options: RelevanceOptions = {}): string {
    const budget = new LoadBudget(options);
    return JSON.stringify([
      budget.maxFileBytes,
      budget.maxTotalBytes,
      budget.maxJsonBytes,
      [...budget.skipped].sort(),
      [...(options.restrictTo ?? [])].map((p) => normalizeRepoPath(p) ?? '').sort(),
      budget.skipsCi ? 'no-ci' : 'ci-workflows',
      ...(budget.excludeGlobs.length > 0 ? [[...budget.excludeGlobs].sort()] : []),
    ]);
  }

  /** Whether a walker should descend into a directory (path relative to the root). */
  wantsDirectory(path: string): boolean {
    if ((path === '.github' || path === '.github/workflows') && this.skipped.has('.github') && !this.skipsCi) return this.inScope(path) || this.leadsIntoScope(path);
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (this.skipped.has(name)) return false;
    // A directory is wanted when it is inside the load scope or leads to it.
    return this.inScope(path) || this.leadsIntoScope(path);
  }

  /**
   * Whether a path could be kept, judged by its name and directories alone (no finding). A file the
   * load rules would keep but an `exclude:` glob matches is counted (see `notes`) and not kept.
   */
  wantsFile(path: string): boolean {
    if (!this.loadable(path)) return false;
    if (!this.isExcluded(path)) return true;
    this.excludedFiles.add(path);
    return false;
  }

  private loadable(path: string): boolean {
    if (relevantKind(path) === undefined || !this.inScope(path)) return false;
    if (!this.skipsCi && isCiWorkflowPath(path)) return true;
    const segments = path.split('/');
    segments.pop();
    return !segments.some((segment) => this.skipped.has(segment));
  }

  /** What the rules left out on purpose, for the run's notes: how many files `exclude:` kept out. */
  get notes(): string[] {
    const count = this.excludedFiles.size;
    if (count === 0) return [];
    return [`exclude: ${count} file${count === 1 ? '' : 's'} matching ${this.excludeGlobs.join(', ')} ${count === 1 ? 'was' : 'were'} not loaded`];
  }

  /**
   * Decides whether a file of `size` bytes is kept, recording findings for oversized files and for
   * the total cap. Call in the order files will appear in the tree.
   */
  admit(path: string, size: number): boolean {
    if (!this.wantsFile(path)) return false;
    if (relevantKind(path) === 'json' && size > this.maxJsonBytes) return false;
    if (size > this.maxFileBytes) {
      this.recordTooLarge(path, size);
      return false;
    }
    if (this.stopped) return false;
    if (this.total + size > this.maxTotalBytes) {
      this.stopped = true;
      this.recorded.push({
        file: path,
        line: 0,
        code: 'LIMIT_EXCEEDED',
        message: `the repository's relevant files exceed the ${formatBytes(this.maxTotalBytes)} total cap (MAX_TOTAL_BYTES); ${path} and every file after it were not loaded, so what they declare is unknown`,
        severity: 'error',
        hint: 'Audit a subdirectory (--path), or leave out what holds no workloads with `exclude:` in the config (or --exclude).',
      });
      return false;
    }
    this.total += size;
    return true;
  }

  /** For sources that learn a file's real size only after reading it (a file that grew since stat). */
  recordTooLarge(path: string, size: number): void {
    this.recorded.push({
      file: path,
      line: 0,
      code: 'LIMIT_EXCEEDED',
      message: `${path} is ${formatBytes(size)}, over the ${formatBytes(this.maxFileBytes)} per-file cap (MAX_FILE_BYTES); skipped, so what it declares is unknown`,
      severity: 'error',
      hint: 'Images declared in this file are not audited. A file without workloads (a CRD bundle, generated docs) can be left out with `exclude:` in the config (or --exclude); otherwise split it.',
    });
  }

  /** Records a finding that a source made while loading (unreadable file, symlink escape...). */
  record(finding: Finding): void {
    this.recorded.push(finding);
  }

  /** True once the total cap was hit: callers may stop reading. */
  get exhausted(): boolean {
    return this.stopped;
  }

  get keptBytes(): number {
    return this.total;
  }

  get findings(): readonly Finding[] {
    return this.recorded;
  }

  private leadsIntoScope(dir: string): boolean {
    return this.scopeRoots.some((root) => root.startsWith(`${dir}/`));
  }
}

/** Caps whose LIMIT_EXCEEDED means the source stopped loading: every file after it is missing from the tree. */
export const SOURCE_TRUNCATING_CAPS: readonly string[] = ['MAX_TOTAL_BYTES', 'MAX_ARCHIVE_BYTES', 'MAX_ARCHIVE_ENTRIES'];

/** True for a finding that says the source was only partly loaded (a total or archive cap), like a SOURCE_ERROR. */
export function truncatesSource(finding: Finding): boolean {
  return finding.code === 'SOURCE_ERROR' || (finding.code === 'LIMIT_EXCEEDED' && SOURCE_TRUNCATING_CAPS.some((cap) => finding.message.includes(`(${cap})`)));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
