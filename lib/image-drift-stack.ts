/**
 * The deployable stack: a thin wrapper that hands the validated config to ImageDriftAuditor
 * and exports what an operator needs after `cdk deploy` (see docs/deploy.md).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { AuditorConfig } from '../lambdas/engine/config/schema.js';
import { ImageDriftAuditor, type ImageDriftAuditorProps } from './image-drift-auditor.js';

export interface ImageDriftStackProps extends StackProps {
  /** The validated auditor config (bin/app.ts reads it from context or a file). */
  readonly config: AuditorConfig;
  /**
   * Construct options other than the config (log retention, overlap guard...).
   * @default - the construct's defaults
   */
  readonly auditor?: Omit<ImageDriftAuditorProps, 'config' | 'historyTable'>;
  /**
   * Name of an existing history table to attach instead of creating one (a table an earlier stack retained;
   * `-c imageDriftHistoryTable=NAME` in bin/app.ts). See docs/deploy.md, "Upgrading and re-attaching the table".
   * @default - a new table
   */
  readonly historyTableName?: string;
}

export class ImageDriftStack extends Stack {
  public readonly auditor: ImageDriftAuditor;

  constructor(scope: Construct, id: string, props: ImageDriftStackProps) {
    super(scope, id, props);
    this.auditor = new ImageDriftAuditor(this, 'Auditor', {
      ...props.auditor,
      config: props.config,
      ...(props.historyTableName ? { historyTable: dynamodb.TableV2.fromTableName(this, 'ExistingHistory', props.historyTableName) } : {}),
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.auditor.stateMachine.stateMachineArn, description: 'aws stepfunctions start-execution --state-machine-arn …' });
    new CfnOutput(this, 'FunctionName', { value: this.auditor.function.functionName, description: 'aws lambda invoke --function-name …' });
    new CfnOutput(this, 'SecretArn', { value: this.auditor.secret.secretArn, description: 'aws secretsmanager put-secret-value --secret-id …' });
    new CfnOutput(this, 'TopicArn', { value: this.auditor.topic.topicArn, description: 'Drift alert topic (e-mail subscriptions)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.auditor.alarmTopic.topicArn, description: 'Alarm topic (e-mail subscriptions)' });
    new CfnOutput(this, 'HistoryTableName', { value: this.auditor.table.tableName, description: 'Run history (retained on destroy)' });
    new CfnOutput(this, 'LogGroupName', { value: this.auditor.logGroup.logGroupName, description: 'Function logs' });
    new CfnOutput(this, 'DashboardName', { value: this.auditor.dashboard.dashboardName, description: 'CloudWatch dashboard' });
  }
}
