/**
 * One revision of the repository as the resolver sees it: the file tree, its YAML documents parsed
 * once and cached, and the directory facts the renderers ask about (chart? kustomization? files below?).
 * YAML findings are collected once per file, however often a file is read.
 */
import type { FileTree, Finding } from '../model.js';
import { isHelmTemplateFile, type YamlDocument } from '../yaml/index.js';
import { isDirectory, loadCached } from './kustomize/files.js';
import { isCiWorkflowPath } from '../sources/relevance.js';

function withoutCiWorkflows(tree: FileTree): FileTree {
  const all = tree.paths();
  if (!all.some(isCiWorkflowPath)) return tree;
  const kept = all.filter((path) => !isCiWorkflowPath(path));
  return {
    description: tree.description,
    findings: tree.findings,
    paths: () => kept,
    read: (path) => (isCiWorkflowPath(path) ? undefined : tree.read(path)),
  };
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const YAML_FILE = /\.(?:ya?ml|json)$/i;

export class Workspace {
  private readonly docs = new Map<string, YamlDocument[]>();
  private readonly files: ReadonlySet<string>;
  private readonly dirs = new Map<string, string[]>();
  private chartDirs: Set<string> | undefined;
  /** The tree without CI workflow files: those are read by ci/, never as desired state. */
  readonly tree: FileTree;

  constructor(
    tree: FileTree,
    /** The revision this tree was loaded at; undefined for the audited revision. */
    readonly revision: string | undefined,
    private readonly findings: Finding[],
  ) {
    this.tree = withoutCiWorkflows(tree);
    this.files = new Set(this.tree.paths());
    for (const file of this.tree.paths()) {
      const dir = dirname(file);
      const list = this.dirs.get(dir);
      if (list) list.push(file);
      else this.dirs.set(dir, [file]);
    }
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  text(file: string): string | undefined {
    return this.tree.read(file)?.toString('utf8');
  }

  /** Files directly in `dir` ('' is the root). */
  filesIn(dir: string): readonly string[] {
    return this.dirs.get(dir) ?? [];
  }

  /** Files in `dir` and below. */
  filesBelow(dir: string): string[] {
    if (dir === '') return [...this.tree.paths()];
    const prefix = `${dir}/`;
    return this.tree.paths().filter((file) => file.startsWith(prefix));
  }

  isDirectory(dir: string): boolean {
    return isDirectory(this.tree, dir);
  }

  kustomizationFile(dir: string): string | undefined {
    for (const name of KUSTOMIZATION_FILES) {
      const file = join(dir, name);
      if (this.files.has(file)) return file;
    }
    return undefined;
  }

  isChartDir(dir: string): boolean {
    return this.files.has(join(dir, 'Chart.yaml'));
  }

  /** Every directory holding a Chart.yaml. */
  allChartDirs(): ReadonlySet<string> {
    if (!this.chartDirs) {
      this.chartDirs = new Set(
        [...this.files].filter((file) => file === 'Chart.yaml' || file.endsWith('/Chart.yaml')).map(dirname),
      );
    }
    return this.chartDirs;
  }

  /** The chart directory a file belongs to, if any (the innermost Chart.yaml above it). */
  chartOf(file: string): string | undefined {
    const charts = this.allChartDirs();
    if (charts.size === 0) return undefined;
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      if (charts.has(dir)) return dir;
      if (dir === '') return undefined;
    }
  }

  /** True for files Helm renders (a chart's templates/) or that hold Helm actions: never parsed as YAML. */
  isHelmTemplate(file: string): boolean {
    const chart = this.chartOf(file);
    if (chart !== undefined && file.startsWith(join(chart, 'templates/'))) return true;
    if (!file.includes('templates/')) return false;
    return isHelmTemplateFile(file, this.text(file) ?? '', (dir) => this.isChartDir(dir));
  }

  isYamlFile(file: string): boolean {
    return YAML_FILE.test(file);
  }

  /**
   * The YAML documents of a file, parsed once per tree (the cache is shared with the kustomize
   * renderer, so a file is never parsed twice); findings go to the run's list the first time.
   */
  documents(file: string): YamlDocument[] {
    const cached = this.docs.get(file);
    if (cached) return cached;
    let documents: YamlDocument[] = [];
    if (!this.files.has(file)) {
      this.findings.push({ file, line: 0, code: 'MISSING_FILE', severity: 'error', message: `${file} is not in the repository` });
    } else {
      const loaded = loadCached(this.tree, file);
      documents = loaded.documents;
      this.findings.push(...loaded.findings);
    }
    this.docs.set(file, documents);
    return documents;
  }
}

export function dirname(path: string): string {
  const index = path.lastIndexOf('/');
  return index < 0 ? '' : path.slice(0, index);
}

export function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Resolves `./`, `..` and trailing slashes of a repository path; undefined when it leaves the repository. */
export function normalisePath(path: string, base = ''): string | undefined {
  const parts: string[] = path.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}
