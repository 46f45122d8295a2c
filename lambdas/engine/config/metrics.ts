/**
 * Names shared by the Lambda handler (which emits the metrics through Powertools' EMF logger)
 * and the CDK construct (which alarms on them). Change a name here and both follow.
 *
 * Powertools Metrics adds the dimension `service = POWERTOOLS_SERVICE_NAME` to every metric it
 * emits, so the alarms select that dimension too: a CloudWatch alarm on the bare metric name,
 * without the dimension, would watch a different (empty) metric and never fire.
 */

/** CloudWatch namespace (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'ImageDrift';

/** POWERTOOLS_SERVICE_NAME, and the value of the `service` dimension. */
export const SERVICE_NAME = 'image-drift-auditor';

/** The dimension Powertools adds to every metric. */
export const SERVICE_DIMENSION = 'service';

/**
 * Images this run could not get a verdict for (RATE_LIMITED, UNREACHABLE, or a check that threw).
 * Unit: Count; emitted once per run, 0 when every image got a verdict.
 */
export const METRIC_IMAGES_WITHOUT_VERDICT = 'ImagesWithoutVerdict';

/**
 * 1 when the run failed as a whole (the GitOps repository could not be read, the history table
 * could not be written...) and the handler caught it; 0 otherwise. Unit: Count.
 * Uncaught errors show up in the Lambda `Errors` metric instead.
 */
export const METRIC_RUNS_FAILED = 'RunsFailed';

/** Optional, for dashboards: images audited in the run, and images that failed (per failOn). Unit: Count. */
export const METRIC_IMAGES_AUDITED = 'ImagesAudited';
export const METRIC_IMAGES_FAILING = 'ImagesFailing';

/**
 * 1 when a run completed without errors (every repository audited, drift recorded and announced), 0 otherwise;
 * emitted once per run, next to RunsFailed. The heartbeat alarm fires when no 1 arrives for twice the schedule.
 */
export const METRIC_RUNS_SUCCEEDED = 'RunsSucceeded';

/** Images per verdict in the run, one metric per verdict with the dimension below (dashboards). Unit: Count. */
export const METRIC_IMAGES_BY_VERDICT = 'Images';
export const VERDICT_DIMENSION = 'verdict';

/**
 * Log messages the dashboard's Logs Insights queries select (Powertools puts them in `message`).
 * One `image not pullable` line per image whose verdict is not PRESENT, per repository and run.
 */
export const LOG_RUN_FINISHED = 'run finished';
export const LOG_REPOSITORY_AUDITED = 'repository audited';
export const LOG_IMAGE_NOT_PULLABLE = 'image not pullable';
