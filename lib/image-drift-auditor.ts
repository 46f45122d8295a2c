/**
 * ImageDriftAuditor: the whole deployed auditor as one construct.
 *
 *   EventBridge Scheduler (time zone, DLQ) ──▶ Step Functions run ──▶ Map: audit each repository (Lambda)
 *                                                                  └─▶ digest (Lambda) ──▶ DynamoDB history
 *                                                                                     └──▶ alert topic (KMS) ──▶ e-mail
 *   CloudWatch alarms (heartbeat, errors, queues, deliveries ...) ──▶ alarm topic (KMS) ──▶ e-mail, ALARM and OK
 *   CloudWatch dashboard (verdicts over time, runs, duration, last runs, images broken longest)
 *
 * The config is the same file the CLI reads (lambdas/engine/config/schema.ts); it is validated here again,
 * so a construct built by hand fails at synth with the same messages. It reaches the function as a file in
 * a layer (no 4 KB environment limit), and the state machine's Map iterates over its repositories.
 */
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { Construct } from 'constructs';
import { HISTORY_TABLE_DESIGN } from '../lambdas/engine/history/table-design.js';
import { ecrPullStatements, ecrRegistriesOf } from './ecr-access.js';
import { CONFIG_LAYER_DIR, CONFIG_LAYER_FILE, lambdaEnvironment, serializeConfigForLambda } from '../lambdas/engine/config/runtime-env.js';
import {
  AuditorConfigSchema,
  DEFAULTS,
  configProblems,
  deployProblems,
  type AuditorConfig,
  type AuditorConfigInput,
} from '../lambdas/engine/config/schema.js';
import { AuditorDashboard } from './dashboard.js';
import { AuditFanOut } from './fan-out.js';
import { grantHistoryAccess } from './history-access.js';
import { AuditorWatch, type ImageDriftAuditorAlarms } from './watch.js';

export type { ImageDriftAuditorAlarms } from './watch.js';
export { heartbeatWindow, verdictAlarmWindow } from './watch.js';

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

/**
 * Left out of the Lambda bundle (scripts/build.mjs keeps the same list): the AWS SDK, which the Node.js 24 runtime
 * provides, and two parts of undici the engine never reaches, each `require`d lazily only on a path it does not take:
 * the llhttp build without WebAssembly SIMD (a fallback for CPUs without SIMD; Lambda's x86_64 and arm64 have it)
 * and the fetch body extractor (only for FormData request bodies). Together 114 KB, 11 % of the bundle.
 */
export const LAMBDA_EXTERNAL_MODULES = ['@aws-sdk/*', '*/llhttp/llhttp-wasm.js', '*/web/fetch/body.js'];

export interface ImageDriftAuditorProps {
  /**
   * The auditor configuration: the parsed `image-drift.config.yaml` (raw or already validated).
   * Validated again here with `AuditorConfigSchema`; deploying also needs at least one repository.
   * Provides the schedule and its time zone, the e-mail subscriptions, the Lambda size and the run
   * settings; the function reads it from a file in its config layer (CONFIG_LAYER_FILE).
   */
  readonly config: AuditorConfigInput | AuditorConfig;

  /**
   * Path of the Lambda handler source (TypeScript), bundled locally with esbuild.
   * @default lambdas/audit/handler.ts in this package
   */
  readonly entry?: string;

  /**
   * How long the function's and the state machine's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Repositories audited at the same time (the Map state's maxConcurrency). Registries and the GitHub API
   * see this many audits at once.
   * @default 4
   */
  readonly maxConcurrentRepositories?: number;

  /**
   * Reserve `maxConcurrentRepositories + 1` units of concurrency for the function (the Map's iterations
   * and the digest), so a burst elsewhere in the account cannot starve a run and a run cannot exceed it.
   * Accounts whose Lambda concurrency quota is still 10 cannot reserve any; set false there.
   * @default true
   */
  readonly preventOverlappingRuns?: boolean;

  /**
   * An existing history table to use instead of creating one: a table retained by an earlier stack
   * (`cdk destroy` keeps it), e.g. `dynamodb.TableV2.fromTableName(this, 'History', 'name')`. It must have
   * the keys and index of HISTORY_TABLE_DESIGN; its TTL setting is yours (docs/deploy.md, upgrade path).
   * @default - a new table
   */
  readonly historyTable?: dynamodb.ITable;

  /**
   * What happens to a table this construct creates when the stack is deleted. The table also has
   * deletion protection on; with RETAIN it survives `cdk destroy`.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;

  /**
   * The duration alarm fires when an invocation's maximum duration exceeds this share of the timeout.
   * A whole number of percent, 1–99.
   * @default 80
   */
  readonly durationAlarmPercent?: number;

  /**
   * How long without a successful run before the heartbeat alarm fires (at most 7 days).
   * @default - twice the longest gap between two scheduled runs
   */
  readonly heartbeatWindow?: Duration;
}

export class ImageDriftAuditor extends Construct {
  /** The validated configuration, defaults applied. */
  public readonly config: AuditorConfig;
  /** Run history: a new AWS::DynamoDB::GlobalTable (single region), or the table given as `historyTable`. */
  public readonly table: dynamodb.ITable;
  /** Drift alerts from the digest step. */
  public readonly topic: sns.Topic;
  /** Alarm notifications (ALARM and OK); separate from the drift topic the alarms watch. */
  public readonly alarmTopic: sns.Topic;
  /** Customer managed key encrypting both topics; CloudWatch alarms of this account may use it. */
  public readonly topicKey: kms.Key;
  /** The audit function (per-repository steps and the digest). */
  public readonly function: lambda.Function;
  /** Registry and GitHub credentials, created as `{}`; see docs/deploy.md to fill it. */
  public readonly secret: secretsmanager.Secret;
  /** The state machine of one run: Map over repositories, then the digest. */
  public readonly stateMachine: sfn.StateMachine;
  /** The EventBridge Scheduler schedule that starts runs. */
  public readonly schedule: scheduler.Schedule;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Failed asynchronous invocations of the function (its on-failure destination). */
  public readonly failedInvocationsQueue: sqs.Queue;
  /** Schedule deliveries Scheduler could not hand to the state machine. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  /** Alerts and alarm notifications SNS could not deliver to a subscriber. */
  public readonly notificationDeadLetterQueue: sqs.Queue;
  public readonly alarms: ImageDriftAuditorAlarms;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ImageDriftAuditorProps) {
    super(scope, id);
    this.config = validateProps(props);
    const config = this.config;
    const stack = Stack.of(this);
    const timeoutSeconds = config.lambda?.timeoutSeconds ?? DEFAULTS.timeoutSeconds;
    const memoryMb = config.lambda?.memoryMb ?? DEFAULTS.memoryMb;
    const maxConcurrency = props.maxConcurrentRepositories ?? 4;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;

    // ─── History table ────────────────────────────────────────────────────
    this.table = props.historyTable ?? this.createTable(props.tableRemovalPolicy ?? RemovalPolicy.RETAIN);

    // ─── Topics (KMS) and the queues of what could not be delivered ──────
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the image-drift alert and alarm topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications as a service: it needs the key, for this account's alarms only.
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublishToTheEncryptedAlarmTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmsOfThisAccount,
      }),
    );
    this.notificationDeadLetterQueue = deadLetterQueue(this, 'NotificationDeadLetters');
    this.topic = new sns.Topic(this, 'Alerts', { displayName: 'Image drift alerts', masterKey: this.topicKey, enforceSSL: true });
    this.alarmTopic = new sns.Topic(this, 'AlarmNotifications', { displayName: 'Image drift auditor alarms', masterKey: this.topicKey, enforceSSL: true });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );
    for (const email of config.notificationEmails) {
      for (const topic of [this.topic, this.alarmTopic]) {
        topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.notificationDeadLetterQueue }));
      }
    }
    this.failedInvocationsQueue = deadLetterQueue(this, 'FailedInvocations');
    this.scheduleDeadLetterQueue = deadLetterQueue(this, 'ScheduleDeadLetters');

    // ─── Credentials ──────────────────────────────────────────────────────
    this.secret = new secretsmanager.Secret(this, 'Credentials', {
      description:
        'image-drift-auditor credentials: {"githubToken":"ghp_...","registries":{"<host>":{"username":"...","password":"..."}}}. See docs/deploy.md.',
      secretObjectValue: {},
    });

    // ─── Function ─────────────────────────────────────────────────────────
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Own role, no AWSLambdaBasicExecutionRole: logs go to exactly this log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'image-drift-auditor audit function',
    });
    const configLayer = new lambda.LayerVersion(this, 'ConfigLayer', {
      description: `image-drift-auditor config (${config.repositories.length} repositories), read from ${CONFIG_LAYER_FILE}`,
      code: lambda.Code.fromAsset(configLayerDirectory(config)),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const functionProps: lambda.FunctionOptions = {
      description: 'Audits GitOps repositories against their container registries (one repository, or the digest of a run)',
      // The helm layer (KubectlV35Layer: /opt/helm/helm, /opt/kubectl/kubectl) is built for linux x86_64 only.
      architecture: lambda.Architecture.X86_64,
      memorySize: memoryMb,
      timeout: Duration.seconds(timeoutSeconds),
      role,
      logGroup: this.logGroup,
      // helm renders the charts the audited repositories install (lambdas/engine/helm).
      layers: [configLayer, new KubectlV35Layer(this, 'HelmLayer')],
      tracing: lambda.Tracing.ACTIVE,
      // No source map and no --enable-source-maps: the map was 3.5× the bundle and made module init 40 % slower;
      // stack traces name minified functions, the messages (which carry the evidence) are unchanged.
      environment: lambdaEnvironment({
        configFile: CONFIG_LAYER_FILE,
        historyTableName: this.table.tableName,
        topicArn: this.topic.topicArn,
        secretArn: this.secret.secretArn,
      }),
      reservedConcurrentExecutions: props.preventOverlappingRuns === false ? undefined : maxConcurrency + 1,
      // Asynchronous invocations (manual ones; runs are synchronous steps of the state machine) are not retried:
      // the next scheduled run is the retry. What fails lands in the on-failure destination.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      onFailure: new QueueDestination(this.failedInvocationsQueue),
    };
    const prebuilt = props.entry === undefined ? prebuiltHandlerDirectory() : undefined;
    this.function = prebuilt
      ? // Installed from the package: the bundle scripts/build.mjs made with the same esbuild options, deployed as is.
        new lambda.Function(this, 'Audit', { ...functionProps, runtime: lambda.Runtime.NODEJS_24_X, code: lambda.Code.fromAsset(prebuilt), handler: 'handler.handler' })
      : new NodejsFunction(this, 'Audit', {
          ...functionProps,
          entry: props.entry ?? DEFAULT_HANDLER_ENTRY,
          handler: 'handler',
          ...bundlingRoots(),
          runtime: lambda.Runtime.NODEJS_24_X,
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
            externalModules: LAMBDA_EXTERNAL_MODULES,
          },
        });
    this.logGroup.grantWrite(this.function);
    grantHistoryAccess(role, this.table);
    this.topic.grantPublish(this.function);
    this.secret.grantRead(this.function);
    // Amazon ECR registries of the config: a token, and read access to their repositories only.
    const ecrRegistries = ecrRegistriesOf(config.registries);
    for (const statement of ecrPullStatements(ecrRegistries)) this.function.addToRolePolicy(statement);

    // ─── Runs: Scheduler → state machine → Map → digest ──────────────────
    const fanOut = new AuditFanOut(this, 'Run', {
      config,
      function: this.function,
      timeout: Duration.seconds(timeoutSeconds),
      maxConcurrency,
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      logRetention,
    });
    this.stateMachine = fanOut.stateMachine;
    this.schedule = fanOut.schedule;

    // ─── Watching the watcher ─────────────────────────────────────────────
    this.alarms = new AuditorWatch(this, 'Alarms', {
      config,
      namePrefix: stack.stackName,
      function: this.function,
      timeoutSeconds,
      durationAlarmPercent: props.durationAlarmPercent ?? 80,
      stateMachine: this.stateMachine,
      failedInvocationsQueue: this.failedInvocationsQueue,
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      notificationDeadLetterQueue: this.notificationDeadLetterQueue,
      alertTopic: this.topic,
      alarmTopic: this.alarmTopic,
      ...(props.heartbeatWindow ? { heartbeatWindow: props.heartbeatWindow } : {}),
    }).alarms;
    this.dashboard = new AuditorDashboard(this, 'Dashboard', {
      function: this.function,
      stateMachine: this.stateMachine,
      logGroup: this.logGroup,
      alarms: Object.values(this.alarms),
    }).dashboard;

    this.acknowledgeNagFindings(fanOut);
  }

  private createTable(removalPolicy: RemovalPolicy): dynamodb.TableV2 {
    // Typed through TableDesign: a change in table-design.ts that this mapping cannot express fails to compile.
    const design: TableDesign = HISTORY_TABLE_DESIGN;
    return new dynamodb.TableV2(this, 'History', {
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
      // Run summaries, events, notification claims and run parts carry it: historyRetentionDays bounds them.
      timeToLiveAttribute: design.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy,
    });
  }

  /** cdk-nag findings this design accepts on purpose, each with its reason. */
  private acknowledgeNagFindings(fanOut: AuditFanOut): void {
    const xray = {
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (Lambda Tracing.ACTIVE, state machine tracingEnabled) needs xray:PutTraceSegments and ' +
        'xray:PutTelemetryRecords, which support no resource-level permissions (X-Ray IAM docs): Resource must be "*".',
    };
    const ecrToken =
      ecrRegistriesOf(this.config.registries).length > 0
        ? ' ecr:GetAuthorizationToken has no resource-level permissions either (IAM service authorization reference); it only issues a registry login token.'
        : '';
    Validations.of(this.function.role ?? this).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to an SNS topic encrypted with a customer managed key needs kms:GenerateDataKey* (AWS SNS SSE docs); ' +
          'the statement is limited to the topic key.',
      },
      { ...xray, reason: xray.reason + ecrToken },
    );
    const functionArn = Stack.of(this).getLogicalId(this.function.node.defaultChild as lambda.CfnFunction);
    Validations.of(fanOut.stateMachine.role).acknowledge(
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${functionArn}.Arn>:*]`,
        reason:
          'Step Functions LambdaInvoke grants lambda:InvokeFunction on the function and its qualified ARNs (versions, ' +
          'aliases: <arn>:*) so the task may call either; the grant names this one function.',
      },
      {
        ...xray,
        reason:
          `${xray.reason} The state machine's log delivery (logs:CreateLogDelivery, logs:DescribeResourcePolicies …) also ` +
          'needs Resource "*" (CloudWatch Logs vended-logs docs).',
      },
    );
    if (ecrRegistriesOf(this.config.registries).length > 0) {
      Validations.of(this.function.role ?? this).acknowledge(
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
    Validations.of(this.function).acknowledge({
      id: 'Serverless::Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to an on-failure destination (SQS, with a depth alarm), which records the ' +
        'request and the error; a dead-letter queue as well would receive every failure a second time.',
    });
    for (const queue of [this.failedInvocationsQueue, this.scheduleDeadLetterQueue, this.notificationDeadLetterQueue]) {
      Validations.of(queue).acknowledge(
        {
          id: 'Serverless::Serverless-SQSRedrivePolicy',
          reason:
            'This queue is itself where failures end (a destination or dead-letter queue, with a depth alarm); people read ' +
            'and delete its messages, so a redrive policy would only move them out of sight.',
        },
        {
          id: 'AwsSolutions::AwsSolutions-SQS3',
          reason:
            'This queue is a dead-letter queue (on-failure destination, Scheduler target DLQ or SNS subscription DLQ); ' +
            'cdk-nag recognises only queues named in another queue\'s redrive policy.',
        },
      );
    }
  }
}

/**
 * The on-failure destination: like aws-lambda-destinations' SqsDestination, but granting only sqs:SendMessage
 * (Lambda sends; it never reads the queue's attributes or URL).
 */
class QueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

/** An SQS queue that collects what could not be delivered: encrypted, TLS only, kept the maximum 14 days. */
function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/**
 * The config as the function reads it, staged as the layer's content (`image-drift/config.json` → /opt/…).
 * A directory per synth; its asset hash is the content's, so an unchanged config publishes no new version.
 */
function configLayerDirectory(config: AuditorConfig): string {
  const root = mkdtempSync(join(tmpdir(), 'image-drift-config-'));
  mkdirSync(join(root, CONFIG_LAYER_DIR));
  writeFileSync(join(root, CONFIG_LAYER_DIR, 'config.json'), `${serializeConfigForLambda(config)}\n`);
  return root;
}

/**
 * The prebuilt Lambda bundle next to the compiled construct (dist/construct/index.js → dist/lambda/handler.mjs), when
 * the construct runs from the packed package; undefined when it runs from this repository's TypeScript sources.
 */
function prebuiltHandlerDirectory(): string | undefined {
  const bundle = fileURLToPath(new URL('../lambda/handler.mjs', import.meta.url));
  return existsSync(bundle) ? dirname(bundle) : undefined;
}

/**
 * Where esbuild finds the dependencies. In this repository: its own lock file and root. Installed from a
 * tarball into another CDK app there is no package-lock.json in the package (npm pack leaves it out):
 * NodejsFunction then uses the app's own lock file, found from the working directory, and its root.
 */
function bundlingRoots(): { projectRoot?: string; depsLockFilePath?: string } {
  return existsSync(LOCK_FILE) ? { projectRoot: PROJECT_ROOT, depsLockFilePath: LOCK_FILE } : {};
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
  const concurrency = props.maxConcurrentRepositories;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 40)) {
    problems.push(`maxConcurrentRepositories: must be a whole number from 1 to 40 (got ${concurrency})`);
  }
  if (problems.length > 0) {
    throw new Error(`ImageDriftAuditor: cannot deploy this config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return parsed.data;
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
