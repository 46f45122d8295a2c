import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AuditorConfigSchema } from '../../lambdas/engine/config/schema.js';
import { ImageDriftStack } from '../../lib/image-drift-stack.js';
import { FULL_CONFIG, testApp } from './support.js';

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[]; suppressedViolations: { ruleName: string; reason: string }[] }[];
}

function nagApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'image-drift-nag-'));
  const app = testApp({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const stack = new ImageDriftStack(app, 'NagStack', { config: AuditorConfigSchema.parse(FULL_CONFIG) });
  return { app, stack, outdir };
}

function report(outdir: string): ValidationReport {
  return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

describe('cdk-nag AwsSolutions checks', () => {
  it('pass on the auditor stack, every accepted finding acknowledged with a reason', () => {
    const { app } = nagApp();
    const assembly = app.synth();
    const nag = report(assembly.directory).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations).toEqual([]);
    expect(nag?.suppressedViolations.map((v) => v.ruleName).sort()).toEqual([
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuditorHistory[0-9A-F]{8}\.Arn>\/index\/\*\]$/),
      'AwsSolutions-SMG4',
    ]);
    for (const suppressed of nag?.suppressedViolations ?? []) expect(suppressed.reason.length).toBeGreaterThan(40);
  });

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
