import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { sqsClient } from "../lib/adapters/aws/clients.ts";
import {
  delayRedelivery,
  parseSnapshotRequest,
  redeliveryDelaySeconds,
} from "../lib/adapters/aws/sqs-queue.ts";
import { runSnapshot, type SnapshotOutcome } from "../lib/app/snapshot.ts";
import { countFailedJob, logger, observedHandler, recordMetric } from "./observability.ts";
import { awsConfig, cloudApp } from "./runtime.ts";

/** Deliveries before SQS moves a message to the dead-letter queue (the redrive policy's count). */
const MAX_ATTEMPTS = Number(process.env.BLOCKVAULT_MAX_RECEIVES ?? 3);

let sqs: ReturnType<typeof sqsClient> | undefined;

/** Retries with backoff: the failed message stays invisible longer after each attempt. */
async function backOff(receiptHandle: string, attempt: number): Promise<void> {
  const queueUrl = process.env.BLOCKVAULT_QUEUE_URL;
  if (!queueUrl) return;
  sqs ??= sqsClient(awsConfig());
  await delayRedelivery(sqs, queueUrl, receiptHandle, redeliveryDelaySeconds(attempt)).catch(
    (err: unknown) => {
      logger.warn("could not delay redelivery; the queue's visibility timeout applies", {
        error: String(err),
      });
    },
  );
}

/** The metrics of a backup that committed its recovery point (a duplicate delivery did nothing). */
function recordOutcome(outcome: SnapshotOutcome): void {
  if (outcome.status !== "completed") return;
  recordMetric("BackupsCompleted", 1);
  recordMetric("BackupBytesScanned", outcome.result.bytesScanned);
  recordMetric("BackupBytesStored", outcome.result.bytesStored);
  recordMetric("BackupDuration", outcome.result.durationMs);
}

/**
 * SQS → one backup per message. Reports partial batch failures, so only the failed messages are
 * redelivered — after 1, 4, 16… minutes — and, after the last attempt, dead-lettered; the job is
 * marked failed and an alert published by then.
 */
export const handler = observedHandler(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const app = await cloudApp();
  const failures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    const attempt = Number(record.attributes.ApproximateReceiveCount ?? 1);
    try {
      const request = parseSnapshotRequest(record.body);
      const outcome = await runSnapshot(app, request, { attempt, maxAttempts: MAX_ATTEMPTS });
      logger.info("snapshot", { jobId: request.jobId, outcome: outcome.status });
      recordOutcome(outcome);
    } catch (err) {
      logger.error("snapshot failed", { messageId: record.messageId, error: String(err) });
      if (attempt >= MAX_ATTEMPTS) countFailedJob();
      else await backOff(record.receiptHandle, attempt);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  recordMetric("BackupAttemptsFailed", failures.length);
  return { batchItemFailures: failures };
});
