export { parseImageReference, formatReference, repositoryOf } from './parse.js';
export { splitNameTagDigest, splitRegistry, looksLikeRegistryHost, type WrittenParts } from './normalize.js';
export { DEFAULT_REGISTRY, DEFAULT_TAG } from './grammar.js';
