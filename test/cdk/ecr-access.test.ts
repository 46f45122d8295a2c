import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditorConfigSchema, type AuditorConfigInput } from '../../lambdas/engine/config/schema.js';
import { ecrRegistriesOf } from '../../lib/ecr-access.js';
import { ImageDriftStack } from '../../lib/image-drift-stack.js';
import { MINIMAL_CONFIG, testApp } from './support.js';

const ECR_CONFIG: AuditorConfigInput = {
  ...MINIMAL_CONFIG,
  registries: {
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com': {},
    '210987654321.dkr.ecr.us-east-1.amazonaws.com': { ecr: {} },
    '555555555555.dkr.ecr.us-east-1.amazonaws.com': { ecr: false },
    'ghcr.io': { credential: { type: 'github-token' } },
  },
};

type Statement = { Action: string | string[]; Resource: unknown; Sid?: string };

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

let outdir: string;
let withEcr: Template;
let withoutEcr: Template;
let nagReport: { pluginReports: { pluginName: string; conclusion: string; violations: unknown[]; suppressedViolations: { ruleName: string; reason: string }[] }[] };

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'image-drift-ecr-nag-'));
  const app = testApp({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const stack = new ImageDriftStack(app, 'EcrStack', { config: AuditorConfigSchema.parse(ECR_CONFIG) });
  withEcr = Template.fromStack(stack);
  nagReport = JSON.parse(readFileSync(join(app.synth().directory, 'validation-report.json'), 'utf8'));
  const plain = testApp();
  withoutEcr = Template.fromStack(new ImageDriftStack(plain, 'PlainStack', { config: AuditorConfigSchema.parse(MINIMAL_CONFIG) }));
});

describe('ECR access of the function role', () => {
  it('grants GetAuthorizationToken and read actions on the configured ECR registries only', () => {
    const ecr = statements(withEcr).filter((s) => actionsOf(s).some((a) => a.startsWith('ecr:')));
    expect(ecr).toEqual([
      expect.objectContaining({ Sid: 'EcrAuthorizationToken', Action: 'ecr:GetAuthorizationToken', Resource: '*' }),
      expect.objectContaining({
        Sid: 'EcrReadImages',
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImages', 'ecr:ListImages'],
        Resource: ['arn:aws:ecr:eu-west-1:123456789012:repository/*', 'arn:aws:ecr:us-east-1:210987654321:repository/*'],
      }),
    ]);
  });

  it('grants no ECR action when the configuration names no ECR registry', () => {
    expect(statements(withoutEcr).flatMap(actionsOf).filter((a) => a.startsWith('ecr:'))).toEqual([]);
  });

  it('passes cdk-nag with the two wildcards acknowledged, each with its reason', () => {
    const nag = nagReport.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations).toEqual([]);
    const ecrAcks = nag?.suppressedViolations.filter((v) => /ecr|Resource::\*\]/.test(v.ruleName)) ?? [];
    expect(ecrAcks.map((v) => v.ruleName).sort()).toEqual([
      // the function role (X-Ray and ecr:GetAuthorizationToken) and the state machine role (X-Ray, log delivery)
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ecr:eu-west-1:123456789012:repository/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ecr:us-east-1:210987654321:repository/*]',
    ]);
    expect(ecrAcks.filter((v) => v.reason.includes('ecr:GetAuthorizationToken has no resource-level permissions'))).toHaveLength(1);
  });

  it('knows the partition of China and GovCloud registries, and refuses ecr: {} on a host that is not ECR', () => {
    expect(ecrRegistriesOf({ '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn': {}, '123456789012.dkr.ecr.us-gov-west-1.amazonaws.com': {} }).map((t) => t.partition)).toEqual([
      'aws-cn',
      'aws-us-gov',
    ]);
    expect(() => ecrRegistriesOf({ 'registry.example.com': { ecr: {} } })).toThrow(/not an Amazon ECR host/);
  });
});
