import type { SQSEvent } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import {
  captureLambdaOutput,
  expectUnitsFromVocabulary,
  lambdaContext,
} from "../../helpers/lambda-output.ts";

/**
 * functions/snapshot.ts, invoked as Lambda would with the library call behind it replaced: what is
 * asserted is what functions/ owns — the EMF blob flushed to stdout once per invocation (also when
 * it throws), the Lambda context on its log lines, and units from the metric vocabulary
 * (lib/metrics.ts).
 */

const app = vi.hoisted(() => ({
  runSnapshot: vi.fn(),
  cloudApp: vi.fn(async () => ({})),
}));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: app.cloudApp, awsConfig: () => ({}) }));
vi.mock("../../../lib/app/snapshot.ts", () => ({ runSnapshot: app.runSnapshot }));

const out = captureLambdaOutput();

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i + 1}`,
      receiptHandle: `rh${i + 1}`,
      body,
      attributes: { ApproximateReceiveCount: "3" },
    })),
  } as unknown as SQSEvent;
}

describe("functions/snapshot.ts", () => {
  const request = (jobId: string) => JSON.stringify({ jobId, disk: "web", slot: 1 });

  it("flushes each backup's figures and the failed deliveries in one blob", async () => {
    app.runSnapshot
      .mockResolvedValueOnce({
        status: "completed",
        result: { bytesScanned: 8 << 20, bytesStored: 1 << 20, durationMs: 1500 },
      })
      .mockRejectedValueOnce(new Error("source unreadable"));
    const { handler } = await import("../../../functions/snapshot.ts");
    const result = await handler(
      sqsEvent(request("j1"), request("j2")),
      lambdaContext("blockvault-dev-snapshot", "req-s"),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m2" }] });
    const { blob, units } = out.onlyBlob();
    expect(blob).toMatchObject({
      BackupsCompleted: 1,
      BackupBytesScanned: 8 << 20,
      BackupBytesStored: 1 << 20,
      BackupDuration: 1500,
      BackupAttemptsFailed: 1,
      // The third of three deliveries failed: the job has failed for good.
      JobsFailed: 1,
    });
    expect(units).toMatchObject({ BackupBytesStored: "Bytes", BackupDuration: "Milliseconds" });
    expectUnitsFromVocabulary(units);
    const failed = out.logLines().find((l) => l.message === "snapshot failed");
    expect(failed).toMatchObject({ messageId: "m2", function_request_id: "req-s" });
  });

  it("still flushes when the whole invocation throws before any message", async () => {
    app.cloudApp.mockRejectedValueOnce(new Error("the function's environment lacks BLOCKVAULT_BUCKET"));
    const { handler } = await import("../../../functions/snapshot.ts");
    const { recordMetric } = await import("../../../functions/observability.ts");
    // Something recorded before the failure must not be lost with it.
    recordMetric("BackupsCompleted", 0);
    await expect(handler(sqsEvent(request("j1")), lambdaContext("fn", "req-x"))).rejects.toThrow(
      /BLOCKVAULT_BUCKET/,
    );
    expect(out.onlyBlob().blob.BackupsCompleted).toBe(0);
  });
});
