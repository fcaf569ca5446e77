import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { TransientError } from "../../errors.ts";
import type { SnapshotQueue, SnapshotRequest } from "../../ports/queue.ts";
import { translateAwsError } from "./aws-errors.ts";

/** SQS takes at most ten messages per batch. */
const BATCH = 10;

/**
 * The fan-out queue on SQS: one message per disk, JSON bodies, sent in batches of ten. Entries a
 * batch reports as failed are sent again once; any still failing make `send` reject with a
 * retryable error (the scheduler's tick is idempotent, so it can simply run again).
 */
export class SqsSnapshotQueue implements SnapshotQueue {
  readonly #sqs: SQSClient;
  readonly #url: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#url = queueUrl;
  }

  async send(requests: readonly SnapshotRequest[]): Promise<void> {
    for (let at = 0; at < requests.length; at += BATCH) {
      let pending = requests.slice(at, at + BATCH);
      for (let round = 0; round < 2 && pending.length > 0; round++) pending = await this.#batch(pending);
      if (pending.length > 0) {
        throw new TransientError(
          `send to queue ${this.#url}: ${pending.length} messages refused (jobs ${pending.map((r) => r.jobId).join(", ")})`,
        );
      }
    }
  }

  /** Sends one batch; returns the requests SQS did not accept. */
  async #batch(requests: readonly SnapshotRequest[]): Promise<SnapshotRequest[]> {
    try {
      const res = await this.#sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#url,
          Entries: requests.map((r, i) => ({ Id: String(i), MessageBody: JSON.stringify(r) })),
        }),
      );
      return (res.Failed ?? []).map((f) => requests[Number(f.Id)]!);
    } catch (err) {
      throw translateAwsError(err, `send to queue ${this.#url}`);
    }
  }
}

/** Parses a queue message body back into a request; a malformed one is reported, not retried. */
export function parseSnapshotRequest(body: string): SnapshotRequest {
  const parsed = JSON.parse(body) as Partial<SnapshotRequest>;
  if (
    typeof parsed.jobId !== "string" ||
    typeof parsed.disk !== "string" ||
    typeof parsed.slot !== "number"
  ) {
    throw new SyntaxError(`not a snapshot request: ${body.slice(0, 200)}`);
  }
  return { jobId: parsed.jobId, disk: parsed.disk, slot: parsed.slot };
}

/** SQS's longest visibility timeout: 12 hours. */
const MAX_VISIBILITY_S = 12 * 60 * 60;

/**
 * The wait before delivery `attempt + 1` of a failed request: one minute, then four, sixteen…
 * (capped at SQS's 12 hours), so a passing outage is retried soon and a lasting one is not
 * hammered.
 */
export function redeliveryDelaySeconds(attempt: number): number {
  return Math.min(MAX_VISIBILITY_S, 60 * 4 ** Math.max(0, attempt - 1));
}

/**
 * Keeps a failed message invisible for `seconds` from now: the queue's backoff. Best effort — if
 * it fails, the queue's own visibility timeout still brings the message back.
 */
export async function delayRedelivery(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandle: string,
  seconds: number,
): Promise<void> {
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  } catch (err) {
    throw translateAwsError(err, `delay redelivery on queue ${queueUrl}`);
  }
}
