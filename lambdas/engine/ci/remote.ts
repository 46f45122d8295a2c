/**
 * CI models of repositories other than the audited one: the ones config `sources:` names, and the
 * ones ghcr.io packages link to (`ImageEvidence.sourceLink`: the Packages API's `repository`, or the
 * `org.opencontainers.image.source` label of an existing tag). The shells pass a RepositoryReader
 * (the GitHub API with the run's token and ETag cache, see sources/index.ts `workflowReader`); each
 * repository is read at most once per CiSourceReader, however many images it speaks for. No I/O here.
 *
 * Precision first: a repository that cannot be read is a warning (`sources:`) or a note (a package
 * link), never a finding, and its images get no CI verdict.
 */
import type { DesiredImage, FileTree, Finding, ImageCheckResult } from '../model.js';
import { applyCiModel } from './verdict.js';
import { extractCiModel, type CiModel } from './workflow.js';

/** Reads a GitHub repository `owner/name[@ref]` (its `.github/workflows` and GoReleaser config are enough). Throws when it cannot. */
export type RepositoryReader = (repo: string) => Promise<Pick<FileTree, 'paths' | 'read'>>;

/** Most repositories a run follows package links to (each one is a repository read). */
export const MAX_LINKED_REPOSITORIES = 10;

export class CiSourceReader {
  readonly #read: RepositoryReader;
  readonly #trees = new Map<string, Promise<Pick<FileTree, 'paths' | 'read'>>>();

  constructor(read: RepositoryReader) {
    this.#read = read;
  }

  /** Distinct repositories read (or being read) so far. */
  get reads(): number {
    return this.#trees.size;
  }

  /** Whether `repo` was read already (a second model of it costs nothing). */
  has(repo: string): boolean {
    return this.#trees.has(repo.toLowerCase());
  }

  /** The CI model of `repo`'s workflows, its pushes speaking only for `appliesTo`. Rejects when the repository cannot be read. */
  async model(repo: string, appliesTo: readonly string[]): Promise<CiModel> {
    const key = repo.toLowerCase();
    let tree = this.#trees.get(key);
    if (!tree) {
      tree = this.#read(repo);
      this.#trees.set(key, tree);
    }
    const repository = repo.replace(/@.*$/, '');
    return extractCiModel(await tree, { repository, external: true, appliesTo }).model;
  }
}

/** The models of config `sources:`; an unreadable repository is a SOURCE_ERROR warning and no verdict for its images. */
export async function configSourceModels(
  sources: readonly { repo: string; images: readonly string[] }[],
  reader: CiSourceReader,
): Promise<{ models: CiModel[]; findings: Finding[] }> {
  const models: CiModel[] = [];
  const findings: Finding[] = [];
  for (const entry of sources) {
    try {
      models.push(await reader.model(entry.repo, entry.images));
    } catch (error) {
      findings.push({
        file: '',
        line: 0,
        code: 'SOURCE_ERROR',
        severity: 'warning',
        message: `sources: cannot read the workflows of ${entry.repo}: ${errorText(error)}; no CI verdict for ${entry.images.join(', ')}`,
      });
    }
  }
  return { models, findings };
}

/** Image repositories (`ghcr.io/owner/name`) of desired images that no workflow read so far pushes. */
export function unclaimedGhcrRepositories(images: readonly DesiredImage[]): Set<string> {
  const claimed = new Set<string>();
  const all = new Set<string>();
  for (const image of images) {
    if (!image.reference.ok || image.reference.ref.registry !== 'ghcr.io') continue;
    const repository = `${image.reference.ref.registry}/${image.reference.ref.repository}`;
    all.add(repository);
    if (image.ci) claimed.add(repository);
  }
  return new Set([...all].filter((repository) => !claimed.has(repository)));
}

export interface PackageLinkOutcome {
  /** CI_NEVER_PUSHES_TAG for images whose linked repository's workflows never push their tag. */
  findings: Finding[];
  /** What could not be followed (unreadable repository, cap reached). */
  notes: string[];
  /** Canonical references of the images that got CI evidence from a linked repository. */
  judged: Set<string>;
}

/**
 * For each missing tag (TAG_MISSING) of a ghcr.io image that no workflow read so far pushes, reads the
 * workflows of the repository its package links to and applies them to that image repository only.
 * Sets `ci` on the desired images it judges. The audited repository itself is never read again.
 */
export async function followPackageLinks(input: {
  images: readonly DesiredImage[];
  results: readonly ImageCheckResult[];
  reader: CiSourceReader;
  /** `owner/name` of the audited repository, when it is a GitHub repository. */
  auditedRepository?: string | undefined;
  maxRepositories?: number;
}): Promise<PackageLinkOutcome> {
  const outcome: PackageLinkOutcome = { findings: [], notes: [], judged: new Set() };
  const byImage = new Map<string, DesiredImage[]>();
  for (const image of input.images) {
    if (!image.reference.ok) continue;
    const list = byImage.get(image.reference.ref.canonical) ?? [];
    list.push(image);
    byImage.set(image.reference.ref.canonical, list);
  }
  // Linked repository → the images it is asked about.
  const wanted = new Map<string, { repository: string; entries: DesiredImage[]; imageRepositories: Set<string>; from: Set<string> }>();
  for (const result of input.results) {
    const link = result.evidence.sourceLink;
    const entries = byImage.get(result.image);
    if (result.status !== 'TAG_MISSING' || !link || !entries || entries.some((entry) => entry.ci)) continue;
    const first = entries[0];
    if (!first?.reference.ok || first.reference.ref.registry !== 'ghcr.io') continue;
    if (input.auditedRepository && link.repository.toLowerCase() === input.auditedRepository.toLowerCase()) continue;
    const key = link.repository.toLowerCase();
    const group = wanted.get(key) ?? { repository: link.repository, entries: [], imageRepositories: new Set<string>(), from: new Set<string>() };
    group.entries.push(...entries);
    group.imageRepositories.add(`${first.reference.ref.registry}/${first.reference.ref.repository}`);
    group.from.add(link.from === 'packages-api' ? 'the Packages API' : `the source label of tag ${link.tag ?? '?'}`);
    wanted.set(key, group);
  }
  const max = input.maxRepositories ?? MAX_LINKED_REPOSITORIES;
  let followed = 0;
  for (const group of wanted.values()) {
    const images = [...group.imageRepositories].join(', ');
    if (followed >= max && !input.reader.has(group.repository)) {
      outcome.notes.push(`package link: ${images} link to ${group.repository}, not read (at most ${max} linked repositories per run); no CI verdict`);
      continue;
    }
    if (!input.reader.has(group.repository)) followed++;
    let model: CiModel;
    try {
      model = await input.reader.model(group.repository, [...group.imageRepositories]);
    } catch (error) {
      outcome.notes.push(`package link: cannot read the workflows of ${group.repository} (linked from ${images} by ${[...group.from].join(', ')}): ${errorText(error)}; no CI verdict`);
      continue;
    }
    outcome.findings.push(...applyCiModel(group.entries, model));
    for (const entry of group.entries) if (entry.ci && entry.reference.ok) outcome.judged.add(entry.reference.ref.canonical);
  }
  return outcome;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
