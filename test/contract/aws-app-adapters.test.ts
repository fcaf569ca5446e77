import { CreateStateMachineCommand } from "@aws-sdk/client-sfn";
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { sfnClient, snsClient, sqsClient } from "../../lib/adapters/aws/clients.ts";
import { SfnWorkflows } from "../../lib/adapters/aws/sfn-workflows.ts";
import { SnsAlerts } from "../../lib/adapters/aws/sns-alerts.ts";
import {
  delayRedelivery,
  parseSnapshotRequest,
  redeliveryDelaySeconds,
  SqsSnapshotQueue,
} from "../../lib/adapters/aws/sqs-queue.ts";
import { BlockvaultError, ConflictError, ValidationError } from "../../lib/errors.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";

describe("SqsSnapshotQueue on the emulator", () => {
  it("delivers every request of a send larger than one batch, as JSON a worker parses back", async () => {
    const sqs = sqsClient(emulatorConfig());
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("fanout") }));
    const requests = Array.from({ length: 23 }, (_, i) => ({
      jobId: `job-${i}`,
      disk: `d${i}`,
      slot: i * 1000,
    }));
    await new SqsSnapshotQueue(sqs, QueueUrl!).send(requests);
    const got: unknown[] = [];
    while (got.length < requests.length) {
      const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      if (!res.Messages?.length) break;
      for (const m of res.Messages) got.push(parseSnapshotRequest(m.Body!));
    }
    expect(got.sort((a, b) => (a as { slot: number }).slot - (b as { slot: number }).slot)).toEqual(requests);
  });

  it("backs off a failed message: invisible for 1, 4, 16… minutes, at most 12 hours", async () => {
    expect([1, 2, 3, 10].map(redeliveryDelaySeconds)).toEqual([60, 240, 960, 43_200]);
    const sqs = sqsClient(emulatorConfig());
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("backoff") }));
    await new SqsSnapshotQueue(sqs, QueueUrl!).send([{ jobId: "j", disk: "d", slot: 1 }]);
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
    const handle = first.Messages![0]!.ReceiptHandle!;
    await delayRedelivery(sqs, QueueUrl!, handle, 60);
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(hidden.Messages ?? []).toEqual([]);
  });

  it("refuses a message body that is not a request", () => {
    expect(() => parseSnapshotRequest('{"jobId":1}')).toThrow(/not a snapshot request/);
  });

  it("fails clearly, naming the queue, when the queue does not exist", async () => {
    const sqs = sqsClient(emulatorConfig());
    const url = `${emulatorConfig().endpoint}/123456789012/${uniqueName("missing")}`;
    const err = await new SqsSnapshotQueue(sqs, url)
      .send([{ jobId: "j", disk: "d", slot: 1 }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockvaultError);
    expect((err as Error).message).toContain(url);
  });
});

describe("SnsAlerts on the emulator", () => {
  it("publishes an alert to the topic", async () => {
    const sns = snsClient(emulatorConfig());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName("alerts") }));
    await expect(
      new SnsAlerts(sns, TopicArn!).publish({ subject: "x".repeat(150), message: "m" }),
    ).resolves.toBeUndefined();
  });
});

describe("SfnWorkflows on the emulator", () => {
  const definition = JSON.stringify({ StartAt: "Done", States: { Done: { Type: "Succeed" } } });

  it("starts an execution by name once: the same name and input return it again, other input conflicts", async () => {
    const sfn = sfnClient(emulatorConfig());
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: uniqueName("restore"),
        definition,
        roleArn: "arn:aws:iam::123456789012:role/blockvault-states",
      }),
    );
    const workflows = new SfnWorkflows(sfn, {
      restore: stateMachineArn,
      tiering: undefined,
      expiry: undefined,
      copy: undefined,
    });
    const first = await workflows.start("restore", "job-1", { jobId: "job-1" });
    const again = await workflows.start("restore", "job-1", { jobId: "job-1" });
    expect(again.executionId).toBe(first.executionId);
    await expect(workflows.start("restore", "job-1", { jobId: "other" })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(workflows.start("tiering", "t", {})).rejects.toBeInstanceOf(ValidationError);
  });
});
