/**
 * The distribution reference grammar (distribution/reference regexp.go, OCI distribution-spec),
 * compiled once at module load. Parsing code tests whole strings against these; nothing here
 * builds a regular expression per call.
 */

/** One repository path component: lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
export const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A registry host: DNS name or IPv4 (upper case allowed), or a bracketed IPv6 address; optional port. */
export const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/** A host written with a port (`localhost:5000`, `[::1]:5000`): the colon is not a tag separator. */
export const HOST_WITH_PORT = /^(?:[^:/[\]]+|\[[a-fA-F0-9:]+\]):[0-9]+$/;

/** Tag: `[\w][\w.-]{0,127}`. */
export const TAG = /^[\w][\w.-]{0,127}$/;
export const TAG_MAX_LENGTH = 128;

/** Digest algorithm component(s): `sha256`, `sha512`, `multihash+base58`... */
export const DIGEST_ALGORITHM = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;
/** Digest encoded part, as the reference grammar accepts it (at least 32 hex characters). */
export const DIGEST_HEX = /^[a-fA-F0-9]{32,}$/;
/** Registered algorithms and the exact lower-case hex length their digests must have. */
export const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
export const LOWER_HEX = /^[a-f0-9]+$/;

/** The whole name, `registry/repository`, may not exceed this (NameTotalLengthMax). */
export const NAME_MAX_LENGTH = 255;

/** Template syntaxes that must have been substituted before a text is an image reference. */
export const TEMPLATE_MARKERS = /\{\{|\}\}|\$\{|\$\(|\$[A-Za-z_]/;

export const WHITESPACE = /\s/;

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
export const OFFICIAL_REPOSITORY_PREFIX = 'library/';
/** Host aliases that mean Docker Hub and are rewritten to `docker.io`. */
export const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io']);
