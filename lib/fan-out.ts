/**
 * The run as a Step Functions state machine, started by EventBridge Scheduler:
 *
 *   Scheduler (expression + time zone, DLQ) ──▶ Plan (Pass: the repositories, from the config at synth)
 *     ──▶ Map over repositories (maxConcurrency) ──▶ AuditRepository (LambdaInvoke { step: audit-repository })
 *            └─ a failed or timed-out iteration is caught and becomes { index, repo, error }
 *     ──▶ Digest (LambdaInvoke { step: digest }): records drift over all parts, announces, emits run metrics
 *
 * One repository's failure or size never sinks the others, and no single invocation has to audit them all.
 * Event shapes: lambdas/engine/scheduled/steps.ts.
 */
import { Duration, RemovalPolicy, TimeZone } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { AuditorConfig } from '../lambdas/engine/config/schema.js';
import { STEP_AUDIT_REPOSITORY, STEP_DIGEST } from '../lambdas/engine/scheduled/steps.js';

export interface AuditFanOutProps {
  readonly config: AuditorConfig;
  readonly function: lambda.IFunction;
  readonly timeout: Duration;
  /** Repositories audited at once. */
  readonly maxConcurrency: number;
  /** Where schedule deliveries that Scheduler could not hand to the state machine go. */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
}

export class AuditFanOut extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly schedule: scheduler.Schedule;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditFanOutProps) {
    super(scope, id);
    const { config } = props;

    const plan = new sfn.Pass(this, 'Plan', {
      comment: 'The repositories of the deployed config',
      result: sfn.Result.fromObject({ repositories: config.repositories.map((repository) => ({ repo: repository.repo })) }),
      resultPath: '$.plan',
    });

    const auditRepository = new tasks.LambdaInvoke(this, 'AuditRepository', {
      comment: 'Audits one repository and stores its verdicts for the digest',
      lambdaFunction: props.function,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromJsonPathAt('$'),
    });
    // The function's concurrency is reserved: a throttled iteration waits and tries again.
    auditRepository.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(20), maxAttempts: 6, backoffRate: 2 });
    const repositoryFailed = new sfn.Pass(this, 'RepositoryFailed', {
      comment: 'The iteration failed (crash, timeout): the digest counts the repository as not audited',
      parameters: { 'index.$': '$.index', 'repo.$': '$.repo', 'error.$': '$.failure.Cause' },
    });
    auditRepository.addCatch(repositoryFailed, { resultPath: '$.failure' });

    const eachRepository = new sfn.Map(this, 'EachRepository', {
      comment: 'One iteration per repository',
      itemsPath: '$.plan.repositories',
      itemSelector: {
        step: STEP_AUDIT_REPOSITORY,
        'runId.$': '$$.Execution.Name',
        'index.$': '$$.Map.Item.Index',
        'repo.$': '$$.Map.Item.Value.repo',
      },
      maxConcurrency: props.maxConcurrency,
      resultPath: '$.outcomes',
    });
    eachRepository.itemProcessor(auditRepository);

    const digest = new tasks.LambdaInvoke(this, 'Digest', {
      comment: 'Records drift over all repositories and sends one digest',
      lambdaFunction: props.function,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        step: STEP_DIGEST,
        runId: sfn.JsonPath.stringAt('$$.Execution.Name'),
        startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
        outcomes: sfn.JsonPath.objectAt('$.outcomes'),
      }),
    });
    digest.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(20), maxAttempts: 6, backoffRate: 2 });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Waves of iterations, each at most one function timeout, then the digest; a day at most.
    const waves = Math.ceil(config.repositories.length / props.maxConcurrency);
    const executionTimeout = Duration.seconds(Math.min(86_400, (waves + 1) * props.timeout.toSeconds() + 600));
    this.stateMachine = new sfn.StateMachine(this, 'Run', {
      comment: 'image-drift-auditor: one audit run over every repository',
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(eachRepository).next(digest)),
      timeout: executionTimeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    const timeZone = TimeZone.of(config.scheduleTimeZone);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Starts an image drift audit run (${config.schedule}, ${config.scheduleTimeZone})`,
      schedule: scheduler.ScheduleExpression.expression(config.schedule, timeZone),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        deadLetterQueue: props.scheduleDeadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}
