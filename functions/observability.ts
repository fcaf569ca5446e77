import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** Structured JSON logs for every function. */
export const logger = new Logger({ serviceName: "blockvault" });

/** CloudWatch metrics (embedded metric format); the "JobsFailed" alarm reads them. */
export const metrics = new Metrics({ namespace: "blockvault", serviceName: "blockvault" });

/** Counts a failed job; the alarm on failed jobs fires on any. */
export function countFailedJob(): void {
  metrics.addMetric("JobsFailed", MetricUnit.Count, 1);
}
