import { describe, expect, it, vi } from "vitest";
import {
  captureLambdaOutput,
  expectUnitsFromVocabulary,
  lambdaContext,
} from "../../helpers/lambda-output.ts";

/**
 * functions/scheduler.ts, invoked as Lambda would with the library call behind it replaced: what
 * is asserted is what functions/ owns — the EMF blob flushed to stdout once per invocation (also
 * when it throws), the Lambda context on its log lines, and units from the metric vocabulary
 * (lib/metrics.ts).
 */

const app = vi.hoisted(() => ({
  schedulerTick: vi.fn(),
  cloudApp: vi.fn(async () => ({})),
}));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: app.cloudApp, awsConfig: () => ({}) }));
vi.mock("../../../lib/app/scheduler.ts", () => ({ schedulerTick: app.schedulerTick }));

const out = captureLambdaOutput();

describe("functions/scheduler.ts", () => {
  it("flushes what the tick did and logs it with the invocation's context", async () => {
    app.schedulerTick.mockResolvedValueOnce({
      sent: [{ jobId: "j1" }, { jobId: "j2" }, { jobId: "j3" }],
      expired: ["p1"],
      rpo: { statuses: [], missed: [{ disk: "web", compliant: false }], alerted: [] },
      approvalsPending: 2,
      storageBytes: { snapshot: 10, vault: 20, archive: 0 },
    });
    const { handler } = await import("../../../functions/scheduler.ts");
    const result = await handler({}, lambdaContext("blockvault-dev-scheduler", "req-tick"));
    expect(result).toEqual({ sent: ["j1", "j2", "j3"], expired: ["p1"] });
    // Storage by tier: one blob per tier, each with its tier dimension beside the service.
    const byTier = out.metricBlobs().filter((b) => "StorageBytes" in b);
    expect(byTier.map((b) => [b.tier, b.StorageBytes, b.service])).toEqual([
      ["snapshot", 10, "blockvault"],
      ["vault", 20, "blockvault"],
      ["archive", 0, "blockvault"],
    ]);
    const [blob, ...others] = out.metricBlobs().filter((b) => !("StorageBytes" in b));
    expect(others).toEqual([]);
    const units = Object.fromEntries(blob!._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
    expect([blob!.BackupsScheduled, blob!.PointsExpired]).toEqual([3, 1]);
    expect([blob!.ItemsOutsideRpo, blob!.ApprovalsPending]).toEqual([1, 2]);
    expect(blob!.service).toBe("blockvault");
    expectUnitsFromVocabulary(units);
    const tick = out.logLines().find((l) => l.message === "scheduler tick");
    expect(tick).toMatchObject({
      function_name: "blockvault-dev-scheduler",
      function_request_id: "req-tick",
      sent: 3,
      expired: 1,
      outsideRpo: ["web"],
    });
  });

  it("still flushes its metrics when the tick throws, and rethrows", async () => {
    app.schedulerTick.mockRejectedValueOnce(new Error("catalog unreachable"));
    const { handler } = await import("../../../functions/scheduler.ts");
    await expect(handler({}, lambdaContext("blockvault-dev-scheduler", "req-2"))).rejects.toThrow(
      "catalog unreachable",
    );
    // Nothing was recorded, so only Powertools' warning says so; the flush itself still ran.
    expect(out.metricBlobs()).toEqual([]);
    expect(out.logLines().at(-1)).toMatchObject({ function_request_id: "req-2", level: "WARN" });
  });
});

describe("the cold-start metric", () => {
  it("is flushed once per execution environment, on its first invocation", async () => {
    // Lambda says how the environment started; a provisioned one has no cold start to count.
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    vi.resetModules();
    app.schedulerTick.mockResolvedValue({
      sent: [],
      expired: [],
      rpo: { statuses: [], missed: [], alerted: [] },
      approvalsPending: 0,
      storageBytes: { snapshot: 0, vault: 0, archive: 0 },
    });
    const { handler } = await import("../../../functions/scheduler.ts");
    await handler({}, lambdaContext("blockvault-dev-scheduler", "cold"));
    await handler({}, lambdaContext("blockvault-dev-scheduler", "warm"));
    const coldStarts = out.coldStarts();
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({ ColdStart: 1, function_name: "blockvault-dev-scheduler" });
    expect(out.metricBlobs().filter((b) => !("StorageBytes" in b))).toHaveLength(2);
    const cold = out
      .logLines()
      .filter((l) => l.message === "scheduler tick")
      .map((l) => l.cold_start);
    expect(cold).toEqual([true, false]);
  });
});
