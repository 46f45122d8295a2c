/**
 * The audit pipeline: desired state → unique images → registry verdicts → one report.
 * Shared by the CLI and the Lambda; history and notification are applied by the caller
 * (see history/), so a dry run and a scheduled run compute exactly the same report.
 */
import type {
  AuditReport,
  AuditResult,
  CheckRequest,
  DesiredImage,
  DesiredState,
  FileTree,
  ImageCheckResult,
  ImageChecker,
  ImageReference,
  RepoSource,
  SourceLocation,
} from './model.js';
import { resolveDesiredState, type ResolveOptions } from './resolve/index.js';
import type { ChartRendering } from './resolve/helm-render.js';
import { selectChangedImages } from './changes.js';
import { redactDeep } from './hygiene.js';
import { followPackageLinks, githubRepositoryOf, locationText, unclaimedGhcrRepositories, type CiSourceReader } from './ci/index.js';

export interface AuditOptions {
  source: RepoSource;
  checker: ImageChecker;
  /** Restrict the audit to apps under these repository paths. */
  paths?: string[];
  /** URLs under which Argo CD apps refer to the audited repository. */
  repoUrls?: string[];
  /** A tree already loaded from `source` (saves a second load). */
  tree?: FileTree;
  /** How app revisions are read (mode, names of the audited tree, pull-request base); see resolve/revisions.ts. */
  resolve?: Pick<ResolveOptions, 'revisions' | 'refs' | 'defaultBranch' | 'pullRequestBase' | 'identity' | 'ciModels'>;
  /** Pull-request mode: only images new or changed relative to this desired state are checked. */
  baseline?: DesiredState;
  onProgress?: (done: number, total: number) => void;
  clock?: () => Date;
  /** Chart rendering with helm (resolve/helm-render.ts); absent: charts are read from values. */
  charts?: ChartRendering;
  /**
   * Reads other repositories' workflows (ci/remote.ts). Given: a ghcr.io image with a missing tag that no
   * workflow read so far pushes is judged by the workflows of the repository its package links to.
   */
  ciSources?: CiSourceReader;
}

export interface AuditOutcome {
  report: AuditReport;
  desired: DesiredState;
}

export async function runAudit(options: AuditOptions): Promise<AuditOutcome> {
  const clock = options.clock ?? (() => new Date());
  const startedAt = clock();
  const desired = await resolveDesiredState(options.source, {
    paths: options.paths,
    repoUrls: options.repoUrls,
    tree: options.tree,
    charts: options.charts,
    ...options.resolve,
  });
  const audited = options.baseline ? selectChangedImages(options.baseline, desired) : desired.images;
  const sourceLinks = options.ciSources ? unclaimedGhcrRepositories(audited) : new Set<string>();
  let results = await checkDesiredImages(audited, options.checker, options.onProgress, sourceLinks.size > 0 ? { sourceLinks } : {});
  const notes = [...(desired.notes ?? [])];
  const findings = [...desired.findings];
  if (options.ciSources && sourceLinks.size > 0) {
    // The audited repository's workflows were read with the tree: a link back to it is not read again.
    const urls = [...(options.repoUrls ?? []), ...(desired.repositoryUrls ?? [])];
    const auditedRepository = desired.source.kind === 'github' ? desired.source.location : urls.map(githubRepositoryOf).find((name) => name !== undefined);
    const linked = await followPackageLinks({ images: audited, results, reader: options.ciSources, auditedRepository });
    findings.push(...linked.findings);
    notes.push(...linked.notes);
    if (linked.judged.size > 0) {
      const groups = groupByImage(audited);
      results = results.map((result) => (linked.judged.has(result.image) ? { ...result, ...withCiEvidence(result, groups.get(result.image) ?? []) } : result));
    }
  }
  if (options.baseline) {
    notes.push(
      `pull-request mode: ${audited.length} of ${desired.images.length} desired image entries are new or changed`,
    );
  }
  const report: AuditReport = {
    source: desired.source,
    startedAt: startedAt.toISOString(),
    durationMs: clock().getTime() - startedAt.getTime(),
    results,
    // A manifest or a YAML error quoting one may hold a credential we also hold: never print or store it.
    findings: redactDeep(findings),
    desired: audited,
    notes: redactDeep(notes),
    ...(desired.repositoryUrls && { repositoryUrls: desired.repositoryUrls }),
    ...(desired.unknown ? { unknown: redactDeep(desired.unknown) } : {}),
  };
  return { report, desired };
}

/**
 * Checks each unique image once and joins the verdict with every place it is desired.
 * Invalid references never reach the registry: they are reported as INVALID_REFERENCE here.
 */
export async function checkDesiredImages(
  images: readonly DesiredImage[],
  checker: ImageChecker,
  onProgress?: (done: number, total: number) => void,
  request: CheckRequest = {},
): Promise<AuditResult[]> {
  const byImage = groupByImage(images);
  const references = new Map<string, ImageReference>();
  for (const [key, group] of byImage) {
    const first = group[0];
    if (first && first.reference.ok) references.set(key, first.reference.ref);
  }
  const verdicts = await checker.check([...references.values()], onProgress, request);
  const verdictByImage = new Map(verdicts.map((verdict) => [verdict.image, verdict]));

  const results: AuditResult[] = [];
  for (const [key, group] of byImage) {
    const first = group[0];
    if (!first) continue;
    const verdict: ImageCheckResult | undefined = first.reference.ok
      ? verdictByImage.get(first.reference.ref.canonical)
      : invalidReferenceResult(first);
    const checked = withCiEvidence(verdict ?? missingVerdict(key), group);
    const pullAccess = pullAccessOf(group);
    const assumedApps = unique(group.filter((entry) => entry.revisionAssumed).map((entry) => entry.app.name));
    results.push({
      ...checked,
      ...(pullAccess && checked.status === 'PRIVATE' ? { hint: `${checked.hint} ${pullAccessHint(pullAccess)}` } : {}),
      apps: unique(group.map((entry) => entry.app.name)),
      locations: uniqueLocations(group.flatMap((entry) => entry.locations)),
      ...(group.every((entry) => entry.revisionAssumed) ? { revisionAssumed: true as const } : {}),
      ...(assumedApps.length > 0 ? { assumedApps } : {}),
      ...(pullAccess ? { pullAccess } : {}),
    });
  }
  // Registry replies (hints, evidence messages) may echo what we sent, the Authorization header included.
  return redactDeep(results).sort((a, b) => a.image.localeCompare(b.image));
}

/**
 * Joins what CI can push (read offline by ci/) with the registry verdict: the evidence always, and
 * for a missing tag the hint says that CI will never push it, naming the workflow.
 */
function withCiEvidence(result: ImageCheckResult, group: readonly DesiredImage[]): ImageCheckResult {
  const ci = group.find((entry) => entry.ci)?.ci;
  if (!ci) return result;
  const out: ImageCheckResult = { ...result, evidence: { ...result.evidence, ci } };
  if (result.status === 'TAG_MISSING' && ci.tagPushed === false) {
    const sites = ci.pushes.map((push) => `${locationText(push)} pushes ${push.tags.map((t) => `\`${t}\``).join(', ')}`).join('; ');
    out.hint = `${result.hint} CI never pushes this tag: ${sites} only.`;
  }
  return out;
}

/** The pull secrets of the group's workloads whose pod spec is known, and the workloads that have none. */
function pullAccessOf(group: readonly DesiredImage[]): AuditResult['pullAccess'] {
  const known = group.filter((entry) => entry.pullAccess !== undefined);
  if (known.length === 0) return undefined;
  const secrets = new Set<string>();
  const without = new Set<string>();
  for (const entry of known) {
    const access = entry.pullAccess;
    if (!access) continue;
    const names = [...access.pullSecrets, ...(access.serviceAccountSecrets ?? [])];
    names.forEach((name) => secrets.add(name));
    if (names.length === 0) {
      const ns = entry.workload.namespace ? `${entry.workload.namespace}/` : '';
      without.add(`${entry.app.name}: ${entry.workload.kind}/${ns}${entry.workload.name} (ServiceAccount ${access.serviceAccount}${access.serviceAccountAt ? '' : ', not in the repository'})`);
    }
  }
  return { secrets: [...secrets].sort(), workloadsWithout: [...without].sort() };
}

function pullAccessHint(access: NonNullable<AuditResult['pullAccess']>): string {
  if (access.workloadsWithout.length > 0) {
    return `No imagePullSecret on the pod spec or its ServiceAccount for: ${access.workloadsWithout.join('; ')}. Add one to the pod spec (imagePullSecrets) or to the ServiceAccount.`;
  }
  return `The workloads pull it with imagePullSecrets ${access.secrets.join(', ')}.`;
}

function groupByImage(images: readonly DesiredImage[]): Map<string, DesiredImage[]> {
  const groups = new Map<string, DesiredImage[]>();
  for (const entry of images) {
    const key = entry.reference.ok ? entry.reference.ref.canonical : entry.written;
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  return groups;
}

function invalidReferenceResult(entry: DesiredImage): ImageCheckResult {
  if (entry.reference.ok) throw new Error('unreachable: reference is valid');
  const { problem } = entry.reference;
  const fix = problem.suggestion ? ` Write \`${problem.suggestion}\` instead.` : '';
  return {
    image: entry.written,
    status: 'INVALID_REFERENCE',
    evidence: {},
    hint:
      problem.code === 'UNRESOLVED_TEMPLATE'
        ? `The image still holds a template after everything we could substitute: ${problem.reason}. No request was sent.`
        : `Not a valid image reference: ${problem.reason}. A cluster reports this as InvalidImageName; no request was sent.${fix}`,
  };
}

/** A checker that skipped an image is a bug, but the report must still say so rather than drop it. */
function missingVerdict(image: string): ImageCheckResult {
  return {
    image,
    status: 'UNREACHABLE',
    evidence: {},
    hint: 'The registry checker returned no verdict for this image; it was not checked.',
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function uniqueLocations(locations: SourceLocation[]): SourceLocation[] {
  const seen = new Set<string>();
  const kept: SourceLocation[] = [];
  for (const location of locations) {
    const key = `${location.file}:${location.line}`;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(location);
  }
  return kept;
}
