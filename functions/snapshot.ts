import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseSnapshotRequest } from "../lib/adapters/aws/sqs-queue.ts";
import { runSnapshot } from "../lib/app/snapshot.ts";
import { countFailedJob, logger, metrics } from "./observability.ts";
import { cloudApp } from "./runtime.ts";

/** Deliveries before SQS moves a message to the dead-letter queue (the redrive policy's count). */
const MAX_ATTEMPTS = Number(process.env.BLOCKVAULT_MAX_RECEIVES ?? 3);

/**
 * SQS → one backup per message. Reports partial batch failures, so only the failed messages are
 * redelivered (with the queue's backoff) and, after the last attempt, dead-lettered; the job is
 * marked failed and an alert published by then.
 */
export const handler = middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const app = await cloudApp();
  const failures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    const attempt = Number(record.attributes.ApproximateReceiveCount ?? 1);
    try {
      const request = parseSnapshotRequest(record.body);
      const outcome = await runSnapshot(app, request, { attempt, maxAttempts: MAX_ATTEMPTS });
      logger.info("snapshot", { jobId: request.jobId, outcome: outcome.status });
    } catch (err) {
      logger.error("snapshot failed", { messageId: record.messageId, error: String(err) });
      if (attempt >= MAX_ATTEMPTS) countFailedJob();
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  metrics.publishStoredMetrics();
  return { batchItemFailures: failures };
});
