import { describe, expect, it, vi } from "vitest";
import {
  captureLambdaOutput,
  expectUnitsFromVocabulary,
  lambdaContext,
} from "../../helpers/lambda-output.ts";

/**
 * functions/lifecycle.ts, invoked as Lambda would with the library call behind it replaced: what
 * is asserted is what functions/ owns — the EMF blob flushed to stdout once per invocation (also
 * when it throws), the Lambda context on its log lines, and units from the metric vocabulary
 * (lib/metrics.ts).
 */

const app = vi.hoisted(() => ({
  runLifecycleTask: vi.fn(),
  cloudApp: vi.fn(async () => ({})),
}));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: app.cloudApp, awsConfig: () => ({}) }));
vi.mock("../../../lib/app/lifecycle/dispatch.ts", () => ({ runLifecycleTask: app.runLifecycleTask }));

const out = captureLambdaOutput();

describe("functions/lifecycle.ts", () => {
  it("counts a failed job at fail-job and a task that succeeded as no failure", async () => {
    app.runLifecycleTask.mockResolvedValueOnce({ ok: true });
    const { handler } = await import("../../../functions/lifecycle.ts");
    await handler({ task: "fail-job", jobId: "j1" }, lambdaContext("blockvault-dev-lifecycle", "req-f"));
    const { blob, units } = out.onlyBlob();
    expect([blob.JobsFailed, blob.LifecycleTasksFailed]).toEqual([1, 0]);
    expectUnitsFromVocabulary(units);
  });

  it("counts a failed restore at the restore machine's fail-job, and no other machine's", async () => {
    app.runLifecycleTask.mockResolvedValue({ ok: true });
    const { handler } = await import("../../../functions/lifecycle.ts");
    await handler({ task: "fail-job", machine: "restore" }, lambdaContext("blockvault-dev-lifecycle", "r1"));
    expect(out.onlyBlob().blob.RestoresFailed).toBe(1);
    await handler({ task: "fail-job", machine: "tiering" }, lambdaContext("blockvault-dev-lifecycle", "r2"));
    expect(out.metricBlobs().at(-1)?.RestoresFailed).toBeUndefined();
  });

  it("counts the scheduled verifications that failed", async () => {
    app.runLifecycleTask.mockResolvedValueOnce({ ran: 2, failed: 1 });
    const { handler } = await import("../../../functions/lifecycle.ts");
    await handler({ task: "run-verifications" }, lambdaContext("blockvault-dev-lifecycle", "r4"));
    expect(out.onlyBlob().blob.VerificationsFailed).toBe(1);
  });

  it("records the bytes a garbage collection freed", async () => {
    app.runLifecycleTask.mockResolvedValueOnce({
      skipped: null,
      pointsReleased: 1,
      packsDeleted: 2,
      bytesFreed: 4096,
    });
    const { handler } = await import("../../../functions/lifecycle.ts");
    await handler({ task: "collect-garbage" }, lambdaContext("blockvault-dev-lifecycle", "r3"));
    const { blob, units } = out.onlyBlob();
    expect(blob.GcBytesReclaimed).toBe(4096);
    expectUnitsFromVocabulary(units);
  });

  it("flushes the failure count when a task throws, logging it with the task and the context", async () => {
    app.runLifecycleTask.mockRejectedValueOnce(new Error("object store throttled"));
    const { handler } = await import("../../../functions/lifecycle.ts");
    await expect(
      handler({ task: "apply-tier-change" }, lambdaContext("blockvault-dev-lifecycle", "req-e")),
    ).rejects.toThrow("object store throttled");
    const { blob } = out.onlyBlob();
    expect(blob.LifecycleTasksFailed).toBe(1);
    expect(blob.JobsFailed).toBeUndefined();
    const failed = out.logLines().find((l) => l.message === "lifecycle task failed");
    expect(failed).toMatchObject({
      level: "ERROR",
      task: "apply-tier-change",
      function_name: "blockvault-dev-lifecycle",
      function_request_id: "req-e",
      error: { message: "object store throttled" },
    });
  });

  it("does not carry one invocation's task into the next one's log lines", async () => {
    app.runLifecycleTask.mockRejectedValueOnce(new Error("first")).mockRejectedValueOnce(new Error("second"));
    const { handler, logger } = await Promise.all([
      import("../../../functions/lifecycle.ts"),
      import("../../../functions/observability.ts"),
    ]).then(([h, o]) => ({ handler: h.handler, logger: o.logger }));
    await expect(handler({ task: "plan-restore" }, lambdaContext("fn", "r1"))).rejects.toThrow();
    logger.info("between invocations");
    expect(out.logLines().find((l) => l.message === "between invocations")?.task).toBeUndefined();
    await expect(handler({}, lambdaContext("fn", "r2"))).rejects.toThrow();
    expect(
      out
        .logLines()
        .filter((l) => l.message === "lifecycle task failed")
        .map((l) => l.task),
    ).toEqual(["plan-restore", "undefined"]);
  });
});
