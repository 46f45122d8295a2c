/**
 * ImageDriftAuditor: the whole deployed auditor as one construct.
 *
 *   EventBridge rule ──(schedule)──▶ Lambda (audit run) ──▶ DynamoDB history (TableV2)
 *                                      │  reads the GitOps repo (GitHub API) and registries,
 *                                      │  with credentials from Secrets Manager
 *                                      └──▶ SNS topic (KMS) ──▶ e-mail
 *   CloudWatch alarms (errors, duration, RunsFailed, ImagesWithoutVerdict) ──▶ same topic
 *
 * The config is the same file the CLI reads (lambdas/engine/config/schema.ts); it is validated
 * here again, so a construct built by hand fails at synth with the same messages.
 */
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { HISTORY_TABLE_DESIGN } from '../lambdas/engine/history/table-design.js';
import { ecrPullStatements, ecrRegistriesOf } from './ecr-access.js';
import {
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
  SERVICE_NAME,
} from '../lambdas/engine/config/metrics.js';
import { LAMBDA_ENV_MAX_BYTES, lambdaEnvironment } from '../lambdas/engine/config/runtime-env.js';
import {
  AuditorConfigSchema,
  DEFAULTS,
  configProblems,
  deployProblems,
  rateSeconds,
  type AuditorConfig,
  type AuditorConfigInput,
} from '../lambdas/engine/config/schema.js';

/** The audit handler, relative to this file (works from any working directory). */
export const DEFAULT_HANDLER_ENTRY = fileURLToPath(new URL('../lambdas/audit/handler.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/**
 * ESM bundles have no `require`; some bundled CommonJS dependencies call it for Node built-ins.
 * The alias avoids clashing with a `createRequire` import the bundle may hoist itself.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __imageDriftCreateRequire } from 'node:module'; const require = __imageDriftCreateRequire(import.meta.url);";

export interface ImageDriftAuditorProps {
  /**
   * The auditor configuration: the parsed `image-drift.config.yaml` (raw or already validated).
   * Validated again here with `AuditorConfigSchema`; deploying also needs at least one repository.
   * Provides the schedule, the e-mail subscriptions, the Lambda size and the run settings
   * passed to the handler in `IMAGE_DRIFT_CONFIG`.
   */
  readonly config: AuditorConfigInput | AuditorConfig;

  /**
   * Path of the Lambda handler source (TypeScript), bundled locally with esbuild.
   * @default lambdas/audit/handler.ts in this repository
   */
  readonly entry?: string;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Reserve a concurrency of 1 for the function so two runs never overlap (a slow run and the
   * next scheduled one, or a manual invoke). Needs 1 unit of unreserved account concurrency:
   * accounts whose Lambda concurrency quota is still 10 cannot reserve any; set false there.
   * @default true
   */
  readonly preventOverlappingRuns?: boolean;

  /**
   * What happens to the history table when the stack is deleted. The table also has deletion
   * protection on; with RETAIN it survives `cdk destroy`.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;

  /**
   * The duration alarm fires when a run's maximum duration exceeds this share of the timeout.
   * A whole number of percent, 1–99.
   * @default 80
   */
  readonly durationAlarmPercent?: number;
}

/** The CloudWatch alarms, all publishing to the alert topic. */
export interface ImageDriftAuditorAlarms {
  /** Lambda `Errors` ≥ 1: a run crashed or timed out. */
  readonly errors: cloudwatch.Alarm;
  /** Lambda `Duration` (Maximum) above `durationAlarmPercent` of the timeout: runs are about to time out. */
  readonly duration: cloudwatch.Alarm;
  /** `ImageDrift/RunsFailed` ≥ 1: the handler caught a failure of the whole run. */
  readonly runsFailed: cloudwatch.Alarm;
  /** `ImageDrift/ImagesWithoutVerdict` ≥ 1 over `unverifiedAfterRuns` consecutive runs (rate schedules). */
  readonly imagesWithoutVerdict: cloudwatch.Alarm;
}

export class ImageDriftAuditor extends Construct {
  /** The validated configuration, defaults applied. */
  public readonly config: AuditorConfig;
  /** Run history (AWS::DynamoDB::GlobalTable, single region). */
  public readonly table: dynamodb.TableV2;
  /** Alerts from the handler and from the alarms. */
  public readonly topic: sns.Topic;
  /** Customer managed key encrypting the topic; CloudWatch and EventBridge may use it. */
  public readonly topicKey: kms.Key;
  /** The audit function. */
  public readonly function: NodejsFunction;
  /** Registry and GitHub credentials, created as `{}`; see docs/deploy.md to fill it. */
  public readonly secret: secretsmanager.Secret;
  /** The EventBridge rule that starts runs. */
  public readonly schedule: events.Rule;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: ImageDriftAuditorAlarms;

  constructor(scope: Construct, id: string, props: ImageDriftAuditorProps) {
    super(scope, id);
    this.config = validateProps(props);
    const config = this.config;
    const timeoutSeconds = config.lambda?.timeoutSeconds ?? DEFAULTS.timeoutSeconds;
    const memoryMb = config.lambda?.memoryMb ?? DEFAULTS.memoryMb;

    // ─── History table ────────────────────────────────────────────────────
    // Typed through TableDesign: a change in table-design.ts that this mapping cannot express fails to compile.
    const design: TableDesign = HISTORY_TABLE_DESIGN;
    this.table = new dynamodb.TableV2(this, 'History', {
      partitionKey: attribute(design.partitionKey),
      sortKey: attribute(design.sortKey),
      billing: dynamodb.Billing.onDemand(),
      globalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType: projection(index.projection.type),
        ...(index.projection.nonKeyAttributes ? { nonKeyAttributes: [...index.projection.nonKeyAttributes] } : {}),
      })),
      timeToLiveAttribute: design.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // ─── Alert topic (KMS) ────────────────────────────────────────────────
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the image-drift alert topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch alarms and EventBridge publish as services: they need the key to encrypt messages.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsAndEventBridgeToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Alerts', {
      displayName: 'Image drift alerts',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const email of config.notificationEmails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // ─── Credentials ──────────────────────────────────────────────────────
    this.secret = new secretsmanager.Secret(this, 'Credentials', {
      description:
        'image-drift-auditor credentials: {"githubToken":"ghp_...","registries":{"<host>":{"username":"...","password":"..."}}}. See docs/deploy.md.',
      secretObjectValue: {},
    });

    // ─── Function ─────────────────────────────────────────────────────────
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role, no AWSLambdaBasicExecutionRole: logs go to exactly this log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'image-drift-auditor audit function',
    });
    // No source map and no --enable-source-maps: the map was 3.5× the bundle and made module init 40 % slower;
    // stack traces name minified functions, the messages (which carry the evidence) are unchanged.
    const environment = lambdaEnvironment({
      config,
      historyTableName: this.table.tableName,
      topicArn: this.topic.topicArn,
      secretArn: this.secret.secretArn,
    });
    this.function = new NodejsFunction(this, 'Audit', {
      description: 'Audits the GitOps repositories against their container registries',
      entry: props.entry ?? DEFAULT_HANDLER_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: memoryMb,
      timeout: Duration.seconds(timeoutSeconds),
      role,
      logGroup: this.logGroup,
      environment,
      reservedConcurrentExecutions: props.preventOverlappingRuns === false ? undefined : 1,
      // A failed run is not re-run: the next scheduled run is the retry.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: false,
        esbuildArgs: { '--legal-comments': 'none' },
        // The Node.js 24 runtime ships the AWS SDK v3: leaving it out keeps the bundle small and
        // cold starts fast. The price: the runtime's SDK version, not package-lock's, runs in AWS.
        externalModules: ['@aws-sdk/*'],
      },
    });
    this.logGroup.grantWrite(this.function);
    this.table.grantReadWriteData(this.function);
    this.topic.grantPublish(this.function);
    this.secret.grantRead(this.function);
    // Amazon ECR registries of the config: a token, and read access to their repositories only.
    const ecrRegistries = ecrRegistriesOf(config.registries);
    for (const statement of ecrPullStatements(ecrRegistries)) this.function.addToRolePolicy(statement);

    // ─── Schedule ─────────────────────────────────────────────────────────
    // The target passes the whole event: the handler uses its `id` as the run id.
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Runs the image drift audit (${config.schedule})`,
      schedule: events.Schedule.expression(config.schedule),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    // ─── Alarms ───────────────────────────────────────────────────────────
    this.alarms = this.createAlarms(config, timeoutSeconds, props.durationAlarmPercent ?? 80);

    this.acknowledgeNagFindings();
  }

  private createAlarms(config: AuditorConfig, timeoutSeconds: number, durationPercent: number): ImageDriftAuditorAlarms {
    const period = Duration.minutes(5);
    const action = new cloudwatchActions.SnsAction(this.topic);
    const customMetric = (metricName: string, statistic: string, metricPeriod: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: SERVICE_NAME },
        statistic,
        period: metricPeriod,
      });

    const errors = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'An audit run crashed or timed out (Lambda Errors >= 1). See the function logs.',
      metric: this.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const durationThresholdMs = Math.floor((timeoutSeconds * 1000 * durationPercent) / 100);
    const duration = new cloudwatch.Alarm(this, 'DurationAlarm', {
      alarmDescription: `An audit run took over ${durationPercent}% of the ${timeoutSeconds} s timeout; raise lambda.timeoutSeconds (max 900) or split the repositories over two stacks before runs time out.`,
      metric: this.function.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: durationThresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const runsFailed = new cloudwatch.Alarm(this, 'RunsFailedAlarm', {
      alarmDescription: 'An audit run failed as a whole (GitOps repository unreadable, history not written...). See the function logs.',
      metric: customMetric(METRIC_RUNS_FAILED, cloudwatch.Stats.SUM, period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const window = verdictAlarmWindow(config);
    const imagesWithoutVerdict = new cloudwatch.Alarm(this, 'ImagesWithoutVerdictAlarm', {
      alarmDescription:
        `Images were left without a verdict (rate limited, registry unreachable) in ${window.evaluationPeriods} consecutive ` +
        'run period(s): the auditor cannot see those registries.',
      metric: customMetric(METRIC_IMAGES_WITHOUT_VERDICT, cloudwatch.Stats.MAXIMUM, window.period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: window.evaluationPeriods,
      datapointsToAlarm: window.evaluationPeriods,
      // Periods without a run carry no data; they neither break nor restart the streak.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    const alarms = { errors, duration, runsFailed, imagesWithoutVerdict };
    for (const alarm of Object.values(alarms)) alarm.addAlarmAction(action);
    return alarms;
  }

  /** cdk-nag findings this design accepts on purpose, each with its reason. */
  private acknowledgeNagFindings(): void {
    const tableLogicalId = Stack.of(this).getLogicalId(this.table.node.defaultChild as CfnElement);
    // The grants land in the function role's default policy.
    Validations.of(this.function.role ?? this).acknowledge(
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${tableLogicalId}.Arn>/index/*]`,
        reason:
          'The history layer queries the table\'s global secondary indexes; DynamoDB index ARNs are table-ARN/index/<name>, ' +
          'and the grant is limited to this table\'s indexes.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to an SNS topic encrypted with a customer managed key needs kms:GenerateDataKey* (AWS SNS SSE docs); ' +
          'the statement is limited to the topic key.',
      },
    );
    if (ecrRegistriesOf(this.config.registries).length > 0) {
      Validations.of(this.function.role ?? this).acknowledge(
        {
          id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
          reason: 'ecr:GetAuthorizationToken has no resource-level permissions (IAM service authorization reference); it only issues a registry login token.',
        },
        ...ecrRegistriesOf(this.config.registries).map((t) => ({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:${t.partition}:ecr:${t.region}:${t.account}:repository/*]`,
          reason: `The auditor checks whichever images of ${t.host} the GitOps repositories deploy; it may read (never write) that registry's repositories.`,
        })),
      );
    }
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The secret holds a GitHub classic PAT and registry passwords issued by third parties; Secrets Manager cannot ' +
        'rotate them. They are rotated by a person (docs/deploy.md), and a rejected credential shows as AUTH_FAILED.',
    });
  }
}

// ─── Helpers ─────────────────────────────────────────────────────────────

function validateProps(props: ImageDriftAuditorProps): AuditorConfig {
  const parsed = AuditorConfigSchema.safeParse(props.config);
  if (!parsed.success) {
    throw new Error(`ImageDriftAuditor: invalid config:\n${configProblems(parsed.error).map((p) => `  - ${p}`).join('\n')}`);
  }
  const problems = deployProblems(parsed.data);
  const percent = props.durationAlarmPercent;
  if (percent !== undefined && (!Number.isInteger(percent) || percent < 1 || percent > 99)) {
    problems.push(`durationAlarmPercent: must be a whole number from 1 to 99 (got ${percent})`);
  }
  const configBytes = Buffer.byteLength(JSON.stringify(parsed.data));
  // ARNs, the table name and the other variables take about 600 bytes of the 4 KB.
  if (configBytes > LAMBDA_ENV_MAX_BYTES - 600) {
    problems.push(
      `config: ${configBytes} bytes as JSON, too large for the Lambda environment (4 KB in all); ` +
        'shorten descriptions, drop default values or split the repositories over two stacks',
    );
  }
  if (problems.length > 0) {
    throw new Error(`ImageDriftAuditor: cannot deploy this config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return parsed.data;
}

/**
 * For rate schedules, one alarm period per run and `unverifiedAfterRuns` periods in a row
 * (CloudWatch caps periods × evaluations at one day). For cron schedules the spacing is unknown:
 * one hourly period.
 */
export function verdictAlarmWindow(config: AuditorConfig): { period: Duration; evaluationPeriods: number } {
  const seconds = rateSeconds(config.schedule);
  if (seconds === undefined) return { period: Duration.hours(1), evaluationPeriods: 1 };
  const periodSeconds = Math.min(Math.max(seconds, 60), 86_400);
  const evaluationPeriods = Math.max(1, Math.min(config.unverifiedAfterRuns, Math.floor(86_400 / periodSeconds)));
  return { period: Duration.seconds(periodSeconds), evaluationPeriods };
}

interface KeyDesign {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

/** The shape of HISTORY_TABLE_DESIGN (lambdas/engine/history/table-design.ts) this construct understands. */
interface TableDesign {
  readonly partitionKey: KeyDesign;
  readonly sortKey: KeyDesign;
  readonly billingMode: 'PAY_PER_REQUEST';
  readonly globalSecondaryIndexes: readonly {
    readonly indexName: string;
    readonly partitionKey: KeyDesign;
    readonly sortKey?: KeyDesign;
    readonly projection: { readonly type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; readonly nonKeyAttributes?: readonly string[] };
  }[];
  readonly timeToLiveAttribute: string;
}

function attribute(key: KeyDesign): dynamodb.Attribute {
  const type = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY }[key.type];
  return { name: key.name, type };
}

function projection(type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'): dynamodb.ProjectionType {
  return { ALL: dynamodb.ProjectionType.ALL, KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY, INCLUDE: dynamodb.ProjectionType.INCLUDE }[type];
}
