/**
 * Reads one kubelet / containerd / CRI-O / Docker image-pull error line (what `kubectl describe pod`
 * or `kubectl get events` shows) and says what it proves: at which stage the pull failed, whether the
 * node sent a credential, which causes remain, which are ruled out, and what to do next.
 *
 * The key facts (see docs/troubleshooting.md and registry-facts §0, §1.1):
 * - containerd writes "failed to fetch anonymous token" only when it had NO credential for the host,
 *   and "failed to fetch oauth token" when it sent one (core/remotes/docker/authorizer.go).
 * - The token step is about the repository, not the tag: a missing tag in a repository the node may
 *   read fails later, with 404 / "not found" / MANIFEST_UNKNOWN.
 * - ghcr.io refuses an anonymous token the same way for a package that does not exist and for a
 *   private one, so "anonymous token … 401/403" leaves exactly two causes: missing, or private.
 * - Upper case never reaches a registry: the kubelet rejects it first as InvalidImageName.
 *
 * Pure: no I/O. Rules are tried in order; the first that recognises the line wins, so the specific
 * ones (network, rate limit, token) come before the generic ones (denied, not found, back-off).
 */
import type { Verdict } from '../model.js';

export type PullStage =
  | 'reference' // the reference was rejected on the node; nothing was sent
  | 'secret' // the pod's imagePullSecrets could not be read
  | 'node' // the image is expected on the node (pull policy Never)
  | 'network' // DNS, TCP, timeouts
  | 'tls' // certificate verification
  | 'auth' // the token request or authorization of the repository
  | 'manifest' // the manifest request
  | 'platform' // the index has no entry for the node's platform
  | 'rate-limit'
  | 'registry' // the registry failed (5xx)
  | 'backoff' // the kubelet is waiting to retry; the cause is in an earlier event
  | 'unknown';

export type PullCause =
  | 'REPO_MISSING'
  | 'TAG_MISSING'
  | 'PRIVATE_NO_CREDENTIALS'
  | 'CREDENTIALS_REJECTED'
  | 'PULL_SECRET_MISSING'
  | 'INVALID_REFERENCE'
  | 'PLATFORM_MISSING'
  | 'RATE_LIMITED'
  | 'NETWORK'
  | 'TLS'
  | 'REGISTRY_ERROR'
  | 'NOT_ON_NODE';

export interface PullCauseDescription {
  /** What the cause is, in a few words. */
  title: string;
  /** What image-drift reports for an image in this situation. */
  imageDriftReports: string;
}

export const PULL_CAUSES: Record<PullCause, PullCauseDescription> = {
  REPO_MISSING: {
    title: 'the repository (package) does not exist: never pushed, deleted, or owner/name misspelt',
    imageDriftReports: 'REPO_MISSING (drift NEVER_PUSHED or DISAPPEARED); NOT_VISIBLE_ANONYMOUSLY when audited without a credential on ghcr.io',
  },
  TAG_MISSING: {
    title: 'the repository exists but the tag (or digest) does not: never pushed or deleted',
    imageDriftReports: 'TAG_MISSING (drift NEVER_PUSHED or DISAPPEARED), with the nearest and most recent tags',
  },
  PRIVATE_NO_CREDENTIALS: {
    title: 'the image is private and the node has no pull secret for the registry',
    imageDriftReports: 'PRIVATE with a credential that can see the package; NOT_VISIBLE_ANONYMOUSLY without one',
  },
  CREDENTIALS_REJECTED: {
    title: 'the pull secret was sent but refused or lacks access (expired, revoked, wrong kind of token, not SSO-authorised)',
    imageDriftReports: 'AUTH_FAILED when the audit uses the same credential; otherwise the image\u2019s own status (often OK or PRIVATE)',
  },
  PULL_SECRET_MISSING: {
    title: 'an imagePullSecret named by the pod or its service account does not exist in the namespace',
    imageDriftReports: 'nothing about the secret (it lives in the cluster, not in Git); the image\u2019s own status, e.g. PRIVATE',
  },
  INVALID_REFERENCE: {
    title: 'the reference is not valid (upper case, bad tag or digest, unqualified short name)',
    imageDriftReports: 'INVALID_REFERENCE at the file and line where it is written',
  },
  PLATFORM_MISSING: {
    title: 'the tag exists but has no image for the node\u2019s OS/architecture',
    imageDriftReports: 'PLATFORM_MISSING when the platform is in the audit\u2019s --platform list',
  },
  RATE_LIMITED: {
    title: 'the registry rate-limited the node (429)',
    imageDriftReports: 'RATE_LIMITED only if the audit is throttled too; usually the image\u2019s own status',
  },
  NETWORK: {
    title: 'the node could not reach the registry (DNS, firewall, proxy, timeout)',
    imageDriftReports: 'the image\u2019s own status (the audit runs from elsewhere); UNREACHABLE if it cannot reach the registry either',
  },
  TLS: {
    title: 'the registry\u2019s certificate was not trusted by the node',
    imageDriftReports: 'UNREACHABLE if the audit fails the same way; otherwise the image\u2019s own status',
  },
  REGISTRY_ERROR: {
    title: 'the registry failed (5xx); usually transient',
    imageDriftReports: 'UNREACHABLE while the registry fails',
  },
  NOT_ON_NODE: {
    title: 'imagePullPolicy Never and the image is not on the node',
    imageDriftReports: 'the image\u2019s own status; the registry was never asked',
  },
};

export interface PullEventInterpretation {
  /** The image the line names, as written in it. */
  image?: string;
  /** Registry host of the image (`docker.io` for Docker Hub short names), or of the URL in the line. */
  registry?: string;
  /** Which rule recognised the line, e.g. `anonymous-token-denied`; `unrecognised` when none did. */
  kind: string;
  stage: PullStage;
  /** Whether the node sent a credential for the registry, when the line proves it. */
  credentialsSent: boolean | 'unknown';
  /** HTTP status quoted in the line. */
  http?: number;
  /** `CAUSE: explanation`, most likely first. */
  likelyCauses: string[];
  /** `CAUSE: why it cannot be the cause of this error`. */
  ruledOut: string[];
  likelyCauseCodes: PullCause[];
  ruledOutCodes: PullCause[];
  /** What an image-drift audit of the image would most likely report. */
  expectedVerdicts: Verdict[];
  nextSteps: string[];
  summary: string;
}

// ─── Parsing the line ─────────────────────────────────────────────────────

interface LineFacts {
  line: string;
  image?: string;
  registry?: string;
  http?: number;
  credentialsSent: boolean | 'unknown';
}

const IMAGE_PATTERNS: readonly RegExp[] = [
  /(?:Failed to pull image|Back-off pulling image|Pulling image|failed to pull and unpack image|failed to resolve reference|Failed to apply default image tag|couldn't parse image (?:name|reference)|Failed to inspect image|Container image)\s+"([^"]+)"/i,
  /docker:\/\/(\S+?):(?:\s|$)/,
  /manifest for (\S+) not found/i,
  /pull access denied for ([^\s,]+)/i,
  /\bimage\s+"([^"]+)"/i,
  /\bimage\s+'([^']+)'/i,
];

const HOST_URL = /https?:\/\/([^/\s"':]+(?::\d+)?)/i;

function extractImage(line: string): string | undefined {
  for (const pattern of IMAGE_PATTERNS) {
    const match = pattern.exec(line);
    if (match?.[1]) return match[1].replace(/^docker:\/\//, '');
  }
  return undefined;
}

/** Registry host of a reference as the kubelet would read it (Docker Hub for single-component or namespace/name). */
export function registryOfImage(image: string): string {
  const slash = image.indexOf('/');
  if (slash === -1) return 'docker.io';
  const first = image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return first === 'index.docker.io' || first === 'registry-1.docker.io' ? 'docker.io' : first.toLowerCase();
  }
  return 'docker.io';
}

function registryOfUrl(line: string): string | undefined {
  const host = HOST_URL.exec(line)?.[1]?.toLowerCase();
  if (!host) return undefined;
  if (host === 'registry-1.docker.io' || host === 'auth.docker.io' || host === 'index.docker.io') return 'docker.io';
  return host;
}

function extractHttp(line: string): number | undefined {
  const explicit =
    /unexpected status(?: code)?(?: from \w+ request to \S+)?:?\s*(\d{3})\b/i.exec(line) ??
    /\b(\d{3}) (?:Forbidden|Unauthorized|Not Found|Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b/i.exec(line) ??
    /\bstatus code:? (\d{3})\b/i.exec(line);
  return explicit?.[1] ? Number(explicit[1]) : undefined;
}

function readFacts(raw: string): LineFacts {
  // JSON-escaped lines (kubectl -o json, log shippers) carry \" for quotes.
  const line = raw.replace(/\\"/g, '"').replace(/\s+/g, ' ').trim();
  const image = extractImage(line);
  const registry = image ? registryOfImage(image) : registryOfUrl(line);
  const credentialsSent = /failed to fetch anonymous token/i.test(line)
    ? false
    : /failed to fetch oauth token/i.test(line)
      ? true
      : 'unknown';
  const facts: LineFacts = { line, credentialsSent };
  if (image) facts.image = image;
  if (registry) facts.registry = registry;
  const http = extractHttp(line);
  if (http !== undefined) facts.http = http;
  return facts;
}

// ─── Helpers for next steps ───────────────────────────────────────────────

/** `owner` and `package` of a ghcr.io image, package URL-encoded for the REST API. */
function ghcrPackage(image: string | undefined): { owner: string; name: string; encoded: string } | undefined {
  if (!image || registryOfImage(image) !== 'ghcr.io') return undefined;
  const path = image.slice(image.indexOf('/') + 1).replace(/@.*$/, '');
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', lastSlash === -1 ? 0 : lastSlash);
  const repository = (colon === -1 ? path : path.slice(0, colon)).toLowerCase();
  const [owner, ...rest] = repository.split('/');
  if (!owner || rest.length === 0) return undefined;
  const name = rest.join('/');
  return { owner, name, encoded: encodeURIComponent(name) };
}

/** The reference with its name (not its tag) lower-cased, when that changes anything. */
export function lowerCaseSuggestion(image: string): string | undefined {
  const at = image.indexOf('@');
  const beforeDigest = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? '' : image.slice(at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash === -1 ? 0 : lastSlash);
  const name = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  const tag = colon === -1 ? '' : beforeDigest.slice(colon);
  const suggestion = `${name.toLowerCase()}${tag}${digest}`;
  return suggestion !== image ? suggestion : undefined;
}

function imageOrPlaceholder(facts: LineFacts): string {
  return facts.image ?? '<image>';
}

function checkWithImageDrift(facts: LineFacts): string {
  const credential = facts.registry === 'ghcr.io' ? ' with GITHUB_TOKEN set to a classic PAT that has read:packages' : '';
  return `Run \`image-drift explain ${imageOrPlaceholder(facts)}\`${credential}: it probes anonymously and with the credential, and says which cause it is.`;
}

function podSecretsStep(facts: LineFacts): string {
  const registry = facts.registry ?? 'the registry';
  return `Check which pull secrets the pod uses and that one is for ${registry}: \`kubectl get pod <pod> -o jsonpath='{.spec.imagePullSecrets}'\` and \`kubectl get serviceaccount <sa> -o jsonpath='{.imagePullSecrets}'\`.`;
}

function packagesApiStep(facts: LineFacts): string | undefined {
  const pkg = ghcrPackage(facts.image);
  if (!pkg) return undefined;
  return `Ask GitHub with a classic PAT (read:packages): \`gh api /orgs/${pkg.owner}/packages/container/${pkg.encoded}\` (\`/users/${pkg.owner}/...\` for a personal account). 200 with "visibility": "private" means a pull secret is needed; 404 from an org member's token means the package was never pushed or was deleted.`;
}

function listTagsStep(facts: LineFacts): string {
  const pkg = ghcrPackage(facts.image);
  if (pkg) {
    return `List the tags CI actually pushed: \`gh api /orgs/${pkg.owner}/packages/container/${pkg.encoded}/versions --jq '.[].metadata.container.tags[]'\` (or \`crane ls ghcr.io/${pkg.owner}/${pkg.name}\`).`;
  }
  const repository = facts.image ? facts.image.replace(/[@].*$/, '').replace(/:[^/:]*$/, '') : '<repository>';
  return `List the tags that exist: \`crane ls ${repository}\` (or \`skopeo list-tags docker://${repository}\`).`;
}

function findInGitStep(): string {
  return 'Find the file and line that ask for this image: `image-drift desired --dir <gitops checkout>` lists every image with its base `image:` line and the overlay entry that sets it.';
}

// ─── Rules ────────────────────────────────────────────────────────────────

interface RuleOutcome {
  kind: string;
  stage: PullStage;
  credentialsSent?: boolean | 'unknown';
  likely: [PullCause, string][];
  ruledOut: [PullCause, string][];
  expectedVerdicts: Verdict[];
  nextSteps: (string | undefined)[];
  summary: string;
}

interface Rule {
  test: RegExp;
  /** A second pattern the line must NOT match. */
  unless?: RegExp;
  interpret(facts: LineFacts): RuleOutcome;
}

const NOTHING_SENT = 'the node rejected the reference before contacting any registry';
const REFERENCE_PARSED = 'the reference parsed (upper case and bad syntax fail earlier, as InvalidImageName)';

function withImage(facts: LineFacts, text: string): string {
  return facts.image ? `${text} (${facts.image})` : text;
}

const RULES: readonly Rule[] = [
  {
    test: /InvalidImageName|must be lowercase|invalid reference format|couldn't parse image|Failed to apply default image tag/i,
    interpret(facts) {
      const upper = /lowercase|upper/i.test(facts.line) || (facts.image !== undefined && lowerCaseSuggestion(facts.image) !== undefined);
      const suggestion = facts.image ? lowerCaseSuggestion(facts.image) : undefined;
      return {
        kind: 'invalid-reference',
        stage: 'reference',
        credentialsSent: false,
        likely: [['INVALID_REFERENCE', upper ? 'the repository path contains upper case; registry paths must be lower case' : 'the text is not a valid image reference']],
        ruledOut: [
          ['REPO_MISSING', NOTHING_SENT],
          ['TAG_MISSING', NOTHING_SENT],
          ['PRIVATE_NO_CREDENTIALS', NOTHING_SENT],
          ['CREDENTIALS_REJECTED', NOTHING_SENT],
          ['NETWORK', NOTHING_SENT],
        ],
        expectedVerdicts: ['INVALID_REFERENCE'],
        nextSteps: [
          suggestion ? `Write the reference in lower case: \`${suggestion}\` (tags may keep their case).` : 'Fix the reference syntax: `[registry/]repository[:tag][@sha256:digest]`, lower-case repository.',
          findInGitStep(),
        ],
        summary: withImage(facts, `InvalidImageName: the kubelet rejected the reference before any request${upper ? ' because it contains upper case' : ''}; no registry was contacted`),
      };
    },
  },
  {
    test: /short[- ]name.*(?:ambiguous|enforcing)|(?:ambiguous|enforcing).*short[- ]name/i,
    interpret(facts) {
      return {
        kind: 'short-name',
        stage: 'reference',
        credentialsSent: false,
        likely: [['INVALID_REFERENCE', 'CRI-O short-name mode refuses an unqualified name that could come from several registries']],
        ruledOut: [['REPO_MISSING', NOTHING_SENT], ['PRIVATE_NO_CREDENTIALS', NOTHING_SENT]],
        expectedVerdicts: [],
        nextSteps: ['Write the fully qualified reference, e.g. `docker.io/library/nginx:1.27` instead of `nginx:1.27`.', findInGitStep()],
        summary: withImage(facts, 'the runtime refused an unqualified (short) image name'),
      };
    },
  },
  {
    test: /ErrImageNeverPull|is not present with pull policy of Never/i,
    interpret(facts) {
      return {
        kind: 'never-pull',
        stage: 'node',
        credentialsSent: false,
        likely: [['NOT_ON_NODE', 'imagePullPolicy is Never and the node does not have the image']],
        ruledOut: [['REPO_MISSING', 'the registry was never asked'], ['PRIVATE_NO_CREDENTIALS', 'the registry was never asked']],
        expectedVerdicts: [],
        nextSteps: ['Set imagePullPolicy to IfNotPresent, or preload the image on every node that may run the pod.'],
        summary: withImage(facts, 'imagePullPolicy Never and the image is not on the node; the registry was not asked'),
      };
    },
  },
  {
    test: /Unable to retrieve some image pull secrets|FailedToRetrieveImagePullSecret/i,
    interpret(facts) {
      const secrets = /secrets \(([^)]+)\)/i.exec(facts.line)?.[1];
      return {
        kind: 'pull-secret-missing',
        stage: 'secret',
        credentialsSent: 'unknown',
        likely: [
          ['PULL_SECRET_MISSING', `the pull secret${secrets ? ` ${secrets}` : ''} does not exist in the pod's namespace; if it was the only one for the registry, the node pulls anonymously`],
        ],
        ruledOut: [],
        expectedVerdicts: ['PRIVATE', 'NOT_VISIBLE_ANONYMOUSLY'],
        nextSteps: [
          `Create the secret in the pod's namespace (\`kubectl get secret ${secrets?.split(',')[0]?.trim() ?? '<name>'} -n <namespace>\` shows it is missing); secrets are not shared across namespaces.`,
          'Read the following "Failed to pull image" event: with the secret missing, a private image fails with "failed to fetch anonymous token".',
        ],
        summary: `an imagePullSecret${secrets ? ` (${secrets})` : ''} named by the pod does not exist, so the node may pull without a credential`,
      };
    },
  },
  {
    test: /toomanyrequests|too many requests|\b429\b|rate limit/i,
    interpret(facts) {
      const dockerHub = facts.registry === 'docker.io';
      return {
        kind: 'rate-limited',
        stage: 'rate-limit',
        likely: [['RATE_LIMITED', dockerHub ? 'Docker Hub limits anonymous pulls per IP (a whole cluster behind one NAT shares it)' : 'the registry throttled the node (429)']],
        ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
        expectedVerdicts: ['OK', 'RATE_LIMITED'],
        nextSteps: [
          dockerHub
            ? 'Authenticate Docker Hub pulls (an imagePullSecret for docker.io) or use a pull-through mirror; the limit is per account or per IP.'
            : 'Wait and retry; check for something pulling in a loop (a crash-looping Job with imagePullPolicy Always).',
          'A 429 says nothing about whether the image exists; image-drift keeps it as RATE_LIMITED, never as missing.',
        ],
        summary: `${facts.registry ?? 'the registry'} rate-limited the pull (429); nothing is known about the image itself`,
      };
    },
  },
  {
    test: /x509:|tls: failed to verify|certificate signed by unknown authority|certificate has expired|certificate is valid for/i,
    interpret(facts) {
      return {
        kind: 'tls',
        stage: 'tls',
        likely: [['TLS', 'the node does not trust the registry certificate (private CA, TLS-intercepting proxy, expired or wrong-host certificate)']],
        ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
        expectedVerdicts: ['OK', 'UNREACHABLE'],
        nextSteps: [
          'Install the CA on the nodes (or in containerd\'s hosts.toml for that registry) or fix the proxy; the image itself was never asked for.',
        ],
        summary: `TLS verification of ${facts.registry ?? 'the registry'} failed; the registry was never asked for the image`,
      };
    },
  },
  {
    test: /i\/o timeout|no such host|connection refused|connection reset|network is unreachable|context deadline exceeded|TLS handshake timeout|dial tcp|no route to host/i,
    interpret(facts) {
      const dns = /no such host/i.test(facts.line);
      return {
        kind: dns ? 'dns' : 'network',
        stage: 'network',
        likely: [
          ['NETWORK', dns ? `the registry host ${facts.registry ?? ''} does not resolve from the node: a typo in the host, or DNS` : 'the node could not reach the registry: egress firewall, proxy, or registry outage'],
        ],
        ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
        expectedVerdicts: ['OK', 'UNREACHABLE'],
        nextSteps: [
          dns
            ? `Check the registry host in the reference (e.g. ghcr.io, not ghcr.com) and DNS from the node: \`kubectl debug node/<node> -it --image=busybox -- nslookup ${facts.registry ?? '<registry>'}\`.`
            : `Check egress from the node to ${facts.registry ?? 'the registry'} on port 443 (firewall, proxy settings of containerd).`,
          checkWithImageDrift(facts),
        ],
        summary: `${dns ? 'DNS lookup' : 'network connection'} to ${facts.registry ?? 'the registry'} failed; the registry was never asked for the image`,
      };
    },
  },
  {
    test: /failed to fetch anonymous token/i,
    interpret(facts) {
      if (facts.http !== undefined && facts.http >= 500) return registryError(facts, 'anonymous-token-server-error');
      const registry = facts.registry ?? 'the registry';
      return {
        kind: 'anonymous-token-denied',
        stage: 'auth',
        credentialsSent: false,
        likely: [
          ['REPO_MISSING', `the package was never pushed, was deleted, or its owner/name is misspelt; ${registry === 'ghcr.io' ? 'ghcr.io' : 'the registry'} refuses an anonymous token for a missing package`],
          ['PRIVATE_NO_CREDENTIALS', `the package exists but is private (ghcr.io answers it the same way), and the node sent no pull secret for ${registry}`],
        ],
        ruledOut: [
          ['INVALID_REFERENCE', REFERENCE_PARSED],
          ['CREDENTIALS_REJECTED', `no credential was sent: containerd says "anonymous token" only when it has none for ${registry}`],
          [
            'TAG_MISSING',
            'not the cause of this error: the token step checks the repository, not the tag (a missing tag in a readable repository fails later with "not found"); a missing tag can still hide behind a private package',
          ],
        ],
        expectedVerdicts: ['PRIVATE', 'REPO_MISSING', 'NOT_VISIBLE_ANONYMOUSLY'],
        nextSteps: [podSecretsStep(facts), packagesApiStep(facts), checkWithImageDrift(facts), findInGitStep()],
        summary: `the node asked ${registry} for an anonymous token${facts.http ? ` and got ${facts.http}` : ' and was refused'}: it sent no pull secret, so the image is either missing (never pushed or deleted) or private`,
      };
    },
  },
  {
    test: /failed to fetch oauth token/i,
    interpret(facts) {
      if (facts.http !== undefined && facts.http >= 500) return registryError(facts, 'oauth-token-server-error');
      const registry = facts.registry ?? 'the registry';
      const ghcr = registry === 'ghcr.io';
      const unauthorized = facts.http === 401;
      return {
        kind: unauthorized ? 'oauth-token-unauthorized' : 'oauth-token-denied',
        stage: 'auth',
        credentialsSent: true,
        likely: [
          [
            'CREDENTIALS_REJECTED',
            unauthorized
              ? 'the pull secret\u2019s username/token is wrong, expired or revoked'
              : ghcr
                ? 'the token cannot read this package: missing read:packages, a fine-grained PAT or GitHub App token (ghcr.io accepts classic PATs), not SSO-authorised for the org, or its user has no access to the package'
                : 'the credential is valid but has no pull access to this repository',
          ],
          ['REPO_MISSING', 'the repository does not exist and the registry answers "denied" rather than "not found"'],
        ],
        ruledOut: [
          ['PRIVATE_NO_CREDENTIALS', 'a credential was sent: containerd says "oauth token" only when it has one for the registry'],
          ['INVALID_REFERENCE', REFERENCE_PARSED],
        ],
        expectedVerdicts: ['AUTH_FAILED', 'PRIVATE', 'REPO_MISSING', 'OK'],
        nextSteps: [
          `Check the pull secret for ${registry}: \`kubectl get secret <name> -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d\`; for ghcr.io the password must be a classic PAT with read:packages, SSO-authorised for the org.`,
          'A bad credential fails even for a public image: the kubelet does not fall back to an anonymous pull. If image-drift says OK anonymously, the secret is the problem.',
          checkWithImageDrift(facts),
        ],
        summary: `the node sent a credential for ${registry} and the token request was refused${facts.http ? ` (${facts.http})` : ''}: the pull secret is wrong, expired or has no access to this repository`,
      };
    },
  },
  {
    test: /pull access denied|insufficient_scope|requested access to the resource is denied|repository does not exist or may require/i,
    interpret(facts) {
      const dockerHub = facts.registry === 'docker.io';
      return {
        kind: 'pull-access-denied',
        stage: 'auth',
        likely: [
          ['REPO_MISSING', dockerHub ? 'Docker Hub answers this for a repository that does not exist (typo, missing namespace: only official images live under library/)' : 'the repository does not exist'],
          ['PRIVATE_NO_CREDENTIALS', 'the repository is private and the node sent no credential, or one without access'],
        ],
        ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
        expectedVerdicts: ['REPO_MISSING', 'PRIVATE', 'NOT_VISIBLE_ANONYMOUSLY'],
        nextSteps: [podSecretsStep(facts), packagesApiStep(facts), checkWithImageDrift(facts), findInGitStep()],
        summary: withImage(facts, `${facts.registry ?? 'the registry'} refused access to the repository: it does not exist, or it is private and the node has no credential that can read it`),
      };
    },
  },
  {
    test: /no match for platform in manifest|no matching manifest for|no image found in manifest list|does not match the specified platform|exec format error/i,
    interpret(facts) {
      const platform =
        /for (?:platform )?((?:linux|windows)\/[\w.]+(?:\/[\w.]+)?)/i.exec(facts.line)?.[1] ??
        /architecture (\w+)/i.exec(facts.line)?.[1];
      const atRuntime = /exec format error/i.test(facts.line);
      return {
        kind: 'platform-missing',
        stage: 'platform',
        likely: [
          ['PLATFORM_MISSING', atRuntime ? 'the image was pulled but its binary is for another architecture (a single-platform image built on another machine)' : `the tag exists but its index has no image for ${platform ?? 'the node\u2019s platform'}`],
        ],
        ruledOut: [
          ['TAG_MISSING', 'the registry served the tag\u2019s index'],
          ['REPO_MISSING', 'the registry served the tag\u2019s index'],
          ['PRIVATE_NO_CREDENTIALS', 'the node was allowed to read the manifest'],
          ['CREDENTIALS_REJECTED', 'the node was allowed to read the manifest'],
        ],
        expectedVerdicts: ['PLATFORM_MISSING'],
        nextSteps: [
          'Build and push the missing platform (`docker buildx build --platform linux/amd64,linux/arm64 --push ...`), or schedule the pod on nodes of a platform the image has (nodeSelector kubernetes.io/arch).',
          `Audit with the cluster's platforms: \`image-drift audit --platform ${platform && platform.includes('/') ? platform : 'linux/arm64'} ...\` reports PLATFORM_MISSING.`,
        ],
        summary: withImage(facts, `the image has no manifest for ${platform ?? 'the node\u2019s platform'}`),
      };
    },
  },
  {
    test: /manifest unknown|name unknown|NAME_UNKNOWN|MANIFEST_UNKNOWN|\bnot found\b/i,
    interpret(facts) {
      const nameUnknown = /name unknown|NAME_UNKNOWN/i.test(facts.line);
      const digest = facts.image?.includes('@sha256:') === true;
      if (nameUnknown) {
        return {
          kind: 'repository-not-found',
          stage: 'manifest',
          likely: [['REPO_MISSING', 'the registry says the repository name is unknown: never pushed, deleted, or misspelt']],
          ruledOut: [
            ['PRIVATE_NO_CREDENTIALS', 'the registry answered about the repository, so access was not the problem'],
            ['INVALID_REFERENCE', REFERENCE_PARSED],
          ],
          expectedVerdicts: ['REPO_MISSING'],
          nextSteps: [packagesApiStep(facts), checkWithImageDrift(facts), findInGitStep()],
          summary: withImage(facts, 'the registry does not know the repository'),
        };
      }
      return {
        kind: 'manifest-not-found',
        stage: 'manifest',
        likely: [
          ['TAG_MISSING', digest ? 'the digest is not in the repository: never pushed, or the version was deleted' : 'the repository exists but this tag was never pushed, or was deleted (or CI pushes other tags, e.g. the commit SHA and latest)'],
          ['REPO_MISSING', 'some registries (not ghcr.io anonymously, not Docker Hub) also answer 404 for a repository that does not exist'],
        ],
        ruledOut: [
          ['PRIVATE_NO_CREDENTIALS', 'the registry let the node ask for the manifest and answered 404, so access was granted'],
          ['CREDENTIALS_REJECTED', 'the registry let the node ask for the manifest'],
          ['INVALID_REFERENCE', REFERENCE_PARSED],
        ],
        expectedVerdicts: ['TAG_MISSING'],
        nextSteps: [listTagsStep(facts), findInGitStep(), checkWithImageDrift(facts)],
        summary: withImage(facts, `the registry has no manifest for this ${digest ? 'digest' : 'tag'}: it was never pushed or was deleted`),
      };
    },
  },
  {
    test: /\b(?:401|403)\b|\bdenied\b|unauthorized|forbidden/i,
    interpret(facts) {
      return {
        kind: 'manifest-denied',
        stage: /manifests?\//i.test(facts.line) ? 'manifest' : 'auth',
        likely: [
          ['PRIVATE_NO_CREDENTIALS', 'the image is private and the node sent no credential for it'],
          ['REPO_MISSING', 'the repository does not exist; registries that hide existence answer "denied"'],
          ['CREDENTIALS_REJECTED', 'a credential was sent but cannot read this repository'],
        ],
        ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
        expectedVerdicts: ['PRIVATE', 'REPO_MISSING', 'NOT_VISIBLE_ANONYMOUSLY', 'AUTH_FAILED'],
        nextSteps: [podSecretsStep(facts), packagesApiStep(facts), checkWithImageDrift(facts)],
        summary: withImage(facts, `${facts.registry ?? 'the registry'} refused the pull${facts.http ? ` (${facts.http})` : ''}: missing, private, or a credential without access`),
      };
    },
  },
  {
    test: /\b5\d\d\b|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout/i,
    interpret(facts) {
      return registryError(facts, 'registry-error');
    },
  },
  {
    test: /Back-off pulling image|ImagePullBackOff|ErrImagePull/i,
    interpret(facts) {
      const backoff = /Back-off|BackOff/i.test(facts.line);
      return {
        kind: backoff ? 'back-off' : 'err-image-pull',
        stage: backoff ? 'backoff' : 'unknown',
        likely: [],
        ruledOut: [],
        expectedVerdicts: [],
        nextSteps: [
          'This line only says the pull failed; the reason is in the "Failed to pull image" event: `kubectl describe pod <pod>` (Events) or `kubectl get events -n <namespace> --field-selector reason=Failed`.',
          'Pass that line to `image-drift explain --from-event \'<line>\'`.',
          facts.image ? checkWithImageDrift(facts) : undefined,
        ],
        summary: withImage(
          facts,
          backoff ? 'the kubelet is waiting before retrying a failed pull; the cause is in an earlier event' : 'the pull failed; this line does not say why',
        ),
      };
    },
  },
];

function registryError(facts: LineFacts, kind: string): RuleOutcome {
  return {
    kind,
    stage: 'registry',
    likely: [['REGISTRY_ERROR', `${facts.registry ?? 'the registry'} failed${facts.http ? ` with ${facts.http}` : ''}; usually transient`]],
    ruledOut: [['INVALID_REFERENCE', REFERENCE_PARSED]],
    expectedVerdicts: ['UNREACHABLE', 'OK'],
    nextSteps: [
      'Retry later and check the registry\u2019s status page (githubstatus.com for ghcr.io).',
      facts.image ? checkWithImageDrift(facts) : undefined,
    ],
    summary: `${facts.registry ?? 'the registry'} answered with a server error${facts.http ? ` (${facts.http})` : ''}; nothing is known about the image`,
  };
}

function describe([cause, why]: [PullCause, string]): string {
  return `${cause}: ${why}`;
}

export function interpretPullEvent(line: string): PullEventInterpretation {
  const facts = readFacts(line);
  const rule = RULES.find((candidate) => candidate.test.test(facts.line) && !candidate.unless?.test(facts.line));
  const outcome: RuleOutcome = rule
    ? rule.interpret(facts)
    : {
        kind: 'unrecognised',
        stage: 'unknown',
        likely: [],
        ruledOut: [],
        expectedVerdicts: [],
        nextSteps: [
          'Paste the full "Failed to pull image" event from `kubectl describe pod <pod>`; this line is not one image-drift recognises.',
          facts.image ? checkWithImageDrift(facts) : undefined,
        ],
        summary: 'the line is not a recognised image-pull error',
      };

  const interpretation: PullEventInterpretation = {
    ...(facts.image ? { image: facts.image } : {}),
    ...(facts.registry ? { registry: facts.registry } : {}),
    kind: outcome.kind,
    stage: outcome.stage,
    credentialsSent: outcome.credentialsSent ?? facts.credentialsSent,
    ...(facts.http !== undefined ? { http: facts.http } : {}),
    likelyCauses: outcome.likely.map(describe),
    ruledOut: outcome.ruledOut.map(describe),
    likelyCauseCodes: outcome.likely.map(([cause]) => cause),
    ruledOutCodes: outcome.ruledOut.map(([cause]) => cause),
    expectedVerdicts: outcome.expectedVerdicts,
    nextSteps: outcome.nextSteps.filter((step): step is string => step !== undefined),
    summary: capitalizeFirst(outcome.summary.endsWith('.') ? outcome.summary : `${outcome.summary}.`),
  };
  return interpretation;
}

function capitalizeFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
