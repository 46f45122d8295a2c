import { DEFAULT_REGISTRY, DOCKER_HUB_ALIASES, HOST_WITH_PORT, OFFICIAL_REPOSITORY_PREFIX } from './grammar.js';

/** The parts of a reference exactly as written: the name without tag or digest, then tag and digest. */
export interface WrittenParts {
  /** Name as written, registry included when one was written: `nginx`, `ghcr.io/acme/app`. */
  name: string;
  /** Text after the tag separator; `''` for `nginx:`; absent when there is no separator. */
  tag?: string;
  /** Text after `@`; absent when there is no `@`. */
  digest?: string;
}

/**
 * Splits `name[:tag][@digest]` without validating anything. The colon of a registry port
 * (`localhost:5000/app`) is not a tag separator; the first other colon is, so a tag that
 * holds a whole reference (`app:docker.io/x/y:1`) comes back whole and can be reported.
 */
export function splitNameTagDigest(text: string): WrittenParts {
  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const digest = at === -1 ? undefined : text.slice(at + 1);

  const firstSlash = beforeDigest.indexOf('/');
  let searchFrom = 0;
  if (firstSlash !== -1 && HOST_WITH_PORT.test(beforeDigest.slice(0, firstSlash))) searchFrom = firstSlash;
  const colon = beforeDigest.indexOf(':', searchFrom);

  const parts: WrittenParts =
    colon === -1 ? { name: beforeDigest } : { name: beforeDigest.slice(0, colon), tag: beforeDigest.slice(colon + 1) };
  if (digest !== undefined) parts.digest = digest;
  return parts;
}

/** True when the first path component names a registry host rather than a Docker Hub namespace. */
export function looksLikeRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * Splits a name (no tag, no digest) into registry and repository with docker.io normalisation:
 * `nginx` → docker.io + library/nginx, `index.docker.io/x` → docker.io + x.
 * Unlike distribution, a first component with upper case is not taken for a host: `Acme/app`
 * is far more likely a mis-cased Docker Hub or GHCR namespace, and reported as such.
 */
export function splitRegistry(name: string): { registry: string; repository: string; registryWritten: boolean } {
  const slash = name.indexOf('/');
  let registry = DEFAULT_REGISTRY;
  let repository = name;
  let registryWritten = false;
  if (slash !== -1) {
    const first = name.slice(0, slash);
    if (looksLikeRegistryHost(first)) {
      registry = DOCKER_HUB_ALIASES.has(first) ? DEFAULT_REGISTRY : first;
      repository = name.slice(slash + 1);
      registryWritten = true;
    }
  }
  if (registry === DEFAULT_REGISTRY && repository !== '' && !repository.includes('/')) {
    repository = OFFICIAL_REPOSITORY_PREFIX + repository;
  }
  return { registry, repository, registryWritten };
}
