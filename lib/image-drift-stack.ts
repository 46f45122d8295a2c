/**
 * The deployable stack: a thin wrapper that hands the validated config to ImageDriftAuditor
 * and exports what an operator needs after `cdk deploy` (see docs/deploy.md).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
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
  readonly auditor?: Omit<ImageDriftAuditorProps, 'config'>;
}

export class ImageDriftStack extends Stack {
  public readonly auditor: ImageDriftAuditor;

  constructor(scope: Construct, id: string, props: ImageDriftStackProps) {
    super(scope, id, props);
    this.auditor = new ImageDriftAuditor(this, 'Auditor', { ...props.auditor, config: props.config });

    new CfnOutput(this, 'FunctionName', { value: this.auditor.function.functionName, description: 'aws lambda invoke --function-name …' });
    new CfnOutput(this, 'SecretArn', { value: this.auditor.secret.secretArn, description: 'aws secretsmanager put-secret-value --secret-id …' });
    new CfnOutput(this, 'TopicArn', { value: this.auditor.topic.topicArn, description: 'Alert topic (e-mail subscriptions)' });
    new CfnOutput(this, 'HistoryTableName', { value: this.auditor.table.tableName, description: 'Run history (retained on destroy)' });
    new CfnOutput(this, 'LogGroupName', { value: this.auditor.logGroup.logGroupName, description: 'Function logs' });
  }
}
