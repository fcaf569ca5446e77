import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { METRICS, type MetricName } from "../lib/metrics.ts";

/**
 * The deployment names the service and the namespace (POWERTOOLS_SERVICE_NAME and
 * POWERTOOLS_METRICS_NAMESPACE in serverless.yml, which the JobsFailed alarm reads too); these
 * are the names when it does not, as in a test.
 */
const service = process.env.POWERTOOLS_SERVICE_NAME || "blockvault";
const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE || "blockvault";

/** Structured JSON logs; every line of an invocation carries its Lambda context. */
export const logger = new Logger({ serviceName: service });

/**
 * CloudWatch metrics in embedded metric format, flushed to stdout at the end of each invocation.
 * Its own warnings go through `logger`, so they too are JSON lines with the invocation's context.
 */
export const metrics = new Metrics({ namespace, serviceName: service, logger });

/**
 * X-Ray traces. Active only inside Lambda (Powertools turns it off where `AWS_EXECUTION_ENV` is
 * unset, as in tests); what is recorded is sampled as the stack's `tracing` setting decides.
 */
export const tracer = new Tracer({ serviceName: service });

/** Records `value` of `metric` in the unit the vocabulary (lib/metrics.ts) gives it. */
export function recordMetric(metric: MetricName, value: number): void {
  metrics.addMetric(metric, METRICS[metric], value);
}

/**
 * Records `value` of `metric` with extra dimensions (beside `service`), as a blob of its own:
 * CloudWatch keys a metric by its dimensions, and the invocation's main blob has only `service`.
 */
export function recordMetricWith(
  metric: MetricName,
  value: number,
  dimensions: Record<string, string>,
): void {
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(metric, METRICS[metric], value);
}

/** Counts a failed job; the alarm on failed jobs fires on any. */
export function countFailedJob(): void {
  recordMetric("JobsFailed", 1);
}

/** Traces an AWS SDK client's calls as subsegments of the invocation (a no-op outside Lambda). */
export function traceClient<C>(client: C): C {
  return tracer.captureAWSv3Client(client);
}

/**
 * A Lambda handler with the project's observability: a trace segment for the handler, the
 * Lambda context on every log line (per-invocation keys reset afterwards), and the metrics the
 * invocation recorded flushed once — after it returns or throws — with a cold-start count.
 */
export function observedHandler<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return (
    middy(handler)
      // Responses stay out of traces: API answers carry catalog contents, which do not belong
      // in a trace, and can outgrow a segment's 64 KB.
      .use(captureLambdaHandler(tracer, { captureResponse: false }))
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(logMetrics(metrics, { captureColdStartMetric: true }))
  );
}
