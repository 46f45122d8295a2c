/**
 * The construct library, as another CDK app imports it from the packed package:
 *
 *     import { ImageDriftAuditor } from 'image-drift-auditor/construct';
 *
 * Built by scripts/build.mjs into dist/construct/index.js, next to the prebuilt Lambda bundle
 * (dist/lambda/handler.mjs) the construct deploys when it runs from there.
 */
export { ImageDriftAuditor, type ImageDriftAuditorProps, type ImageDriftAuditorAlarms, heartbeatWindow, verdictAlarmWindow } from './image-drift-auditor.js';
export { ImageDriftStack, type ImageDriftStackProps } from './image-drift-stack.js';
export { resolveAppConfig } from './app-config.js';
export { AuditorConfigSchema, parseConfig, parseConfigText, type AuditorConfig, type AuditorConfigInput } from '../lambdas/engine/config/schema.js';
