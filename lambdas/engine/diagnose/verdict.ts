/**
 * Turns what the probes saw into one verdict, evidence and hint. Pure: no I/O. The rules, in order:
 *
 * 1. A transient failure (429 or network/5xx after retries) of the probe that decides is RATE_LIMITED or
 *    UNREACHABLE: never "missing", never "private".
 * 2. The primary probe is the authenticated one when it was made, else the anonymous one. With a credential, an
 *    image that anonymous callers can pull (or cannot find in a public repository) may carry no authenticated
 *    probe: the registry's credential canary vouched for the credential on a public image (checker.ts).
 * 3. Primary 200: PRIVATE when the host is one where anonymous visibility matters (ghcr.io) and either the
 *    Packages API says private/internal or the anonymous probe was denied; PLATFORM_MISSING when an index lacks a
 *    configured platform; else OK.
 * 4. Primary 404: NAME_UNKNOWN (manifest or tags/list) → REPO_MISSING; otherwise TAG_MISSING. tags/list only
 *    tells a missing repository from a missing tag (distribution says MANIFEST_UNKNOWN for both on manifests).
 * 5. Primary 401/403: anonymous → NOT_VISIBLE_ANONYMOUSLY unless the Packages API settles it (exists → PRIVATE or
 *    TAG_MISSING; an authoritative absence → REPO_MISSING). Authenticated → the anonymous probe's 404 decides when
 *    anonymous callers may read the repository (TAG_MISSING/REPO_MISSING: no credential can pull it either);
 *    AUTH_FAILED when the credential was
 *    rejected (401 at the token step) or the image is public anyway; NOT_VISIBLE_ANONYMOUSLY when nobody can see
 *    it and the API cannot settle it.
 */
import type { ImageEvidence, ImageReference, PackagesApiEvidence, ProbeEvidence, SourceLink, Verdict } from '../model.js';
import type { CredentialProblem } from '../registry/credential-problem.js';
import { missingIamAction } from '../registry/ecr.js';
import type { RegistryError } from '../registry/errors.js';
import type { ManifestFound } from '../registry/client.js';
import type { PackageLookup, VersionsLookup } from '../registry/github-packages.js';
import { platformAvailable } from '../registry/manifests.js';
import type { Candidate } from './hints.js';

export type ProbeOutcome =
  | { ok: true; found: ManifestFound; platforms?: string[]; platformError?: RegistryError; requests: number }
  | { ok: false; error: RegistryError; requests: number };

export interface ImageFacts {
  ref: ImageReference;
  /** What the cluster without a pull secret would see. */
  anonymous?: ProbeOutcome;
  /** What the configured credential sees. */
  authenticated?: ProbeOutcome;
  /** tags/list of the repository (hints; tells a missing repository from a missing tag). */
  tags?: { list?: string[]; error?: RegistryError; recent?: string[] };
  api?: { pkg?: PackageLookup; versions?: VersionsLookup; ownerPackages?: string[]; candidates?: Candidate[] };
  /** Nearest tags by name, computed by the caller from tags.list or the API. */
  nearest?: string[];
  /** Where the credential came from; `problem` when the configured source (helper, ECR) could not give one. */
  credential?: { source: string; withheld?: string; problem?: CredentialProblem };
  /** Registry hosts where a denied anonymous pull means PRIVATE (default ghcr.io). */
  visibilityMatters: boolean;
  platformsWanted: readonly string[];
  isGhcr: boolean;
  /** The source repository the package links to (Packages API or image label); evidence, never a verdict. */
  sourceLink?: SourceLink;
}

export interface Diagnosis {
  status: Verdict;
  evidence: ImageEvidence;
  hint: string;
}

function isDenied(o: ProbeOutcome | undefined): boolean {
  return !!o && !o.ok && !o.error.transient && (o.error.status === 401 || o.error.status === 403);
}

function transientOf(o: ProbeOutcome | undefined): RegistryError | undefined {
  if (!o) return undefined;
  if (!o.ok) return o.error.transient ? o.error : undefined;
  return o.platformError?.transient ? o.platformError : undefined;
}

function transientVerdict(err: RegistryError): Verdict {
  return err.kind === 'rate-limited' ? 'RATE_LIMITED' : err.kind === 'not-allowed' ? 'REGISTRY_NOT_ALLOWED' : 'UNREACHABLE';
}

export function probeEvidence(o: ProbeOutcome): ProbeEvidence {
  const e: ProbeEvidence = { requests: o.requests };
  if (o.ok) {
    e.http = 200;
    e.stage = 'manifest';
    if (o.found.digest) e.digest = o.found.digest;
    if (o.found.mediaType) e.mediaType = o.found.mediaType;
    if (o.platforms) e.platforms = o.platforms;
    return e;
  }
  const err = o.error;
  if (err.status !== undefined) e.http = err.status;
  if (err.code) e.code = err.code;
  if (err.message) e.message = err.message;
  e.stage = err.transient && err.status === undefined ? 'network' : err.stage === 'ping' ? 'token' : err.stage;
  if (err.transient) e.error = err.message;
  return e;
}

function describe(err: RegistryError): string {
  const parts = [err.stage === 'token' ? 'token endpoint' : err.stage === 'ping' ? '/v2/' : err.stage];
  if (err.status !== undefined) parts.push(`HTTP ${err.status}`);
  if (err.code) parts.push(err.code);
  const base = parts.join(' ');
  return err.message ? `${base}: ${err.message}` : base;
}

const list = (xs: readonly string[]) => xs.map((x) => `\`${x}\``).join(', ');

export function diagnose(f: ImageFacts): Diagnosis {
  const evidence: ImageEvidence = {};
  if (f.anonymous) evidence.anonymous = probeEvidence(f.anonymous);
  if (f.authenticated) evidence.authenticated = probeEvidence(f.authenticated);
  const api: PackagesApiEvidence | undefined = f.api?.pkg ? packagesApiEvidence(f) : undefined;
  if (api) evidence.packagesApi = api;
  const problem = f.credential?.problem;
  if (problem) evidence.credentialProblem = { ...problem };

  const result = (status: Verdict, hint: string): Diagnosis => {
    if (f.credential?.withheld) hint += ` (The credential for ${f.ref.registry} was not sent to the token realm: ${f.credential.withheld}.)`;
    return { status, evidence, hint };
  };
  const { ref } = f;
  const name = `${ref.registry}/${ref.repository}`;
  const wanted = ref.digest ? `manifest ${ref.digest}` : `tag \`${ref.tag ?? 'latest'}\``;
  const primaryMode = f.authenticated ? 'authenticated' : 'anonymous';
  const primary = f.authenticated ?? f.anonymous;
  if (!primary) return result('UNREACHABLE', `${ref.registry} was not probed.`);

  const transient = transientOf(primary);
  if (transient) return result(transientVerdict(transient), transientHint(ref.registry, transient));

  // ── the image answered ───────────────────────────────────────────────────────────────
  if (primary.ok) {
    if (primaryMode === 'authenticated' && f.visibilityMatters) {
      const vis = f.api?.pkg?.visibility;
      const anonOk = f.anonymous?.ok === true;
      if ((vis === 'private' || vis === 'internal') && !anonOk) {
        return result('PRIVATE', privateHint(f, `the Packages API says visibility is ${vis}`));
      }
      if (vis === undefined) {
        const anon = f.anonymous;
        if (anon && !anon.ok && isDenied(anon)) {
          return result('PRIVATE', privateHint(f, `anonymous access was refused (${describe(anon.error)})`));
        }
        const anonTransient = transientOf(f.anonymous);
        if (anonTransient) return result(transientVerdict(anonTransient), `${transientHint(ref.registry, anonTransient)} The image exists for the configured credential; whether anonymous pulls work is unknown.`);
      }
    }
    const available = primary.platforms;
    if (available && f.platformsWanted.length) {
      const missing = f.platformsWanted.filter((p) => !platformAvailable(p, available));
      if (missing.length) {
        return result(
          'PLATFORM_MISSING',
          `${name} ${wanted} is a multi-platform index without ${list(missing)}; it has ${available.length ? list(available) : 'no runnable platform'}. Build and push the missing platform (e.g. docker buildx build --platform ${[...available.filter((p) => !missing.includes(p)), ...missing].join(',')}).`,
        );
      }
    }
    const digest = primary.found.digest ? ` (digest ${primary.found.digest})` : '';
    const publicly = primaryMode === 'anonymous' && f.credential && !problem ? ", anonymously too (public; the configured credential's pull token for it was granted)" : '';
    return result('OK', `${name} ${wanted} is available${digest}${publicly}.`);
  }

  // ── the image did not answer ─────────────────────────────────────────────────────────
  const err = primary.error;
  if (err.status === 404) return missing(f, err, result);

  if (err.status === 401 || err.status === 403) {
    const pkg = f.api?.pkg;
    const versions = f.api?.versions;
    if (primaryMode === 'anonymous') {
      if (problem) {
        // A credential was configured (helper, ECR) but could not be had: say which and why.
        const cause = credentialProblemText(ref.registry, problem);
        if (problem.kind === 'denied') return result('AUTH_FAILED', `${cause} Anonymously: ${describe(err)}.`);
        if (problem.kind === 'transient') return result('UNREACHABLE', `${cause} Anonymously: ${describe(err)}; nothing is known about ${name} until the credential can be had.`);
        return result('NOT_VISIBLE_ANONYMOUSLY', `${notVisibleHint(f, err)} ${cause}`);
      }
      if (pkg?.exists === true) {
        if (versions && versions.http === 200 && !versions.tagFound) return tagMissing(f, result, 'the Packages API lists the package but no version carries it');
        return result('PRIVATE', privateHint(f, `anonymous access was refused (${describe(err)}) and the Packages API says visibility is ${pkg.visibility ?? 'not public'}`));
      }
      if (pkg?.exists === false) return repoMissing(f, result, 'the Packages API answered 404 and the token is configured to see every package');
      return result('NOT_VISIBLE_ANONYMOUSLY', notVisibleHint(f, err));
    }
    // authenticated
    const anonOk = f.anonymous?.ok === true;
    const rejected = err.status === 401 && (err.stage === 'token' || err.code === 'UNAUTHORIZED');
    const who = f.credential ? `The configured credential for ${ref.registry} (${f.credential.source})` : `The configured credential for ${ref.registry}`;
    const iamAction = missingIamAction(err.message);
    if (iamAction && err.status === 403) {
      return result(
        'AUTH_FAILED',
        `${who} may not read ${name}: the registry's IAM check refused \`${iamAction}\` (${describe(err)}). Allow ${iamAction} on this repository for the identity the nodes (and the auditor) pull with.`,
      );
    }
    if (anonOk) {
      return result(
        'AUTH_FAILED',
        `${who} was refused (${describe(err)}), yet ${name} ${wanted} is pullable anonymously: a Pod whose imagePullSecret carries this credential fails (the kubelet does not fall back to anonymous). Renew the token or remove the stale pull secret.`,
      );
    }
    const anonErr = f.anonymous && !f.anonymous.ok && !f.anonymous.error.transient ? f.anonymous.error : undefined;
    if (anonErr?.status === 404) {
      // Anonymous callers may read the repository and it lacks the image: no credential can pull it either.
      const d = missing(f, anonErr, result);
      d.hint += ` ${who} was refused as well (${describe(err)}); renew it${f.isGhcr ? ' (for ghcr.io a classic PAT with read:packages)' : ''}.`;
      return d;
    }
    if (rejected) {
      const anon = f.anonymous;
      const seen = anon && !anon.ok ? ` Anonymously: ${describe(anon.error)}.` : '';
      return result('AUTH_FAILED', `${who} was rejected (${describe(err)}). Renew it${f.isGhcr ? ': for ghcr.io a classic PAT with read:packages' : ''}.${seen}`);
    }
    if (pkg?.exists === true) {
      if (versions && versions.http === 200 && !versions.tagFound) return tagMissing(f, result, 'the Packages API lists the package but no version carries it');
      return result(
        'AUTH_FAILED',
        `${name} exists (Packages API, visibility ${pkg.visibility ?? 'unknown'}) but the configured credential may not pull it (${describe(err)}). Give the token read:packages and access to the package (package settings → Manage access).`,
      );
    }
    if (pkg?.exists === false) return repoMissing(f, result, 'the Packages API answered 404 and the token is configured to see every package');
    const anonTransient = transientOf(f.anonymous);
    if (anonTransient) return result(transientVerdict(anonTransient), transientHint(ref.registry, anonTransient));
    return result('NOT_VISIBLE_ANONYMOUSLY', notVisibleHint(f, err, true));
  }

  // Any other status (400, 405...) tells nothing about the image; never read it as missing.
  return result('UNREACHABLE', `${ref.registry} answered ${describe(err)}; nothing is known about ${name}.`);
}

function credentialProblemText(registry: string, p: CredentialProblem): string {
  const permission = p.missingPermission ? ` (missing permission \`${p.missingPermission}\`)` : '';
  const what = p.kind === 'denied' ? 'was refused' : p.kind === 'transient' ? 'did not answer' : 'could not give one';
  return `The credential for ${registry} comes from ${p.source}, which ${what}: ${p.message}${permission}.`;
}

function packagesApiEvidence(f: ImageFacts): PackagesApiEvidence {
  const pkg = f.api?.pkg;
  const e: PackagesApiEvidence = {};
  if (!pkg) return e;
  e.http = pkg.http;
  if (pkg.message) e.message = pkg.message;
  if (pkg.visibility) e.visibility = pkg.visibility;
  const v = f.api?.versions;
  if (v && v.http === 200) e.tagFound = v.tagFound;
  if (v?.deletedVersionWithTag) e.deletedVersionWithTag = v.deletedVersionWithTag;
  if (f.api?.ownerPackages) e.ownerPackages = f.api.ownerPackages;
  return e;
}

type Result = (status: Verdict, hint: string) => Diagnosis;

function missing(f: ImageFacts, err: RegistryError, result: Result): Diagnosis {
  if (err.code === 'NAME_UNKNOWN') return repoMissing(f, result, 'the registry answered NAME_UNKNOWN');
  const tags = f.tags;
  if (tags?.error) {
    if (tags.error.transient) return result(transientVerdict(tags.error), `${transientHint(f.ref.registry, tags.error)} The manifest answered 404, but whether the repository exists could not be checked.`);
    if (tags.error.status === 404) return repoMissing(f, result, `tags/list answered ${tags.error.code ?? 'HTTP 404'}`);
  }
  if (!tags?.list && f.api?.pkg?.exists === false) return repoMissing(f, result, 'the Packages API answered 404 and the token is configured to see every package');
  return tagMissing(f, result, `the manifest request answered ${describe(err)}`);
}

function tagMissing(f: ImageFacts, result: Result, because: string): Diagnosis {
  const { ref } = f;
  const name = `${ref.registry}/${ref.repository}`;
  const evidenceTags: { nearest: string[]; recent: string[]; total?: number } = { nearest: f.nearest ?? [], recent: (f.api?.versions?.http === 200 ? f.api.versions.recentTags.slice(0, 5) : undefined) ?? f.tags?.recent ?? [] };
  const total = f.tags?.list?.length ?? f.api?.versions?.allTags.length;
  if (total !== undefined) evidenceTags.total = total;
  const d: Diagnosis = result('TAG_MISSING', '');
  d.evidence.tags = evidenceTags;
  const what = ref.digest ? `no manifest ${ref.digest}` : `no tag \`${ref.tag ?? 'latest'}\``;
  let hint = `${name} exists but has ${what} (${because}).`;
  if (total === 0) hint += ' The repository has no tags at all.';
  if (evidenceTags.nearest.length) hint += ` Nearest tags: ${list(evidenceTags.nearest)}.`;
  if (evidenceTags.recent.length) hint += ` Most recent: ${list(evidenceTags.recent)}.`;
  const deleted = f.api?.versions?.deletedVersionWithTag;
  if (deleted) {
    hint += ` A deleted package version (id ${deleted.id}${deleted.deletedAt ? `, deleted ${deleted.deletedAt}` : ''}) carried it: the image disappeared; restore that version or push it again.`;
  } else {
    hint += ref.digest ? ' Pin a digest that exists, or push the image again.' : ` Push \`${ref.tag ?? 'latest'}\` from CI or point the manifests at an existing tag.`;
  }
  d.hint = hint + (f.credential?.withheld ? ` (The credential for ${ref.registry} was not sent to the token realm: ${f.credential.withheld}.)` : '');
  return d;
}

function repoMissing(f: ImageFacts, result: Result, because: string): Diagnosis {
  const { ref } = f;
  const d = result('REPO_MISSING', '');
  const candidates = f.api?.candidates ?? [];
  if (candidates.length) d.evidence.candidates = candidates.map((c) => `${ref.registry}/${c.repository}`);
  let hint = `No repository ${ref.registry}/${ref.repository} (${because}): it was never pushed, or it was deleted.`;
  if (candidates.length) hint += ` Did you mean ${candidates.map((c) => `${ref.registry}/${c.repository} (${c.why})`).join('; ')}?`;
  else if (f.isGhcr) hint += ' GHCR namespaces are the lower-cased GitHub owner; check the owner and package name.';
  d.hint = hint + (f.credential?.withheld ? ` (The credential for ${ref.registry} was not sent to the token realm: ${f.credential.withheld}.)` : '');
  return d;
}

function privateHint(f: ImageFacts, because: string): string {
  const { ref } = f;
  const name = `${ref.registry}/${ref.repository}`;
  const secret = f.isGhcr ? `an imagePullSecret for ${ref.registry} whose token is a classic PAT with read:packages` : `an imagePullSecret for ${ref.registry}`;
  return `${name} exists but is private: ${because}. A cluster pulling without credentials gets 401/403; it needs ${secret}${f.isGhcr ? ', or make the package public' : ''}.`;
}

function notVisibleHint(f: ImageFacts, err: RegistryError, credentialTried = false): string {
  const { ref } = f;
  const name = `${ref.registry}/${ref.repository}`;
  const api = f.api?.pkg;
  const apiNote = api ? ` The Packages API answered HTTP ${api.http}${api.message ? ` (${api.message})` : ''}, which does not settle it${api.http === 404 ? ' (a 404 may only mean the token cannot see the package)' : ''}.` : '';
  if (f.isGhcr) {
    return (
      `${ref.registry} refused ${credentialTried ? 'the configured credential and anonymous access' : 'anonymous access'} to ${name} (${describe(err)}). ` +
      'GHCR answers the same for a private package and for one that was never pushed or was deleted.' +
      apiNote +
      ' To settle it, configure a classic PAT with read:packages (GITHUB_TOKEN) from an org member who can see the package; if the package is private the cluster also needs an imagePullSecret.'
    );
  }
  return `${ref.registry} refused ${credentialTried ? 'the configured credential and anonymous access' : 'anonymous access'} to ${name} (${describe(err)}): the repository is private or does not exist.${apiNote} Configure a credential for ${ref.registry} that can read it to tell which.`;
}

function transientHint(host: string, err: RegistryError): string {
  if (err.kind === 'not-allowed') {
    return `${host} was not contacted: the outbound policy refused it (${err.message}); nothing is known about the image. If it is a registry you trust, list it in registries.allow or configure it under registries.`;
  }
  if (err.kind === 'rate-limited') {
    const after = err.retryAfterMs !== undefined ? `, retry after ${Math.ceil(err.retryAfterMs / 1000)} s` : '';
    return `${host} rate-limited the check (${describe(err)}${after}); nothing is known about the image yet. The next run checks again.`;
  }
  return `${host} could not be reached (${describe(err)}); nothing is known about the image yet. The next run checks again.`;
}
