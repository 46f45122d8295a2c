#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with tsx).
 * Config: cdk.json context "imageDrift", or -c imageDrift.configFile=path; see lib/app-config.ts and docs/deploy.md.
 * cdk-nag (AWS Solutions) runs at synth; an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambdas/engine/config/schema.js';
import { resolveAppConfig } from '../lib/app-config.js';
import { ImageDriftStack } from '../lib/image-drift-stack.js';

export const STACK_NAME = 'ImageDriftAuditor';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

let config;
try {
  config = resolveAppConfig((key) => app.node.tryGetContext(key));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

new ImageDriftStack(app, STACK_NAME, {
  config,
  description: 'image-drift-auditor: scheduled audit of a GitOps repository against its container registries',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

app.synth();
