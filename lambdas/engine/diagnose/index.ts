export { createImageChecker, type RegistryCheckOptions, type RegistryHostOptions, type CheckStats, type DiagnosingImageChecker } from './checker.js';
export { diagnose, type ImageFacts, type ProbeOutcome, type Diagnosis } from './verdict.js';
export { nearestTags, repositoryCandidates, type Candidate } from './hints.js';
export { parseImageReference } from '../reference/index.js';
export type { ExchangeEvent } from '../registry/transport.js';
