import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_TABLE_DESIGN } from '../../lambdas/engine/history/table-design.js';
import {
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../../lambdas/engine/config/metrics.js';
import {
  ENV_CONFIG,
  ENV_HISTORY_TABLE_NAME,
  ENV_POWERTOOLS_METRICS_NAMESPACE,
  ENV_POWERTOOLS_SERVICE_NAME,
  ENV_SECRET_ARN,
  ENV_TOPIC_ARN,
  readLambdaEnv,
} from '../../lambdas/engine/config/runtime-env.js';
import { AuditorConfigSchema, type AuditorConfigInput } from '../../lambdas/engine/config/schema.js';
import { ImageDriftAuditor, verdictAlarmWindow } from '../../lib/image-drift-auditor.js';
import { ImageDriftStack } from '../../lib/image-drift-stack.js';
import { FULL_CONFIG, MINIMAL_CONFIG, testApp } from './support.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

function synth(config: AuditorConfigInput, auditor: ConstructorParameters<typeof ImageDriftStack>[2]['auditor'] = {}): Template {
  const app = testApp();
  const stack = new ImageDriftStack(app, 'TestStack', { config: AuditorConfigSchema.parse(config), auditor });
  return Template.fromStack(stack);
}

function onlyResource(template: Template, type: string): { id: string; Properties: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type) as Resources);
  expect(found).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, Properties: resource.Properties };
}

let minimal: Template;
let full: Template;

beforeAll(() => {
  minimal = synth(MINIMAL_CONFIG);
  full = synth(FULL_CONFIG, { preventOverlappingRuns: false, logRetention: logs.RetentionDays.ONE_MONTH, durationAlarmPercent: 50 });
});

describe('history table', () => {
  it('is a TableV2 (AWS::DynamoDB::GlobalTable) with the keys and indexes of HISTORY_TABLE_DESIGN', () => {
    minimal.resourceCountIs('AWS::DynamoDB::Table', 0);
    minimal.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    minimal.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: HISTORY_TABLE_DESIGN.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: HISTORY_TABLE_DESIGN.sortKey.name, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: HISTORY_TABLE_DESIGN.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: index.projection.type },
      })),
    });
  });

  it('is on-demand, with point-in-time recovery, deletion protection and the TTL attribute', () => {
    minimal.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: HISTORY_TABLE_DESIGN.timeToLiveAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });

  it('is retained when the stack is deleted', () => {
    minimal.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('audit function', () => {
  it('runs on the newest Node.js runtime, arm64, as an ESM bundle, with the configured size', () => {
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
    });
    full.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Timeout: 600 });
  });

  it('reserves a concurrency of 1 so runs never overlap, unless told not to', () => {
    minimal.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    full.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
  });

  it('does not retry a failed run (the next scheduled run is the retry)', () => {
    minimal.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 });
  });

  it('gets exactly the environment the handler parses, pointing at this stack\'s resources', () => {
    const fn = onlyResource(minimal, 'AWS::Lambda::Function');
    const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const table = onlyResource(minimal, 'AWS::DynamoDB::GlobalTable');
    const topic = onlyResource(minimal, 'AWS::SNS::Topic');
    const secret = onlyResource(minimal, 'AWS::SecretsManager::Secret');
    expect(Object.keys(vars).sort()).toEqual(
      [ENV_CONFIG, ENV_HISTORY_TABLE_NAME, ENV_TOPIC_ARN, ENV_SECRET_ARN, ENV_POWERTOOLS_SERVICE_NAME, ENV_POWERTOOLS_METRICS_NAMESPACE].sort(),
    );
    expect(vars[ENV_HISTORY_TABLE_NAME]).toEqual({ Ref: table.id });
    expect(vars[ENV_TOPIC_ARN]).toEqual({ Ref: topic.id });
    expect(vars[ENV_SECRET_ARN]).toEqual({ Ref: secret.id });
    expect(vars[ENV_POWERTOOLS_SERVICE_NAME]).toBe(SERVICE_NAME);
    expect(vars[ENV_POWERTOOLS_METRICS_NAMESPACE]).toBe(METRICS_NAMESPACE);

    const parsed = readLambdaEnv({
      [ENV_CONFIG]: vars[ENV_CONFIG] as string,
      [ENV_HISTORY_TABLE_NAME]: 'table',
      [ENV_TOPIC_ARN]: 'arn:aws:sns:eu-west-1:123456789012:topic',
      [ENV_SECRET_ARN]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
    });
    expect(parsed.config).toEqual(AuditorConfigSchema.parse(MINIMAL_CONFIG));
  });

  it('writes to its own log group, kept three months by default', () => {
    const logGroup = onlyResource(minimal, 'AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBe(90);
    minimal.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroup.id } } });
    full.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('least-privilege IAM', () => {
  it('uses no managed policy: only grants on the log group, table, topic, key and secret', () => {
    minimal.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const ids = {
      logs: onlyResource(minimal, 'AWS::Logs::LogGroup').id,
      table: onlyResource(minimal, 'AWS::DynamoDB::GlobalTable').id,
      topic: onlyResource(minimal, 'AWS::SNS::Topic').id,
      key: onlyResource(minimal, 'AWS::KMS::Key').id,
      secret: onlyResource(minimal, 'AWS::SecretsManager::Secret').id,
    };
    const policy = onlyResource(minimal, 'AWS::IAM::Policy');
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
    const byResource = statements.map((s) => ({ actions: [s.Action].flat().sort(), resource: s.Resource }));
    expect(byResource).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [ids.logs, 'Arn'] } },
      {
        actions: expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']),
        resource: [{ 'Fn::GetAtt': [ids.table, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.table, 'Arn'] }, '/index/*']] }],
      },
      { actions: ['sns:Publish'], resource: { Ref: ids.topic } },
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resource: { 'Fn::GetAtt': [ids.key, 'Arn'] } },
      { actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], resource: { Ref: ids.secret } },
    ]);
    expect(JSON.stringify(statements)).not.toContain('"Resource":"*"');
  });
});

describe('schedule', () => {
  it('runs the function on the configured expression and passes the whole event (its id is the run id)', () => {
    const fn = onlyResource(full, 'AWS::Lambda::Function');
    full.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fn.id, 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          Input: Match.absent(),
          InputPath: Match.absent(),
          InputTransformer: Match.absent(),
        },
      ],
    });
    full.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', Action: 'lambda:InvokeFunction' });
  });

  it('defaults to hourly', () => {
    minimal.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
  });
});

describe('alert topic', () => {
  it('is encrypted with a rotating customer managed key that CloudWatch alarms and EventBridge may use', () => {
    const key = onlyResource(minimal, 'AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    minimal.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key.id, 'Arn'] } });
    minimal.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('refuses publishing without TLS', () => {
    minimal.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes each notification e-mail, and none when the list is empty', () => {
    full.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['ops@example.com', 'oncall@example.com']) {
      full.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email });
    }
    minimal.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('credentials secret', () => {
  it('is created holding the empty JSON object, to be filled after deploy', () => {
    minimal.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: '{}', GenerateSecretString: Match.absent() });
  });
});

describe('alarms', () => {
  const topicAction = (template: Template) => [{ Ref: onlyResource(template, 'AWS::SNS::Topic').id }];

  it('creates four alarms, all publishing to the alert topic', () => {
    minimal.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    const alarms = Object.values(minimal.findResources('AWS::CloudWatch::Alarm') as Resources);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual(topicAction(minimal));
  });

  it('fires on any Lambda error', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('fires when the longest run passes 80% of the timeout (or the configured share)', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      Statistic: 'Maximum',
      Threshold: 240_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    full.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 300_000 });
  });

  it('watches the handler\'s EMF metrics under the Powertools service dimension', () => {
    const dimensions = [{ Name: 'service', Value: SERVICE_NAME }];
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_RUNS_FAILED,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_IMAGES_WITHOUT_VERDICT,
      Dimensions: dimensions,
      Threshold: 1,
    });
  });

  it('raises ImagesWithoutVerdict only after unverifiedAfterRuns run periods in a row', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC_IMAGES_WITHOUT_VERDICT,
      Period: 3600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'ignore',
    });
    full.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC_IMAGES_WITHOUT_VERDICT,
      Period: 1800,
      EvaluationPeriods: 4,
    });
  });
});

describe('verdictAlarmWindow', () => {
  const window = (input: AuditorConfigInput) => {
    const w = verdictAlarmWindow(AuditorConfigSchema.parse({ ...MINIMAL_CONFIG, ...input }));
    return { seconds: w.period.toSeconds(), evaluationPeriods: w.evaluationPeriods };
  };

  it('falls back to one hourly period for cron schedules', () => {
    expect(window({ schedule: 'cron(0 6 * * ? *)' })).toEqual({ seconds: 3600, evaluationPeriods: 1 });
  });

  it('keeps periods × evaluations within the one-day CloudWatch limit', () => {
    expect(window({ schedule: 'rate(1 day)', unverifiedAfterRuns: 3 })).toEqual({ seconds: 86_400, evaluationPeriods: 1 });
    expect(window({ schedule: 'rate(12 hours)', unverifiedAfterRuns: 5 })).toEqual({ seconds: 43_200, evaluationPeriods: 2 });
  });
});

describe('prop validation', () => {
  const build = (props: Partial<ConstructorParameters<typeof ImageDriftAuditor>[2]>) => () =>
    new ImageDriftAuditor(new Stack(testApp(), 'S'), 'A', { config: MINIMAL_CONFIG, ...props });

  it('rejects a config without repositories, saying deploying needs one', () => {
    expect(build({ config: {} })).toThrow(/repositories: list at least one repository to deploy/);
  });

  it('rejects an invalid config with the schema\'s path-prefixed messages', () => {
    expect(build({ config: { ...MINIMAL_CONFIG, schedule: 'every hour', notificationEmails: ['nope'] } })).toThrow(
      /invalid config:\n {2}- schedule: must be "rate\(N minutes\|hours\|days\)".*\n {2}- notificationEmails\[0\]: must be an e-mail address/s,
    );
  });

  it('rejects a durationAlarmPercent outside 1–99', () => {
    expect(build({ durationAlarmPercent: 120 })).toThrow(/durationAlarmPercent: must be a whole number from 1 to 99 \(got 120\)/);
  });

  it('rejects a config too large for the 4 KB Lambda environment', () => {
    const repositories = Array.from({ length: 80 }, (_, i) => ({ repo: `acme/gitops-repository-${i}`, ref: 'main' }));
    expect(build({ config: { repositories } })).toThrow(/too large for the Lambda environment/);
  });
});
