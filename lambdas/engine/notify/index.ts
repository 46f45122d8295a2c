export * from './types.js';
export { renderNotification, renderSetupIncomplete, locationUrl, gitHubWebUrl, packageUrl, compactEvidence, SNS_MAX_MESSAGE_BYTES, DEFAULT_MESSAGE_BUDGET_BYTES, MAX_SUBJECT_CHARS } from './render.js';
export type { RenderOptions } from './render.js';
export { SnsNotifier } from './sns.js';
export type { SnsNotifierOptions } from './sns.js';
export { AlertPolicy, registryHost } from './policy.js';
export type { AlertDecision, AlertPolicyConfig } from './policy.js';
