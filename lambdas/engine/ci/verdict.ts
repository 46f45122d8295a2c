/**
 * Desired images against the CI model: which workflow pushes each image's repository, with which
 * tag patterns, and whether any pattern can produce the desired tag. When nothing can, the image
 * gets CI_NEVER_PUSHES_TAG. When we cannot tell (no workflow names the repository, or only pushes
 * whose image name is entirely unknown), we say nothing: precision first.
 */
import type { CiEvidence, CiPushEvidence, DesiredImage, Finding, ImageReference } from '../model.js';
import { looksLikeRegistryHost } from '../reference/index.js';
import { describe, isLiteral, literalText, matches, type Pattern } from './pattern.js';
import type { CiModel, CiPush } from './workflow.js';

/** The evidence for one image reference, or undefined when no workflow we understood pushes its repository. */
export function ciEvidenceFor(model: CiModel, ref: ImageReference): CiEvidence | undefined {
  const names = nameForms(ref);
  const repository = `${ref.registry}/${ref.repository}`;
  const relevant = model.pushes.filter(
    (push) => (!push.appliesTo || push.appliesTo.some((glob) => imageGlob(glob).test(repository))) && names.some((name) => matches(push.name, name, 'i')),
  );
  if (!relevant.some((push) => claimsName(push.name))) return undefined;
  const pushes = relevant.map((push) => pushEvidence(push, ref));
  const evidence: CiEvidence = { pushes };
  if (ref.tag !== undefined) {
    const tag = ref.tag;
    evidence.tagPushed = relevant.some((push) => push.tags.some((pattern) => matches(pattern, tag)));
  }
  return evidence;
}

/**
 * A name pattern precise enough to say "this workflow pushes that repository": fully literal, or a
 * literal owner before the first hole (`ghcr.io/acme/<matrix.service>`), or a literal `/owner/name`
 * after the last one (`<env.REGISTRY>/acme/api`). `ghcr.io/<github.repository>` claims nothing.
 */
export function claimsName(name: Pattern): boolean {
  if (isLiteral(name)) return true;
  const first = name[0];
  const prefix = first && 'text' in first ? first.text : '';
  const segments = prefix.split('/').slice(0, -1).filter((s) => s !== '');
  if (segments.length > 0 && looksLikeRegistryHost(segments[0] ?? '')) segments.shift();
  if (segments.length > 0) return true;
  const last = name[name.length - 1];
  const suffix = last && 'text' in last ? last.text : '';
  return /^\/[^/]+\/[^/]+/.test(suffix);
}

/** The spellings a workflow may use for a repository: `ghcr.io/acme/api`; for Docker Hub also `acme/api`, `nginx`. */
function nameForms(ref: ImageReference): string[] {
  const forms = [`${ref.registry}/${ref.repository}`];
  if (ref.registry === 'docker.io') {
    forms.push(ref.repository, `index.docker.io/${ref.repository}`, `registry-1.docker.io/${ref.repository}`);
    if (ref.repository.startsWith('library/')) forms.push(ref.repository.slice('library/'.length));
  }
  return forms;
}

function pushEvidence(push: CiPush, ref: ImageReference): CiPushEvidence {
  const out: CiPushEvidence = {
    workflow: push.workflow,
    startLine: push.startLine,
    endLine: push.endLine,
    job: push.job,
    via: push.via,
    name: isLiteral(push.name) ? literalText(push.name) : describe(push.name),
    tags: [...new Set(push.tags.map(describe))],
  };
  if (push.repository) out.repository = push.repository;
  if (ref.tag !== undefined) {
    const tag = ref.tag;
    out.tagPushed = push.tags.some((pattern) => matches(pattern, tag));
  }
  return out;
}

/** Sets `ci` on every desired image some workflow pushes and returns a finding for each one whose tag no pattern produces. */
export function applyCiModel(images: DesiredImage[], model: CiModel): Finding[] {
  const findings: Finding[] = [];
  if (model.pushes.length === 0) return findings;
  const cache = new Map<string, CiEvidence | undefined>();
  for (const image of images) {
    if (!image.reference.ok) continue;
    const ref = image.reference.ref;
    if (!cache.has(ref.canonical)) cache.set(ref.canonical, ciEvidenceFor(model, ref));
    const evidence = cache.get(ref.canonical);
    if (!evidence) continue;
    image.ci = evidence;
    if (evidence.tagPushed !== false) continue;
    const decider = image.locations[image.locations.length - 1];
    findings.push({
      file: decider?.file ?? '',
      line: decider?.line ?? 0,
      code: 'CI_NEVER_PUSHES_TAG',
      severity: 'error',
      message: neverPushedMessage(image.written, ref, evidence),
      hint: neverPushedHint(ref, evidence),
    });
  }
  return findings;
}

export function neverPushedMessage(written: string, ref: ImageReference, evidence: CiEvidence): string {
  const repository = `${ref.registry}/${ref.repository}`;
  const sites = evidence.pushes.map((push) => {
    const as = push.name.toLowerCase() === repository ? '' : ` (as ${push.name})`;
    const from = push.repository ? `${push.repository}: ` : '';
    return `${from}${locationText(push)} pushes ${repository}${as} with tags ${push.tags.map((t) => `\`${t}\``).join(', ')}`;
  });
  return `${written}: ${sites.join('; ')} only`;
}

function neverPushedHint(ref: ImageReference, evidence: CiEvidence): string {
  const tags = [...new Set(evidence.pushes.flatMap((push) => push.tags))].map((t) => `\`${t}\``).join(', ');
  return `No workflow can ever push tag \`${ref.tag ?? ''}\`; waiting will not help. Point the manifest at a tag CI pushes (${tags}), or add the tag to the workflow (a \`-t\`, a build-push-action \`tags:\` entry or a metadata-action \`type=raw\` rule).`;
}

export function locationText(push: Pick<CiPushEvidence, 'workflow' | 'startLine' | 'endLine'>): string {
  return push.endLine > push.startLine ? `${push.workflow}:${push.startLine}-${push.endLine}` : `${push.workflow}:${push.startLine}`;
}

/** `ghcr.io/acme/*` (one path segment), `ghcr.io/acme/**` (any depth); case-insensitive. No picomatch: the Lambda bundle has a size budget. */
function imageGlob(glob: string): RegExp {
  const source = glob.split('**').map((piece) => piece.split('*').map((text) => text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^/]*')).join('.*');
  return new RegExp(`^${source}$`, 'i');
}
