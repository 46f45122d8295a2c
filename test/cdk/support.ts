/** Shared helpers for the CDK tests: apps with the project's feature flags, bundling skipped unless asked. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { AuditorConfigInput } from '../../lambdas/engine/config/schema.js';

export const CDK_JSON_PATH = fileURLToPath(new URL('../../cdk.json', import.meta.url));

interface CdkJson {
  app: string;
  context: Record<string, unknown>;
}

export function readCdkJson(): CdkJson {
  return JSON.parse(readFileSync(CDK_JSON_PATH, 'utf8')) as CdkJson;
}

/** The feature flags from cdk.json, so tests synthesize what `cdk synth` would. */
export function featureFlags(): Record<string, unknown> {
  const { imageDrift: _config, ...flags } = readCdkJson().context;
  return flags;
}

/** An App like the CLI's; `bundle: false` skips esbuild (the asset is still staged from the entry). */
export function testApp(options: { bundle?: boolean; context?: Record<string, unknown>; outdir?: string } = {}): App {
  return new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...featureFlags(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export const MINIMAL_CONFIG: AuditorConfigInput = {
  repositories: [{ repo: 'acme/gitops', ref: 'main', paths: ['clusters/prod'] }],
};

export const FULL_CONFIG: AuditorConfigInput = {
  repositories: [{ repo: 'acme/gitops' }, { repo: 'acme/platform', ref: 'release' }],
  schedule: 'rate(30 minutes)',
  scheduleTimeZone: 'Europe/Berlin',
  notificationEmails: ['ops@example.com', 'oncall@example.com'],
  registries: {
    'ghcr.io': { credential: { type: 'github-token' } },
    'docker.io': { credential: { type: 'dockerhub', secretKey: 'hub', env: 'DOCKERHUB_CREDENTIALS' } },
  },
  platforms: ['linux/amd64', 'linux/arm64'],
  unverifiedAfterRuns: 4,
  lambda: { memoryMb: 1024, timeoutSeconds: 600 },
  historyRetentionDays: 30,
};
