/**
 * Renders one repository path the way the GitOps tool that points at it would: a kustomization
 * (kustomize build, with the app's image overrides), a Helm chart kept in the repository (values
 * only) or a plain manifest directory. Argo CD's precedence: an explicit source type, else a
 * kustomization file, else a Chart.yaml, else a directory.
 */
import type { Finding, SourceLocation } from '../model.js';
import { type Emit, type RenderResult, type YamlPath } from './context.js';
import { renderDirectory, type DirectoryOptions } from './directory.js';
import { renderChart, type ValuesLayer } from './helm.js';
import { chartRenderingOf, renderRepoChart, type ReleaseOptions } from './helm-render.js';
import {
  parseArgoKustomizeImage,
  renderKustomization,
  type KustomizationEdits,
  type KustomizeImageOverride,
  type RenderOptions,
} from './kustomize/index.js';
import type { ResolveRun } from './run.js';
import type { Workspace } from './workspace.js';

export interface RenderRequest {
  path: string;
  emit: Emit;
  /** Where the path is written (for findings about it). */
  at: YamlPath;
  /** `Application x`, `HelmRelease y`: who asks, for messages. */
  label: string;
  prefer?: 'helm' | 'kustomize' | 'directory' | undefined;
  /**
   * Argo CD `kustomize.images` entries, as written. They are merged into the kustomization's `images:` as
   * `kustomize edit set image` does: an entry replaces the one of the same name.
   */
  kustomizeImages?: { text: string; location: SourceLocation }[];
  /** Flux `spec.images`, already parsed: each replaces the kustomization's entry of the same name in place, or is appended. */
  imageOverrides?: KustomizeImageOverride[];
  /** Argo CD's other `kustomize edit`s of the rendered kustomization (namePrefix, nameSuffix, components, patches). */
  kustomizeEdits?: Omit<KustomizationEdits, 'namespace'>;
  /**
   * Argo CD `kustomize.namespace`: `kustomize edit set namespace` on a kustomization; on anything else,
   * the namespace of every rendered workload.
   */
  kustomizeNamespace?: string;
  directory?: DirectoryOptions;
  helmLayers?: ValuesLayer[];
}

/** How Argo CD renders a path: an explicit source type, else a kustomization file, else a Chart.yaml, else a directory. */
export function renderKind(ws: Workspace, request: Pick<RenderRequest, 'path' | 'prefer'>): 'helm' | 'kustomize' | 'directory' {
  const kustomization = ws.kustomizationFile(request.path) !== undefined;
  const chart = ws.isChartDir(request.path);
  if (request.prefer === 'helm' && chart) return 'helm';
  if (request.prefer === 'directory') return 'directory';
  if (kustomization) return 'kustomize';
  if (chart) return 'helm';
  return 'directory';
}

/** renderPath, with a chart rendered by helm itself when the run has chart rendering set up. */
export async function renderAppPath(run: ResolveRun, ws: Workspace, request: RenderRequest, release: ReleaseOptions): Promise<RenderResult> {
  if (!chartRenderingOf(run) || renderKind(ws, request) !== 'helm') return renderPath(run, ws, request);
  const result = await renderRepoChart(run, ws, request.path, request.helmLayers ?? [], release);
  const namespace = request.kustomizeNamespace;
  if (namespace !== undefined) result.images = result.images.map((image) => ({ ...image, workload: { ...image.workload, namespace } }));
  return result;
}

/** Findings that make `kustomize build` fail (it stops; nothing is applied). */
const BUILD_FAILURES = new Set(['INVALID_RESOURCE', 'MISSING_FILE', 'KUSTOMIZE_CYCLE', 'YAML_ERROR']);

/**
 * A kustomization whose build fails renders nothing: Argo CD and Flux report the error and keep what they
 * last synced. Its partial images are withheld from the desired state, with one error saying so at the
 * kustomization, next to the findings that explain the failure.
 */
export function withholdFailedBuild<T extends { images: unknown[]; findings: Finding[] }>(render: T, file: string, label: string): T {
  const cause = render.findings.find((finding) => finding.severity === 'error' && BUILD_FAILURES.has(finding.code));
  if (!cause || render.images.length === 0) return render;
  const count = render.images.length;
  return {
    ...render,
    images: [],
    findings: [
      ...render.findings,
      {
        file,
        line: 0,
        code: 'INVALID_RESOURCE',
        severity: 'error',
        message: `kustomize build of ${label} fails (${cause.code} at ${cause.file}:${cause.line}); its ${count} image${count === 1 ? '' : 's'} ${count === 1 ? 'is' : 'are'} withheld from the desired state: the controller cannot sync it and keeps what it last synced`,
        hint: 'Fix the error reported at that line; until then nothing new from this kustomization is deployed.',
      },
    ],
  };
}

export function renderPath(run: ResolveRun, ws: Workspace, request: RenderRequest): RenderResult {
  const { path } = request;
  const kind = renderKind(ws, request);

  let result: RenderResult;
  if (kind === 'kustomize') {
    const options: RenderOptions = {};
    const overrides = [...(request.imageOverrides ?? [])];
    if (request.imageOverrides?.length) options.extraImagesMerge = 'flux';
    if (request.kustomizeImages?.length) options.extraImagesMerge = 'argocd';
    for (const image of request.kustomizeImages ?? []) {
      const parsed = parseArgoKustomizeImage(image.text, image.location);
      if (parsed) overrides.push(parsed);
      else {
        run.findings.push({
          ...image.location,
          code: 'INVALID_RESOURCE',
          severity: 'error',
          message: `kustomize image override "${image.text}" is not a valid \`kustomize edit set image\` argument; Argo CD fails to render ${request.label}`,
          hint: 'Write <image>:<tag>, <image>@<digest>, <image>=<newimage>[:<tag>|@<digest>]; `*` keeps the kustomization\'s value.',
        });
      }
    }
    if (overrides.length > 0) options.extraImages = overrides;
    const edits: KustomizationEdits = { ...request.kustomizeEdits };
    if (request.kustomizeNamespace !== undefined) edits.namespace = request.kustomizeNamespace;
    if (Object.keys(edits).length > 0) options.edits = edits;
    const rendered = withholdFailedBuild(renderKustomization(ws.tree, path, options), ws.kustomizationFile(path) ?? path, `${path || '.'} (${request.label})`);
    result = {
      images: rendered.images,
      serviceAccounts: rendered.serviceAccounts,
      findings: rendered.findings,
      files: rendered.files,
      kustomizationDirs: rendered.kustomizationDirs,
      documents: rendered.files.filter((file) => ws.isYamlFile(file)).flatMap((file) => ws.documents(file)),
    };
  } else if (kind === 'helm') {
    result = renderChart(ws, path, request.helmLayers ?? []);
  } else {
    result = request.directory ? renderDirectory(ws, path, request.directory) : renderDirectory(ws, path);
  }
  if (request.kustomizeNamespace !== undefined && kind !== 'kustomize') {
    const namespace = request.kustomizeNamespace;
    result.images = result.images.map((image) => ({ ...image, workload: { ...image.workload, namespace } }));
  }
  return result;
}
