import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { HISTORY_TABLE_ACTIONS } from '../../lambdas/engine/history/table-actions.js';
import { HISTORY_TABLE_DESIGN } from '../../lambdas/engine/history/table-design.js';
import { STEP_AUDIT_REPOSITORY, STEP_DIGEST } from '../../lambdas/engine/scheduled/steps.js';
import {
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRIC_RUNS_SUCCEEDED,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../../lambdas/engine/config/metrics.js';
import {
  CONFIG_LAYER_DIR,
  CONFIG_LAYER_FILE,
  ENV_CONFIG,
  ENV_CONFIG_FILE,
  ENV_HISTORY_TABLE_NAME,
  ENV_POWERTOOLS_METRICS_NAMESPACE,
  ENV_POWERTOOLS_SERVICE_NAME,
  ENV_SECRET_ARN,
  ENV_TOPIC_ARN,
  readLambdaEnv,
} from '../../lambdas/engine/config/runtime-env.js';
import { AuditorConfigSchema, type AuditorConfigInput } from '../../lambdas/engine/config/schema.js';
import { heartbeatWindow, ImageDriftAuditor, verdictAlarmWindow } from '../../lib/image-drift-auditor.js';
import { ImageDriftStack } from '../../lib/image-drift-stack.js';
import { FULL_CONFIG, MINIMAL_CONFIG, testApp } from './support.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

type StackOptions = Omit<ConstructorParameters<typeof ImageDriftStack>[2], 'config'>;

function synth(config: AuditorConfigInput, options: StackOptions = {}): { template: Template; outdir: string } {
  const app = testApp();
  const stack = new ImageDriftStack(app, 'TestStack', { config: AuditorConfigSchema.parse(config), ...options });
  return { template: Template.fromStack(stack), outdir: app.outdir };
}

function onlyResource(template: Template, type: string): { id: string; Properties: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type) as Resources);
  expect(found).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, Properties: resource.Properties };
}

let minimal: Template;
let minimalOutdir: string;
let full: Template;

const RETAINED_TABLE = 'ImageDriftAuditor-AuditorHistory-RETAINED';

beforeAll(() => {
  ({ template: minimal, outdir: minimalOutdir } = synth(MINIMAL_CONFIG));
  ({ template: full } = synth(FULL_CONFIG, {
    historyTableName: RETAINED_TABLE,
    auditor: { preventOverlappingRuns: false, logRetention: logs.RetentionDays.ONE_MONTH, durationAlarmPercent: 50, maxConcurrentRepositories: 2 },
  }));
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
  it('gets helm and kubectl from the KubectlV35Layer (Apache-2.0), besides its config layer', () => {
    minimal.hasResourceProperties('AWS::Lambda::LayerVersion', { Description: '/opt/kubectl/kubectl 1.35.2; /opt/helm/helm 4.1.3', LicenseInfo: 'Apache-2.0' });
    const functions = Object.values(minimal.findResources('AWS::Lambda::Function')).filter((resource) => resource.Properties?.Handler === 'index.handler');
    expect(functions).toHaveLength(1);
    expect(functions[0]?.Properties?.Layers).toHaveLength(2);
  });

  it('runs on the newest Node.js runtime, x86_64 like its helm layer, as an ESM bundle, with the configured size and X-Ray tracing', () => {
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['x86_64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
    });
    full.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Timeout: 600 });
  });

  it('reserves the Map\'s concurrency plus one for the digest, unless told not to', () => {
    minimal.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    full.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
  });

  it('does not retry a failed asynchronous invocation and sends it to the on-failure queue', () => {
    const queues = Object.keys(minimal.findResources('AWS::SQS::Queue'));
    const destination = queues.find((id) => id.startsWith('AuditorFailedInvocations'));
    minimal.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [destination, 'Arn'] } } },
    });
  });

  it('gets names and ARNs in its environment and the config as a file in its config layer', () => {
    const fn = onlyResource(minimal, 'AWS::Lambda::Function');
    const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const table = onlyResource(minimal, 'AWS::DynamoDB::GlobalTable');
    const topics = Object.keys(minimal.findResources('AWS::SNS::Topic'));
    const secret = onlyResource(minimal, 'AWS::SecretsManager::Secret');
    const layers = Object.entries(minimal.findResources('AWS::Lambda::LayerVersion') as Resources).filter(([id]) => id.includes('ConfigLayer'));
    expect(layers).toHaveLength(1);
    const layer = { id: layers[0]![0], Properties: layers[0]![1].Properties as Record<string, unknown> };
    expect(Object.keys(vars).sort()).toEqual(
      [ENV_CONFIG_FILE, ENV_HISTORY_TABLE_NAME, ENV_TOPIC_ARN, ENV_SECRET_ARN, ENV_POWERTOOLS_SERVICE_NAME, ENV_POWERTOOLS_METRICS_NAMESPACE].sort(),
    );
    expect(vars).not.toHaveProperty(ENV_CONFIG);
    expect(vars[ENV_CONFIG_FILE]).toBe(CONFIG_LAYER_FILE);
    expect(vars[ENV_HISTORY_TABLE_NAME]).toEqual({ Ref: table.id });
    expect(vars[ENV_TOPIC_ARN]).toEqual({ Ref: topics.find((id) => id.startsWith('AuditorAlerts')) });
    expect(vars[ENV_SECRET_ARN]).toEqual({ Ref: secret.id });
    expect(vars[ENV_POWERTOOLS_SERVICE_NAME]).toBe(SERVICE_NAME);
    expect(vars[ENV_POWERTOOLS_METRICS_NAMESPACE]).toBe(METRICS_NAMESPACE);
    expect((fn.Properties.Layers as unknown[])[0]).toEqual({ Ref: layer.id });

    // The layer's staged content is the file the handler reads, and it parses back to the config.
    // Staged as asset.<hash>, the hash that names the uploaded zip.
    const assetHash = (layer.Properties.Content as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const file = join(minimalOutdir, `asset.${assetHash}`, CONFIG_LAYER_DIR, 'config.json');
    const parsed = readLambdaEnv({
      [ENV_CONFIG_FILE]: file,
      [ENV_HISTORY_TABLE_NAME]: 'table',
      [ENV_TOPIC_ARN]: 'arn:aws:sns:eu-west-1:123456789012:topic',
      [ENV_SECRET_ARN]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
    });
    expect(parsed.config).toEqual(AuditorConfigSchema.parse(MINIMAL_CONFIG));
  });

  it('writes to its own log group, kept three months by default', () => {
    const logGroup = Object.keys(minimal.findResources('AWS::Logs::LogGroup')).find((id) => id.startsWith('AuditorLogs'));
    minimal.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    minimal.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroup } } });
    full.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('least-privilege IAM', () => {
  const statementsOf = (template: Template, rolePrefix: string) => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(rolePrefix)),
    );
    expect(policies).toHaveLength(1);
    return (policies[0]!.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement.map((s) => ({
      actions: [s.Action].flat().sort(),
      resource: s.Resource,
    }));
  };

  it('gives the function exactly the actions its code calls: DynamoDB on the table and Query on its named index, nothing else', () => {
    minimal.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const id = (type: string, prefix: string) => Object.keys(minimal.findResources(type)).find((key) => key.startsWith(prefix));
    const table = { 'Fn::GetAtt': [id('AWS::DynamoDB::GlobalTable', 'AuditorHistory'), 'Arn'] };
    expect(statementsOf(minimal, 'AuditorRole')).toEqual([
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '*' },
      { actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': [id('AWS::SQS::Queue', 'AuditorFailedInvocations'), 'Arn'] } },
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [id('AWS::Logs::LogGroup', 'AuditorLogs'), 'Arn'] } },
      { actions: [...HISTORY_TABLE_ACTIONS].sort(), resource: table },
      { actions: ['dynamodb:Query'], resource: { 'Fn::Join': ['', [table, `/index/${HISTORY_TABLE_DESIGN.globalSecondaryIndexes[0].indexName}`]] } },
      { actions: ['sns:Publish'], resource: { Ref: id('AWS::SNS::Topic', 'AuditorAlerts') } },
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resource: { 'Fn::GetAtt': [id('AWS::KMS::Key', 'AuditorTopicKey'), 'Arn'] } },
      { actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], resource: { Ref: id('AWS::SecretsManager::Secret', 'AuditorCredentials') } },
    ]);
    const all = JSON.stringify(statementsOf(minimal, 'AuditorRole'));
    for (const surplus of ['dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'index/*', 'sqs:GetQueueUrl']) {
      expect(all).not.toContain(surplus);
    }
  });

  it('grants the same table access on an attached table, by its name', () => {
    const fullStatements = JSON.stringify(statementsOf(full, 'AuditorRole'));
    expect(fullStatements).toContain(`:table/${RETAINED_TABLE}`);
    expect(fullStatements).toContain(`:table/${RETAINED_TABLE}/index/gsi1`);
    full.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    full.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('lets the state machine invoke only the function, and the schedule start only the state machine', () => {
    const fn = onlyResource(minimal, 'AWS::Lambda::Function').id;
    expect(statementsOf(minimal, 'AuditorRunRole')[0]).toEqual({
      actions: ['lambda:InvokeFunction'],
      resource: [{ 'Fn::GetAtt': [fn, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fn, 'Arn'] }, ':*']] }],
    });
    const machine = onlyResource(minimal, 'AWS::StepFunctions::StateMachine').id;
    const dlq = Object.keys(minimal.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('AuditorScheduleDeadLetters'));
    expect(statementsOf(minimal, 'SchedulerRoleForTarget')).toEqual([
      { actions: ['states:StartExecution'], resource: { Ref: machine } },
      { actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': [dlq, 'Arn'] } },
    ]);
  });
});

describe('runs: schedule, state machine, Map over repositories, digest', () => {
  const definition = (template: Template) => {
    const machine = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '"FN"')).join('').replace(/""FN""/g, '"FN"')) as {
      StartAt: string;
      States: Record<string, Record<string, unknown>>;
    };
  };

  it('starts the state machine from EventBridge Scheduler, in the configured time zone, with a dead-letter queue', () => {
    const machine = onlyResource(full, 'AWS::StepFunctions::StateMachine').id;
    full.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 minutes)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { Ref: machine },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditorScheduleDeadLetters'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      }),
    });
    minimal.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)', ScheduleExpressionTimezone: 'UTC' });
    minimal.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('maps over the configured repositories, one audit-repository step each, then one digest step', () => {
    const machine = definition(full);
    expect(machine.StartAt).toBe('Plan');
    expect(machine.States.Plan).toMatchObject({ Type: 'Pass', Result: { repositories: [{ repo: 'acme/gitops' }, { repo: 'acme/platform' }] }, Next: 'EachRepository' });
    const map = machine.States.EachRepository as {
      Type: string;
      ItemsPath: string;
      MaxConcurrency: number;
      ItemSelector: Record<string, unknown>;
      ItemProcessor: { StartAt: string; States: Record<string, { Type: string; Parameters?: unknown; Catch?: unknown[]; Retry?: { ErrorEquals: string[] }[] }> };
      Next: string;
    };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.plan.repositories', MaxConcurrency: 2, ResultPath: '$.outcomes', Next: 'Digest' });
    expect(map.ItemSelector).toEqual({ step: STEP_AUDIT_REPOSITORY, 'runId.$': '$$.Execution.Name', 'index.$': '$$.Map.Item.Index', 'repo.$': '$$.Map.Item.Value.repo' });
    const audit = map.ItemProcessor.States.AuditRepository!;
    expect(audit.Type).toBe('Task');
    // A failed repository is caught inside the iteration: the Map, and the run, go on.
    expect(audit.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RepositoryFailed' }]);
    expect(audit.Retry?.map((retry) => retry.ErrorEquals).flat()).toContain('Lambda.TooManyRequestsException');
    expect(map.ItemProcessor.States.RepositoryFailed).toMatchObject({ Type: 'Pass', Parameters: { 'index.$': '$.index', 'repo.$': '$.repo', 'error.$': '$.failure.Cause' } });
    expect(machine.States.Digest).toMatchObject({
      Type: 'Task',
      End: true,
      Parameters: { step: STEP_DIGEST, 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime', 'outcomes.$': '$.outcomes' },
    });
    minimal.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });
});

describe('topics', () => {
  const topicId = (template: Template, prefix: string) => Object.keys(template.findResources('AWS::SNS::Topic')).find((id) => id.startsWith(prefix));

  it('are two, drift alerts and alarm notifications, both encrypted with a rotating customer managed key', () => {
    minimal.resourceCountIs('AWS::SNS::Topic', 2);
    const key = onlyResource(minimal, 'AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    for (const prefix of ['AuditorAlerts', 'AuditorAlarmNotifications']) {
      expect(minimal.findResources('AWS::SNS::Topic')[topicId(minimal, prefix)!]).toMatchObject({ Properties: { KmsMasterKeyId: { 'Fn::GetAtt': [key.id, 'Arn'] } } });
    }
  });

  it('lets only CloudWatch alarms of this account use the key and publish to the alarm topic', () => {
    const conditions = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', Match.arrayWith([':cloudwatch:', ':alarm:*'])] } },
    };
    const keyPolicy = JSON.stringify(onlyResource(minimal, 'AWS::KMS::Key').Properties.KeyPolicy);
    expect(keyPolicy).not.toContain('events.amazonaws.com');
    minimal.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: conditions }),
        ]),
      },
    });
    minimal.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId(minimal, 'AuditorAlarmNotifications') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: conditions }),
        ]),
      },
    });
  });

  it('refuse publishing without TLS', () => {
    for (const prefix of ['AuditorAlerts', 'AuditorAlarmNotifications']) {
      minimal.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId(minimal, prefix) }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  it('subscribe each notification e-mail to both topics, with a dead-letter queue, and none when the list is empty', () => {
    full.resourceCountIs('AWS::SNS::Subscription', 4);
    for (const email of ['ops@example.com', 'oncall@example.com']) {
      for (const prefix of ['AuditorAlerts', 'AuditorAlarmNotifications']) {
        full.hasResourceProperties('AWS::SNS::Subscription', {
          Protocol: 'email',
          Endpoint: email,
          TopicArn: { Ref: topicId(full, prefix) },
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditorNotificationDeadLetters'), 'Arn'] } },
        });
      }
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
  const alarms = (template: Template) => Object.entries(template.findResources('AWS::CloudWatch::Alarm') as Resources);
  const alarmTopic = (template: Template) => [{ Ref: Object.keys(template.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('AuditorAlarmNotifications')) }];

  it('publish ALARM and OK to the alarm topic, never to the drift topic they watch', () => {
    expect(alarms(minimal)).toHaveLength(13);
    for (const [, alarm] of alarms(minimal)) {
      expect(alarm.Properties.AlarmActions).toEqual(alarmTopic(minimal));
      expect(alarm.Properties.OKActions).toEqual(alarmTopic(minimal));
    }
  });

  it('have names that read as e-mail subjects and descriptions that say what to do', () => {
    const names = alarms(minimal).map(([, alarm]) => alarm.Properties.AlarmName as string);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^TestStack: [a-z][a-z0-9 ,.()-]+$/);
    expect(names).toContain('TestStack: no successful audit run in 2 h');
    for (const [, alarm] of alarms(minimal)) expect((alarm.Properties.AlarmDescription as string).length).toBeGreaterThan(60);
  });

  it('raise the heartbeat when no run succeeds in twice the schedule, counting missing data as breaching', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_RUNS_SUCCEEDED,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      Period: 3600,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
    // rate(30 minutes): one hour without success.
    full.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: METRIC_RUNS_SUCCEEDED, Period: 3600, EvaluationPeriods: 1, TreatMissingData: 'breaching' });
  });

  it('fire on any Lambda error, throttle or dropped asynchronous event', () => {
    for (const metric of ['Errors', 'Throttles', 'AsyncEventsDropped']) {
      minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('fire when a message waits in the on-failure queue, the schedule DLQ or the subscriptions\' DLQ', () => {
    for (const queue of ['AuditorFailedInvocations', 'AuditorScheduleDeadLetters', 'AuditorNotificationDeadLetters']) {
      minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${queue}`), 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('fire when SNS fails to deliver on either topic, and when a run execution fails, times out or is aborted', () => {
    for (const topic of ['AuditorAlerts', 'AuditorAlarmNotifications']) {
      minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SNS',
        MetricName: 'NumberOfNotificationsFailed',
        Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${topic}`), 'TopicName'] } }],
        Threshold: 1,
      });
    }
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed' }) }) }),
      ]),
      Threshold: 1,
    });
  });

  it('fire when the longest invocation passes 80% of the timeout (or the configured share)', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      Statistic: 'Maximum',
      Threshold: 240_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    full.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 300_000 });
  });

  it('watch the handler\'s EMF metrics under the Powertools service dimension', () => {
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

  it('raise ImagesWithoutVerdict only after unverifiedAfterRuns run periods in a row', () => {
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

describe('dashboard', () => {
  const body = () => {
    const dashboard = onlyResource(minimal, 'AWS::CloudWatch::Dashboard');
    const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    return parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
  };

  it('graphs images by verdict over time from the EMF metric, and images checked, runs and duration', () => {
    const text = body();
    expect(text).toContain(`SEARCH('{${METRICS_NAMESPACE},service,verdict} MetricName=\\"Images\\" service=\\"${SERVICE_NAME}\\"'`);
    for (const metric of ['ImagesAudited', 'ImagesFailing', METRIC_IMAGES_WITHOUT_VERDICT, METRIC_RUNS_SUCCEEDED, METRIC_RUNS_FAILED, 'ExecutionTime', 'Duration']) {
      expect(text).toContain(`"${metric}"`);
    }
  });

  it('lists the last runs and the images broken longest with Logs Insights, and every alarm', () => {
    const text = body();
    expect(text).toContain('filter message = \\"run finished\\"');
    expect(text).toContain('filter message = \\"image not pullable\\"');
    expect(text).toContain('stats count_distinct(runId) as runs');
    expect(text).toContain('"type":"alarm"');
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

describe('heartbeatWindow', () => {
  const window = (input: AuditorConfigInput, override?: Duration) => {
    const w = heartbeatWindow(AuditorConfigSchema.parse({ ...MINIMAL_CONFIG, ...input }), override);
    return { period: w.period.toSeconds(), evaluationPeriods: w.evaluationPeriods, windowSeconds: w.windowSeconds };
  };

  it('is twice the gap between runs: rate schedules', () => {
    expect(window({ schedule: 'rate(15 minutes)' })).toEqual({ period: 1800, evaluationPeriods: 1, windowSeconds: 1800 });
    expect(window({ schedule: 'rate(6 hours)' })).toEqual({ period: 3600, evaluationPeriods: 12, windowSeconds: 43_200 });
    expect(window({ schedule: 'rate(1 day)' })).toEqual({ period: 21_600, evaluationPeriods: 8, windowSeconds: 172_800 });
  });

  it('is twice the longest gap of a cron schedule (weekdays only: the weekend gap counts)', () => {
    expect(window({ schedule: 'cron(0 6 * * ? *)' }).windowSeconds).toBe(2 * 86_400);
    expect(window({ schedule: 'cron(0 6 ? * MON-FRI *)' }).windowSeconds).toBe(6 * 86_400);
  });

  it('stays within the 7 days CloudWatch evaluates, and warns for schedules it cannot size', () => {
    const warnings: string[] = [];
    const weekly = heartbeatWindow(AuditorConfigSchema.parse({ ...MINIMAL_CONFIG, schedule: 'cron(0 6 ? * MON *)' }), undefined, (m) => warnings.push(m));
    expect(weekly.windowSeconds).toBe(7 * 86_400);
    const monthly = heartbeatWindow(AuditorConfigSchema.parse({ ...MINIMAL_CONFIG, schedule: 'cron(0 6 L * ? *)' }), undefined, (m) => warnings.push(m));
    expect(monthly.windowSeconds).toBe(7 * 86_400);
    expect(warnings).toEqual([expect.stringContaining('capped at 7 days'), expect.stringContaining('cannot tell how often')]);
  });

  it('takes an explicit window', () => {
    expect(window({}, Duration.hours(5))).toEqual({ period: 3600, evaluationPeriods: 5, windowSeconds: 18_000 });
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

  it('rejects a maxConcurrentRepositories outside 1–40', () => {
    expect(build({ maxConcurrentRepositories: 0 })).toThrow(/maxConcurrentRepositories: must be a whole number from 1 to 40 \(got 0\)/);
  });

  it('accepts far more repositories than the 4 KB Lambda environment held (the config travels in a layer)', () => {
    const repositories = Array.from({ length: 100 }, (_, i) => ({ repo: `acme/gitops-repository-${i}`, ref: 'main', paths: ['clusters/prod'] }));
    expect(build({ config: { repositories } })).not.toThrow();
  });
});
