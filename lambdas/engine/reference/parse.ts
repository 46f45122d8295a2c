import type { ImageReference, ParsedReference, ReferenceProblem } from '../model.js';
import {
  DEFAULT_TAG,
  DIGEST_ALGORITHM,
  DIGEST_HEX,
  DIGEST_HEX_LENGTH,
  DOMAIN,
  LOWER_HEX,
  NAME_MAX_LENGTH,
  PATH_COMPONENT,
  TAG,
  TAG_MAX_LENGTH,
  TEMPLATE_MARKERS,
  WHITESPACE,
} from './grammar.js';
import { looksLikeRegistryHost, splitNameTagDigest, splitRegistry } from './normalize.js';

/** Finds the first template expression, to quote it in the reason. */
const TEMPLATE_EXPRESSION = /\{\{.*?\}\}|\$\{[^}]*\}?|\$\([^)]*\)?|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*|\}\}/;
const DIGEST_AS_TAG = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const NOT_TAG_CHARACTERS = /[^\w.-]/g;
const NOT_PATH_CHARACTERS = /[^a-z0-9._/-]/g;
const ANY_HEX = /^[a-fA-F0-9]*$/;

/**
 * Parses and normalises an image reference (distribution/reference rules, docker.io defaults).
 * Never throws: invalid text comes back as `{ ok: false, problem }` with a precise reason.
 */
export function parseImageReference(text: string): ParsedReference {
  if (typeof text !== 'string') return invalid(`image is not a string (${describeValue(text)})`);
  if (text === '') return invalid('image reference is empty');

  if (TEMPLATE_MARKERS.test(text)) {
    const expression = TEMPLATE_EXPRESSION.exec(text)?.[0] ?? text;
    return fail({ code: 'UNRESOLVED_TEMPLATE', reason: `unresolved template ${quote(expression)} in ${quote(text)}` });
  }

  if (WHITESPACE.test(text)) {
    const trimmed = text.trim();
    if (trimmed === '') return invalid('image reference is only whitespace');
    if (trimmed !== text && !WHITESPACE.test(trimmed)) {
      const inner = parseImageReference(trimmed);
      const problem: ReferenceProblem = {
        code: 'INVALID_REFERENCE',
        reason: `leading or trailing whitespace around ${quote(trimmed)}`,
      };
      if (inner.ok) problem.suggestion = trimmed;
      return fail(problem);
    }
    return invalid(`contains whitespace: ${quote(text)}`);
  }

  const { name, tag, digest } = splitNameTagDigest(text);

  if (digest !== undefined) {
    const digestProblem = checkDigest(digest, text);
    if (digestProblem) return fail(digestProblem);
  }
  if (tag !== undefined) {
    const tagProblem = checkTag(tag, name, digest);
    if (tagProblem) return fail(tagProblem);
  }
  if (name === '') return invalid(`no repository name before ${text.startsWith('@') ? "'@'" : "':'"} in ${quote(text)}`);

  const { registry, repository, registryWritten } = splitRegistry(name);
  if (registryWritten && !DOMAIN.test(registry)) {
    return invalid(`invalid registry host ${quote(registry)}`);
  }
  const repositoryProblem = checkRepository(repository, registryWritten ? name.slice(0, name.indexOf('/') + 1) : '', text, tag, digest);
  if (repositoryProblem) return fail(repositoryProblem);

  const nameLength = registry.length + 1 + repository.length;
  if (nameLength > NAME_MAX_LENGTH) {
    return invalid(`image name ${registry}/${repository.slice(0, 40)}… is ${nameLength} characters; the limit is ${NAME_MAX_LENGTH}`);
  }

  const ref: ImageReference = { registry, repository, canonical: '' };
  if (tag !== undefined) ref.tag = tag;
  else if (digest === undefined) ref.tag = DEFAULT_TAG;
  if (digest !== undefined) ref.digest = digest;
  ref.canonical = formatReference(ref);
  return { ok: true, ref };
}

/** `registry/repository[:tag][@digest]`: the canonical form used for dedupe, history and output. */
export function formatReference(ref: { registry: string; repository: string; tag?: string; digest?: string }): string {
  let text = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}

/** `registry/repository`, the unit registries authorise and list tags for. */
export function repositoryOf(ref: { registry: string; repository: string }): string {
  return `${ref.registry}/${ref.repository}`;
}

function checkDigest(digest: string, text: string): ReferenceProblem | undefined {
  if (digest === '') return problem(`empty digest after '@' in ${quote(text)}`);
  if (digest.includes('@')) return problem(`more than one '@' in ${quote(text)}`);
  const colon = digest.indexOf(':');
  if (colon === -1) {
    const suggestion = DIGEST_HEX.test(digest) && digest.length === 64 ? text.replace(`@${digest}`, `@sha256:${digest.toLowerCase()}`) : undefined;
    return problem(`digest ${quote(digest)} has no algorithm (expected sha256:<64 hex>)`, suggestion);
  }
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm)) return problem(`digest algorithm ${quote(algorithm)} is not valid`);
  const expectedLength = DIGEST_HEX_LENGTH[algorithm];
  if (expectedLength === undefined) {
    if (!DIGEST_HEX.test(hex)) return problem(`digest ${quote(digest)} must be at least 32 hexadecimal characters after the algorithm`);
    return undefined;
  }
  if (!ANY_HEX.test(hex)) return problem(`${algorithm} digest ${quote(hex)} is not hexadecimal`);
  if (hex.length !== expectedLength) {
    return problem(`${algorithm} digest has ${hex.length} hex characters; it must have ${expectedLength}`);
  }
  if (!LOWER_HEX.test(hex)) return problem(`${algorithm} digest must be lower-case hex`, text.replace(hex, hex.toLowerCase()));
  return undefined;
}

function checkTag(tag: string, name: string, digest: string | undefined): ReferenceProblem | undefined {
  const digestSuffix = digest === undefined ? '' : `@${digest}`;
  if (tag === '') {
    return problem(`empty tag after ':' in ${quote(`${name}:${digestSuffix}`)}`, `${name}${digestSuffix}`);
  }
  if (digest === undefined && DIGEST_AS_TAG.test(tag)) {
    // kustomize `newTag: sha256:...` produces `name:sha256:...`; the digest belongs after '@'.
    return problem(`tag ${quote(tag)} is a digest; a digest follows '@', not ':'`, `${name}@${tag}`);
  }
  if (tag.includes('/') || tag.includes(':')) {
    // Typical of kustomize `newTag: docker.io/x/y:1.0`: the tag field was given a whole reference.
    const inner = parseImageReference(tag + digestSuffix);
    const looksLikeReference = inner.ok && (tag.includes(':') || looksLikeRegistryHost(tag.slice(0, tag.indexOf('/'))));
    return problem(
      `tag ${quote(tag)} holds a whole image reference, not a tag` +
        (looksLikeReference ? ' (in kustomize, put the name in newName and only the tag in newTag)' : ''),
      looksLikeReference ? tag + digestSuffix : undefined,
    );
  }
  if (tag.length > TAG_MAX_LENGTH) return problem(`tag is ${tag.length} characters; the limit is ${TAG_MAX_LENGTH}`);
  if (!TAG.test(tag)) {
    const bad = unique(tag.match(NOT_TAG_CHARACTERS) ?? []);
    return problem(
      bad.length > 0
        ? `tag ${quote(tag)} contains ${bad.map((c) => quote(c)).join(', ')}`
        : `tag ${quote(tag)} must start with a letter, digit or '_'`,
    );
  }
  return undefined;
}

function checkRepository(
  repository: string,
  registryPrefix: string,
  text: string,
  tag: string | undefined,
  digest: string | undefined,
): ReferenceProblem | undefined {
  const components = repository.split('/');
  if (components.every((c) => PATH_COMPONENT.test(c))) return undefined;

  if (components.some((c) => c === '')) {
    return problem(`empty path component in repository ${quote(repository)} (leading, trailing or double '/')`);
  }
  const lower = repository.toLowerCase();
  if (lower !== repository) {
    if (lower.split('/').every((c) => PATH_COMPONENT.test(c))) {
      const writtenName = splitNameTagDigest(text).name;
      const writtenPath = writtenName.slice(registryPrefix.length);
      let suggestion = registryPrefix + writtenPath.toLowerCase();
      if (tag !== undefined) suggestion += `:${tag}`;
      if (digest !== undefined) suggestion += `@${digest}`;
      return problem(`repository path contains upper case (${writtenPath}); registries require lower case`, suggestion);
    }
  }
  const bad = unique(lower.match(NOT_PATH_CHARACTERS) ?? []);
  if (bad.length > 0) {
    return problem(`repository ${quote(repository)} contains ${bad.map((c) => quote(c)).join(', ')}`);
  }
  const badComponent = components.find((c) => !PATH_COMPONENT.test(c.toLowerCase())) ?? repository;
  return problem(
    `path component ${quote(badComponent)} must start and end with a letter or digit, with single '.', '_' or '__' or runs of '-' between`,
  );
}

function problem(reason: string, suggestion?: string): ReferenceProblem {
  const p: ReferenceProblem = { code: 'INVALID_REFERENCE', reason };
  if (suggestion !== undefined) p.suggestion = suggestion;
  return p;
}

function invalid(reason: string): ParsedReference {
  return fail(problem(reason));
}

function fail(p: ReferenceProblem): ParsedReference {
  return { ok: false, problem: p };
}

function quote(text: string): string {
  return `"${text.length > 80 ? `${text.slice(0, 77)}...` : text}"`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function describeValue(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
