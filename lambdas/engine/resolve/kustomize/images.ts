/**
 * The `images:` transformer, as kustomize v5.5 implements it
 * (api/internal/image/image.go, api/filters/imagetag/{legacy,imagetag,updater}.go).
 *
 * Rules worth knowing, all checked against `kubectl kustomize`:
 * - `name` is used as a regular expression, unescaped: `^<name>(:tag)?(@sha256:...)?$`.
 *   So `ghcr.io/acme/api` also matches `ghcrXio/acme/api`, and a name never matches another
 *   repository that merely ends with it (`api` does not match `acme/api`).
 * - `newTag` and `digest` together give `name:newTag@digest` (kustomize keeps both).
 *   `newTag` alone drops any digest; `digest` alone drops any tag.
 * - `containers` and `initContainers` lists anywhere in any resource are rewritten
 *   (CustomResourceDefinition excepted); `ephemeralContainers` are not.
 * - The transformer runs twice over `spec/containers`, `spec/initContainers`,
 *   `spec/template/spec/containers` and `spec/template/spec/initContainers` (legacy filter,
 *   then field specs). That is idempotent except for `tagSuffix`, which kustomize appends twice there.
 */
import type { SourceLocation } from '../../model.js';

export interface ImageTransform {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  tagSuffix?: string;
  location: SourceLocation;
  /**
   * An app's override (`kustomize edit set image name=*:tag`) that kept a value of the kustomization's own
   * entry: where that value is written. It decides the image too, before `location`.
   */
  preservedFrom?: SourceLocation;
}

/** kustomize's image.Split: name, tag and digest as written; the registry port is not a tag. */
export function splitKustomizeImage(image: string): { name: string; tag: string; digest: string } {
  let searchFrom = 0;
  const slash = image.indexOf('/');
  if (slash > 0) searchFrom = slash;
  const search = image.slice(searchFrom);
  let at = search.indexOf('@');
  let colon = search.indexOf(':');
  if (colon < 0 && at < 0) return { name: image, tag: '', digest: '' };
  if (at >= 0 && (at < colon || colon < 0)) {
    at += searchFrom;
    return { name: image.slice(0, at), tag: '', digest: image.slice(at + 1) };
  }
  if (at >= 0 && colon >= 0) {
    at += searchFrom;
    colon += searchFrom;
    return { name: image.slice(0, colon), tag: image.slice(colon + 1, at), digest: image.slice(at + 1) };
  }
  colon += searchFrom;
  return { name: image.slice(0, colon), tag: image.slice(colon + 1), digest: '' };
}

const matcherCache = new Map<string, RegExp | null>();

/** kustomize's image.IsImageMatched: `name` is an (unescaped) regular expression. */
export function isImageMatched(image: string, name: string): boolean {
  let pattern = matcherCache.get(name);
  if (pattern === undefined) {
    try {
      pattern = new RegExp(`^${name}(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$`, 'u');
    } catch {
      pattern = null;
    }
    matcherCache.set(name, pattern);
  }
  return pattern !== null && pattern.test(image);
}

/** The image a matching `images:` entry produces, or undefined when the entry does not match. */
export function transformImage(image: string, entry: ImageTransform): string | undefined {
  if (!isImageMatched(image, entry.name)) return undefined;
  let { name, tag, digest } = splitKustomizeImage(image);
  if (entry.newName) name = entry.newName;
  if (entry.newTag && entry.digest) {
    tag = entry.newTag;
    digest = entry.digest;
  } else if (entry.newTag) {
    tag = entry.newTag;
    digest = '';
  } else if (entry.digest) {
    tag = '';
    digest = entry.digest;
  } else if (entry.tagSuffix) {
    tag += entry.tagSuffix;
    digest = '';
  }
  let result = name;
  if (tag) result += `:${tag}`;
  if (digest) result += `@${digest}`;
  return result;
}

/** Whether an entry changes anything when it matches (an entry with only `name` does not). */
export function hasEffect(entry: ImageTransform): boolean {
  return Boolean(entry.newName || entry.newTag || entry.digest || entry.tagSuffix);
}
