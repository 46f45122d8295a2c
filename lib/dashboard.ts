/**
 * The auditor's CloudWatch dashboard: images by verdict over time (from the EMF metrics the handler emits),
 * runs and their outcome, how long they take, how many images each checks, the last runs and the images
 * broken longest (Logs Insights over the function's log lines), and the state of every alarm.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  LOG_IMAGE_NOT_PULLABLE,
  LOG_RUN_FINISHED,
  METRIC_IMAGES_AUDITED,
  METRIC_IMAGES_BY_VERDICT,
  METRIC_IMAGES_FAILING,
  METRIC_IMAGES_WITHOUT_VERDICT,
  METRIC_RUNS_FAILED,
  METRIC_RUNS_SUCCEEDED,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
  SERVICE_NAME,
  VERDICT_DIMENSION,
} from '../lambdas/engine/config/metrics.js';

export interface AuditorDashboardProps {
  readonly function: lambda.IFunction;
  readonly stateMachine: sfn.IStateMachine;
  readonly logGroup: logs.ILogGroup;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/** Logs Insights queries of the dashboard (also in docs/history-queries.md). */
export const LAST_RUNS_QUERY = [
  'fields @timestamp, runId, repositories, images, transitions, notified, errors',
  `filter message = "${LOG_RUN_FINISHED}"`,
  'sort @timestamp desc',
  'limit 10',
];
export const TOP_BROKEN_IMAGES_QUERY = [
  `filter message = "${LOG_IMAGE_NOT_PULLABLE}"`,
  'stats count_distinct(runId) as runs, latest(status) as lastStatus, latest(repo) as repository by image',
  'sort runs desc',
  'limit 20',
];

export class AuditorDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AuditorDashboardProps) {
    super(scope, id);
    const hour = Duration.hours(1);
    const custom = (metricName: string, label: string, statistic: string = cloudwatch.Stats.MAXIMUM) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: SERVICE_NAME },
        statistic,
        period: hour,
        label,
      });

    // One series per verdict: the handler emits Images{service, verdict} once per run.
    const byVerdict = new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${SERVICE_DIMENSION},${VERDICT_DIMENSION}} MetricName="${METRIC_IMAGES_BY_VERDICT}" ${SERVICE_DIMENSION}="${SERVICE_NAME}"', 'Maximum', 3600)`,
      usingMetrics: {},
      label: '',
      period: hour,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(14),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Images by verdict (per run)',
            left: [byVerdict],
            width: 12,
            height: 7,
            stacked: true,
          }),
          new cloudwatch.GraphWidget({
            title: 'Images checked, failing, without verdict',
            left: [
              custom(METRIC_IMAGES_AUDITED, 'checked'),
              custom(METRIC_IMAGES_FAILING, 'failing (failOn)'),
              custom(METRIC_IMAGES_WITHOUT_VERDICT, 'without verdict'),
            ],
            width: 12,
            height: 7,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Runs',
            left: [custom(METRIC_RUNS_SUCCEEDED, 'succeeded', cloudwatch.Stats.SUM), custom(METRIC_RUNS_FAILED, 'failed', cloudwatch.Stats.SUM)],
            width: 8,
            height: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Run duration',
            left: [
              props.stateMachine.metricTime({ statistic: cloudwatch.Stats.MAXIMUM, period: hour, label: 'whole run (ms)' }),
              props.function.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: hour, label: 'longest step (ms)' }),
            ],
            width: 8,
            height: 6,
          }),
          new cloudwatch.SingleValueWidget({
            title: 'Last hour',
            metrics: [
              custom(METRIC_IMAGES_AUDITED, 'images checked'),
              custom(METRIC_RUNS_SUCCEEDED, 'runs succeeded', cloudwatch.Stats.SUM),
              custom(METRIC_RUNS_FAILED, 'runs failed', cloudwatch.Stats.SUM),
            ],
            width: 8,
            height: 6,
          }),
        ],
        [
          new cloudwatch.LogQueryWidget({
            title: 'Last runs',
            logGroupNames: [props.logGroup.logGroupName],
            queryLines: LAST_RUNS_QUERY,
            view: cloudwatch.LogQueryVisualizationType.TABLE,
            width: 12,
            height: 6,
          }),
          new cloudwatch.LogQueryWidget({
            title: 'Images not pullable in the most runs',
            logGroupNames: [props.logGroup.logGroupName],
            queryLines: TOP_BROKEN_IMAGES_QUERY,
            view: cloudwatch.LogQueryVisualizationType.TABLE,
            width: 12,
            height: 6,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 4 })],
      ],
    });
  }
}
