#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with tsx).
 * Config: cdk.json context "imageDrift", or -c imageDrift.configFile=path, plus -c imageDrift.<key>=value
 * overrides; see lib/app-config.ts and docs/deploy.md. It is validated with the CLI's zod schema.
 * cdk-nag (AWS Solutions and Serverless packs) runs at synth; an unacknowledged finding fails it.
 * `-c imageDriftHistoryTable=NAME` attaches an existing (retained) history table.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigError, type AuditorConfig } from '../lambdas/engine/config/schema.js';
import { resolveAppConfig } from '../lib/app-config.js';
import { ImageDriftStack } from '../lib/image-drift-stack.js';

const STACK_NAME = 'ImageDriftAuditor';
/** `-c imageDriftHistoryTable=NAME`: attach a retained history table instead of creating one (docs/deploy.md). */
const HISTORY_TABLE_CONTEXT_KEY = 'imageDriftHistoryTable';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));

/** The validated config, or exit 1 with the validation report (no stack trace: the message says it all). */
function loadConfig(): AuditorConfig {
  try {
    return resolveAppConfig((key) => app.node.tryGetContext(key));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return process.exit(1);
  }
}

function historyTableOption(): { historyTableName?: string } {
  const name: unknown = app.node.tryGetContext(HISTORY_TABLE_CONTEXT_KEY);
  if (name === undefined || name === '') return {};
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(name)) {
    console.error(`-c ${HISTORY_TABLE_CONTEXT_KEY} must be a DynamoDB table name (3-255 characters of A-Z a-z 0-9 _ . -)`);
    return process.exit(1);
  }
  return { historyTableName: name };
}

new ImageDriftStack(app, STACK_NAME, {
  config: loadConfig(),
  ...historyTableOption(),
  description: 'image-drift-auditor: scheduled audit of a GitOps repository against its container registries',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

app.synth();
