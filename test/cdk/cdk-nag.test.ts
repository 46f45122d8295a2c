import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AuditorConfigSchema } from '../../lambdas/engine/config/schema.js';
import { ImageDriftStack } from '../../lib/image-drift-stack.js';
import { FULL_CONFIG, testApp } from './support.js';

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[]; suppressedViolations: { ruleName: string; reason: string }[] }[];
}

/** What the issue asks to pass: 100 repositories and two e-mail addresses. */
const HUNDRED_REPOSITORIES = {
  ...FULL_CONFIG,
  repositories: Array.from({ length: 100 }, (_, i) => ({ repo: `acme/gitops-repository-${i}`, ref: 'main', paths: ['clusters/prod', 'clusters/staging'] })),
};

function nagApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'image-drift-nag-'));
  const app = testApp({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  const stack = new ImageDriftStack(app, 'NagStack', { config: AuditorConfigSchema.parse(HUNDRED_REPOSITORIES) });
  return { app, stack, outdir };
}

function report(outdir: string): ValidationReport {
  return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

describe('cdk-nag AwsSolutions and Serverless checks', () => {
  it('pass on the auditor stack with 100 repositories and two e-mails, every accepted finding acknowledged with a reason', () => {
    const { app } = nagApp();
    const assembly = app.synth();
    const reports = report(assembly.directory).pluginReports;
    const solutions = reports.find((r) => r.pluginName === 'AwsSolutions');
    expect(solutions?.conclusion).toBe('success');
    expect(solutions?.violations).toEqual([]);
    expect(solutions?.suppressedViolations.map((v) => v.ruleName).sort()).toEqual([
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      // X-Ray on the function role, X-Ray and log delivery on the state machine role
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuditorAudit[0-9A-F]{8}\.Arn>:\*\]$/),
      'AwsSolutions-SMG4',
      // the three queues that are themselves where failures end
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS3',
    ]);
    const serverless = reports.find((r) => r.pluginName === 'Serverless');
    expect(serverless?.conclusion).toBe('success');
    expect(serverless?.violations).toEqual([]);
    expect(serverless?.suppressedViolations.map((v) => v.ruleName).sort()).toEqual([
      'Serverless-LambdaDLQ',
      'Serverless-SQSRedrivePolicy',
      'Serverless-SQSRedrivePolicy',
      'Serverless-SQSRedrivePolicy',
    ]);
    for (const suppressed of [...(solutions?.suppressedViolations ?? []), ...(serverless?.suppressedViolations ?? [])]) {
      expect(suppressed.reason.length).toBeGreaterThan(80);
    }
    // One synth with both packs over 100 repositories: about a minute on a loaded 2-core machine.
  }, 180_000);


  it('fail the synth when a construct lacks an acknowledgement', () => {
    const { app, stack, outdir } = nagApp();
    new secretsmanager.Secret(stack, 'UnacknowledgedSecret', { secretObjectValue: {} });
    expect(() => app.synth()).toThrow();
    const nag = report(outdir).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('failure');
    expect(nag?.violations).toEqual([
      expect.objectContaining({
        ruleName: 'AwsSolutions-SMG4',
        violatingConstructs: [expect.objectContaining({ constructPath: 'NagStack/UnacknowledgedSecret/Resource' })],
      }),
    ]);
  });
});
