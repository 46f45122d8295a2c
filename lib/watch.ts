/**
 * Watching the watcher: every way a deployed auditor can go quiet or lose something raises an alarm on the
 * alarm topic (its own topic, not the drift topic it watches), with an OK message when it clears.
 *
 *   Heartbeat              no successful run (RunsSucceeded) in twice the schedule; missing data = breaching
 *   Errors / Throttles     the function crashed, timed out or was throttled
 *   Duration               runs close to the function timeout
 *   AsyncEventsDropped     asynchronous invocations (manual) Lambda dropped
 *   RunsFailed             the handler reported a failed run
 *   ImagesWithoutVerdict   registries left images without a verdict over several runs
 *   ExecutionsFailed       the state machine failed, timed out or was aborted
 *   *Queue depth           failed invocations (on-failure destination), schedule deliveries (DLQ),
 *                          undeliverable e-mail (subscription DLQ) are waiting to be read
 *   DeliveryFailures       SNS could not deliver a drift alert or an alarm
 */
import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRIC_RUNS_SUCCEEDED,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
  SERVICE_NAME,
} from '../lambdas/engine/config/metrics.js';
import { scheduleIntervalSeconds } from '../lambdas/engine/config/schedule-interval.js';
import { rateSeconds, type AuditorConfig } from '../lambdas/engine/config/schema.js';

/** The CloudWatch alarms, all publishing to the alarm topic (ALARM and OK). */
export interface ImageDriftAuditorAlarms {
  /** No successful run in twice the schedule (missing data breaches). */
  readonly heartbeat: cloudwatch.Alarm;
  /** Lambda `Errors` ≥ 1: an invocation crashed or timed out. */
  readonly errors: cloudwatch.Alarm;
  /** Lambda `Duration` (Maximum) above `durationAlarmPercent` of the timeout. */
  readonly duration: cloudwatch.Alarm;
  /** Lambda `Throttles` ≥ 1. */
  readonly throttles: cloudwatch.Alarm;
  /** Lambda `AsyncEventsDropped` ≥ 1. */
  readonly asyncEventsDropped: cloudwatch.Alarm;
  /** `ImageDrift/RunsFailed` ≥ 1: the handler reported a failed run. */
  readonly runsFailed: cloudwatch.Alarm;
  /** `ImageDrift/ImagesWithoutVerdict` ≥ 1 over `unverifiedAfterRuns` consecutive runs (rate schedules). */
  readonly imagesWithoutVerdict: cloudwatch.Alarm;
  /** State machine executions failed, timed out or aborted. */
  readonly executionsFailed: cloudwatch.Alarm;
  /** Messages in the function's on-failure destination. */
  readonly failedInvocationsQueue: cloudwatch.Alarm;
  /** Messages in the schedule target's dead-letter queue. */
  readonly scheduleDeadLetterQueue: cloudwatch.Alarm;
  /** Messages in the e-mail subscriptions' dead-letter queue. */
  readonly notificationDeadLetterQueue: cloudwatch.Alarm;
  /** SNS `NumberOfNotificationsFailed` ≥ 1 on the drift topic. */
  readonly alertDeliveryFailures: cloudwatch.Alarm;
  /** SNS `NumberOfNotificationsFailed` ≥ 1 on the alarm topic (seen in the console and on the dashboard). */
  readonly alarmDeliveryFailures: cloudwatch.Alarm;
}

export interface AuditorWatchProps {
  readonly config: AuditorConfig;
  /** Prefix of every alarm name (the stack name): names become e-mail subjects. */
  readonly namePrefix: string;
  readonly function: lambda.IFunction;
  readonly timeoutSeconds: number;
  readonly durationAlarmPercent: number;
  readonly stateMachine: sfn.IStateMachine;
  readonly failedInvocationsQueue: sqs.IQueue;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  readonly notificationDeadLetterQueue: sqs.IQueue;
  readonly alertTopic: sns.ITopic;
  readonly alarmTopic: sns.ITopic;
  /** Overrides the heartbeat window (default: twice the longest gap between scheduled runs). */
  readonly heartbeatWindow?: Duration;
}

const FIVE_MINUTES = Duration.minutes(5);
const AT_LEAST_ONE = {
  threshold: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  evaluationPeriods: 1,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

export class AuditorWatch extends Construct {
  public readonly alarms: ImageDriftAuditorAlarms;

  constructor(scope: Construct, id: string, props: AuditorWatchProps) {
    super(scope, id);
    const { config } = props;
    const name = (text: string) => `${props.namePrefix}: ${text}`;
    const custom = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [SERVICE_DIMENSION]: SERVICE_NAME }, statistic, period });
    const fn = props.function;

    const heartbeatWindowSpec = heartbeatWindow(config, props.heartbeatWindow, (message) => Annotations.of(this).addWarningV2('image-drift:heartbeat', message));
    const heartbeat = new cloudwatch.Alarm(this, 'Heartbeat', {
      alarmName: name(`no successful audit run in ${describeDuration(heartbeatWindowSpec.windowSeconds)}`),
      alarmDescription:
        `Heartbeat: no audit run completed without errors in ${describeDuration(heartbeatWindowSpec.windowSeconds)} (twice the schedule ` +
        `${config.schedule}). The auditor is not running, or every run fails: check the state machine executions, the ` +
        'other alarms and the function logs. Missing data counts as breaching, so a stopped schedule fires it too.',
      metric: custom(METRIC_RUNS_SUCCEEDED, cloudwatch.Stats.SUM, heartbeatWindowSpec.period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: heartbeatWindowSpec.evaluationPeriods,
      datapointsToAlarm: heartbeatWindowSpec.evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const errors = new cloudwatch.Alarm(this, 'Errors', {
      ...AT_LEAST_ONE,
      alarmName: name('audit function crashed or timed out'),
      alarmDescription: 'The audit function failed an invocation (Lambda Errors >= 1 in 5 minutes): a crash or a timeout. ' +
        'A failed repository step is caught and reported by the digest; the function logs name the cause.',
      metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    });

    const durationThresholdMs = Math.floor((props.timeoutSeconds * 1000 * props.durationAlarmPercent) / 100);
    const duration = new cloudwatch.Alarm(this, 'Duration', {
      alarmName: name(`audit step close to its ${props.timeoutSeconds} s timeout`),
      alarmDescription:
        `An invocation took over ${props.durationAlarmPercent}% of the ${props.timeoutSeconds} s timeout: raise lambda.timeoutSeconds ` +
        '(max 900) or split a large repository (repositories[].paths) before steps start timing out.',
      metric: fn.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: durationThresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const throttles = new cloudwatch.Alarm(this, 'Throttles', {
      ...AT_LEAST_ONE,
      alarmName: name('audit function throttled'),
      alarmDescription:
        'Lambda throttled the audit function (Throttles >= 1 in 5 minutes). The state machine retries throttled steps; ' +
        'repeated throttles mean runs overlap or a manual invoke competes with the reserved concurrency.',
      metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    });

    const asyncEventsDropped = new cloudwatch.Alarm(this, 'AsyncEventsDropped', {
      ...AT_LEAST_ONE,
      alarmName: name('asynchronous invocations dropped'),
      alarmDescription:
        'Lambda dropped asynchronous invocations of the audit function (AsyncEventsDropped >= 1): events too old or ' +
        'throttled for too long. Those runs never happened.',
      metric: fn.metric('AsyncEventsDropped', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    });

    const runsFailed = new cloudwatch.Alarm(this, 'RunsFailed', {
      ...AT_LEAST_ONE,
      alarmName: name('audit run failed'),
      alarmDescription:
        'A run ended with errors (ImageDrift/RunsFailed >= 1): a repository could not be read, drift could not be recorded or ' +
        'announced, or the run failed as a whole. The log lines "repository could not be audited", "drift could not be ' +
        'recorded or announced in full" and "run failed" name the cause.',
      metric: custom(METRIC_RUNS_FAILED, cloudwatch.Stats.SUM, FIVE_MINUTES),
    });

    const window = verdictAlarmWindow(config);
    const imagesWithoutVerdict = new cloudwatch.Alarm(this, 'ImagesWithoutVerdict', {
      alarmName: name('registries leave images without a verdict'),
      alarmDescription:
        `Images were left without a verdict (rate limited, registry unreachable) in ${window.evaluationPeriods} consecutive ` +
        'run period(s): the auditor cannot see those registries. Check registry status and credentials.',
      metric: custom(METRIC_IMAGES_WITHOUT_VERDICT, cloudwatch.Stats.MAXIMUM, window.period),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: window.evaluationPeriods,
      datapointsToAlarm: window.evaluationPeriods,
      // Periods without a run carry no data; they neither break nor restart the streak.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    const executions = new cloudwatch.MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: props.stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM }),
        timedOut: props.stateMachine.metricTimedOut({ statistic: cloudwatch.Stats.SUM }),
        aborted: props.stateMachine.metricAborted({ statistic: cloudwatch.Stats.SUM }),
      },
      period: FIVE_MINUTES,
      label: 'Executions failed, timed out or aborted',
    });
    const executionsFailed = new cloudwatch.Alarm(this, 'ExecutionsFailed', {
      ...AT_LEAST_ONE,
      alarmName: name('audit run execution failed'),
      alarmDescription:
        'A run of the state machine failed, timed out or was aborted: the digest step did not complete, so drift was not ' +
        'recorded for that run. Open the execution in the Step Functions console to see the failed state.',
      metric: executions,
    });

    const queueDepth = (id: string, queue: sqs.IQueue, title: string, what: string) =>
      new cloudwatch.Alarm(this, id, {
        ...AT_LEAST_ONE,
        alarmName: name(title),
        alarmDescription: `${what} (${queue.node.path}: ApproximateNumberOfMessagesVisible >= 1).`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      });
    const failedInvocationsQueue = queueDepth(
      'FailedInvocationsQueue',
      props.failedInvocationsQueue,
      'failed invocations in the on-failure queue',
      'Asynchronous invocations of the audit function failed and wait in its on-failure destination. Read them ' +
        '(aws sqs receive-message) for the request and the error, then delete them',
    );
    const scheduleDeadLetterQueue = queueDepth(
      'ScheduleDeadLetterQueue',
      props.scheduleDeadLetterQueue,
      'scheduled runs that never started',
      'EventBridge Scheduler could not start the state machine for these runs (permissions, throttling); the messages in ' +
        'the schedule\'s dead-letter queue carry the error',
    );
    const notificationDeadLetterQueue = queueDepth(
      'NotificationDeadLetterQueue',
      props.notificationDeadLetterQueue,
      'undeliverable alerts in the dead-letter queue',
      'SNS gave up delivering these alerts or alarm notifications; check the subscriptions (unconfirmed, bouncing addresses) ' +
        'and read the messages from the subscriptions\' dead-letter queue',
    );

    const deliveryFailures = (id: string, topic: sns.ITopic, what: string) =>
      new cloudwatch.Alarm(this, id, {
        ...AT_LEAST_ONE,
        alarmName: name(`${what} not delivered`),
        alarmDescription: `SNS could not deliver ${what} to a subscriber (NumberOfNotificationsFailed >= 1); undeliverable messages go to the notification dead-letter queue.`,
        metric: topic.metricNumberOfNotificationsFailed({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      });
    const alertDeliveryFailures = deliveryFailures('AlertDeliveryFailures', props.alertTopic, 'drift alerts');
    const alarmDeliveryFailures = deliveryFailures('AlarmDeliveryFailures', props.alarmTopic, 'alarm notifications');

    this.alarms = {
      heartbeat,
      errors,
      duration,
      throttles,
      asyncEventsDropped,
      runsFailed,
      imagesWithoutVerdict,
      executionsFailed,
      failedInvocationsQueue,
      scheduleDeadLetterQueue,
      notificationDeadLetterQueue,
      alertDeliveryFailures,
      alarmDeliveryFailures,
    };
    const action = new cloudwatchActions.SnsAction(props.alarmTopic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}

/**
 * The heartbeat alarm's window: twice the longest gap between scheduled runs (or the given window), at most the 7 days
 * CloudWatch evaluates; periods of at most an hour up to a day, of 6 hours beyond.
 */
export function heartbeatWindow(
  config: AuditorConfig,
  override?: Duration,
  warn: (message: string) => void = () => undefined,
): { period: Duration; evaluationPeriods: number; windowSeconds: number } {
  const maxSeconds = 7 * 86_400;
  let wanted = override?.toSeconds();
  if (wanted === undefined) {
    const interval = scheduleIntervalSeconds(config.schedule);
    if (interval === undefined) {
      warn(`cannot tell how often "${config.schedule}" runs; the heartbeat alarm waits 7 days (set heartbeatWindow to choose)`);
      wanted = maxSeconds;
    } else {
      wanted = 2 * interval;
    }
  }
  if (wanted > maxSeconds) warn(`the heartbeat window is capped at 7 days (CloudWatch's longest); "${config.schedule}" runs less often than twice a week`);
  const windowSeconds = Math.max(120, Math.min(maxSeconds, Math.ceil(wanted / 60) * 60));
  const periodSeconds = windowSeconds <= 86_400 ? Math.min(3600, windowSeconds) : 21_600;
  // A period under an hour must keep the whole window within a day: it does, windows under an hour are one period.
  const evaluationPeriods = Math.max(1, Math.ceil(windowSeconds / periodSeconds));
  return { period: Duration.seconds(periodSeconds), evaluationPeriods, windowSeconds: periodSeconds * evaluationPeriods };
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

/** "2 h", "90 min", "2 days". */
export function describeDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? '1 day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${Math.round(seconds / 60)} min`;
}
