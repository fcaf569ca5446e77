import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context, SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { METRICS } from "../../../lib/metrics.ts";

/**
 * Every Lambda handler, invoked as Lambda would, with the library calls behind it replaced: what
 * is asserted is what functions/ itself owns — the EMF blob flushed to stdout once per
 * invocation (also when the handler throws), the Lambda context on every log line, and units
 * taken from the metric vocabulary.
 */

const app = vi.hoisted(() => ({
  schedulerTick: vi.fn(),
  runSnapshot: vi.fn(),
  runLifecycleTask: vi.fn(),
  handleHttp: vi.fn(),
  cloudApp: vi.fn(async () => ({})),
}));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: app.cloudApp, awsConfig: () => ({}) }));
vi.mock("../../../lib/app/scheduler.ts", () => ({ schedulerTick: app.schedulerTick }));
vi.mock("../../../lib/app/snapshot.ts", () => ({ runSnapshot: app.runSnapshot }));
vi.mock("../../../lib/app/lifecycle/dispatch.ts", () => ({ runLifecycleTask: app.runLifecycleTask }));
vi.mock("../../../lib/app/http/handle.ts", () => ({ handleHttp: app.handleHttp }));

/** A context as the Lambda runtime passes it. */
function lambdaContext(functionName: string, awsRequestId: string): Context {
  return {
    functionName,
    awsRequestId,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/12/07/[$LATEST]0123456789abcdef",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** One EMF document: CloudWatch's directive and the values beside it. */
interface Emf {
  readonly _aws: {
    readonly CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[];
  };
  readonly [key: string]: unknown;
}

let lines: Record<string, unknown>[];

/** Collects what the process writes, parsed as JSON lines (Powertools writes one object a line). */
beforeEach(() => {
  lines = [];
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split("\n")) {
      if (line.trim().startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** The EMF blobs of the application's metrics (not Powertools' separate cold-start blob). */
function flushedMetrics(): Emf[] {
  return lines.filter((l): l is Emf & Record<string, unknown> => "_aws" in l && !("ColdStart" in l)) as Emf[];
}

/** The one application blob flushed, with each metric's unit from its directive. */
function onlyBlob(): { blob: Emf; units: Record<string, string> } {
  const blobs = flushedMetrics();
  expect(blobs).toHaveLength(1);
  const blob = blobs[0]!;
  const directive = blob._aws.CloudWatchMetrics[0]!;
  expect(directive.Namespace).toBe("blockvault");
  return { blob, units: Object.fromEntries(directive.Metrics.map((m) => [m.Name, m.Unit])) };
}

/** The log lines (not metric blobs) Powertools' logger wrote. */
function logLines(): Record<string, unknown>[] {
  return lines.filter((l) => "message" in l && "level" in l);
}

function expectUnitsFromVocabulary(units: Record<string, string>): void {
  for (const [name, unit] of Object.entries(units)) {
    expect(unit, name).toBe(METRICS[name as keyof typeof METRICS]);
  }
}

describe("functions/scheduler.ts", () => {
  it("flushes what the tick did and logs it with the invocation's context", async () => {
    app.schedulerTick.mockResolvedValueOnce({
      sent: [{ jobId: "j1" }, { jobId: "j2" }, { jobId: "j3" }],
      expired: ["p1"],
    });
    const { handler } = await import("../../../functions/scheduler.ts");
    const result = await handler({}, lambdaContext("blockvault-dev-scheduler", "req-tick"));
    expect(result).toEqual({ sent: ["j1", "j2", "j3"], expired: ["p1"] });
    const { blob, units } = onlyBlob();
    expect([blob.BackupsScheduled, blob.PointsExpired]).toEqual([3, 1]);
    expect(blob.service).toBe("blockvault");
    expectUnitsFromVocabulary(units);
    const tick = logLines().find((l) => l.message === "scheduler tick");
    expect(tick).toMatchObject({
      function_name: "blockvault-dev-scheduler",
      function_request_id: "req-tick",
      sent: 3,
      expired: 1,
    });
  });

  it("still flushes its metrics when the tick throws, and rethrows", async () => {
    app.schedulerTick.mockRejectedValueOnce(new Error("catalog unreachable"));
    const { handler } = await import("../../../functions/scheduler.ts");
    await expect(handler({}, lambdaContext("blockvault-dev-scheduler", "req-2"))).rejects.toThrow(
      "catalog unreachable",
    );
    // Nothing was recorded, so only Powertools' warning says so; the flush itself still ran.
    expect(flushedMetrics()).toEqual([]);
    expect(logLines().at(-1)).toMatchObject({ function_request_id: "req-2", level: "WARN" });
  });
});

describe("functions/lifecycle.ts", () => {
  it("counts a failed job at fail-job and a task that succeeded as no failure", async () => {
    app.runLifecycleTask.mockResolvedValueOnce({ ok: true });
    const { handler } = await import("../../../functions/lifecycle.ts");
    await handler({ task: "fail-job", jobId: "j1" }, lambdaContext("blockvault-dev-lifecycle", "req-f"));
    const { blob, units } = onlyBlob();
    expect([blob.JobsFailed, blob.LifecycleTasksFailed]).toEqual([1, 0]);
    expectUnitsFromVocabulary(units);
  });

  it("flushes the failure count when a task throws, logging it with the task and the context", async () => {
    app.runLifecycleTask.mockRejectedValueOnce(new Error("object store throttled"));
    const { handler } = await import("../../../functions/lifecycle.ts");
    await expect(
      handler({ task: "apply-tier-change" }, lambdaContext("blockvault-dev-lifecycle", "req-e")),
    ).rejects.toThrow("object store throttled");
    const { blob } = onlyBlob();
    expect(blob.LifecycleTasksFailed).toBe(1);
    expect(blob.JobsFailed).toBeUndefined();
    const failed = logLines().find((l) => l.message === "lifecycle task failed");
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
    expect(logLines().find((l) => l.message === "between invocations")?.task).toBeUndefined();
    await expect(handler({}, lambdaContext("fn", "r2"))).rejects.toThrow();
    expect(
      logLines()
        .filter((l) => l.message === "lifecycle task failed")
        .map((l) => l.task),
    ).toEqual(["plan-restore", "undefined"]);
  });
});

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
    const { blob, units } = onlyBlob();
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
    const failed = logLines().find((l) => l.message === "snapshot failed");
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
    expect(onlyBlob().blob.BackupsCompleted).toBe(0);
  });
});

function apiEvent(): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    version: "2.0",
    routeKey: "GET /jobs",
    rawPath: "/jobs",
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      requestId: "apigw-req-1",
      http: { method: "GET", path: "/jobs" },
      authorizer: { iam: { userArn: "arn:aws:iam::123456789012:user/rita" } },
    },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

describe("functions/api.ts", () => {
  it("flushes a request count on every answer, and counts a 5xx as a server error", async () => {
    const { handler } = await import("../../../functions/api.ts");
    app.handleHttp.mockResolvedValueOnce({ status: 200, headers: {}, body: "{}" });
    const ok = await handler(apiEvent(), lambdaContext("blockvault-dev-api", "req-a"));
    expect(ok.statusCode).toBe(200);
    const first = onlyBlob();
    expect([first.blob.ApiRequests, first.blob.ApiServerErrors]).toEqual([1, 0]);
    expectUnitsFromVocabulary(first.units);
    expect(logLines().find((l) => l.message === "request")).toMatchObject({
      status: 200,
      function_name: "blockvault-dev-api",
      function_request_id: "req-a",
      correlation_id: "apigw-req-1",
    });

    lines.length = 0;
    app.handleHttp.mockResolvedValueOnce({ status: 503, headers: {}, body: "{}" });
    await handler(apiEvent(), lambdaContext("blockvault-dev-api", "req-b"));
    expect(onlyBlob().blob).toMatchObject({ ApiRequests: 1, ApiServerErrors: 1 });
  });

  it("counts a request whose handler throws as a server error, and still flushes", async () => {
    const { handler } = await import("../../../functions/api.ts");
    app.cloudApp.mockRejectedValueOnce(new Error("the function's environment lacks BLOCKVAULT_TABLE"));
    await expect(handler(apiEvent(), lambdaContext("blockvault-dev-api", "req-c"))).rejects.toThrow(
      /BLOCKVAULT_TABLE/,
    );
    expect(onlyBlob().blob).toMatchObject({ ApiRequests: 1, ApiServerErrors: 1 });
  });
});

describe("the cold-start metric", () => {
  it("is flushed once per execution environment, on its first invocation", async () => {
    // Lambda says how the environment started; a provisioned one has no cold start to count.
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    vi.resetModules();
    app.schedulerTick.mockResolvedValue({ sent: [], expired: [] });
    const { handler } = await import("../../../functions/scheduler.ts");
    await handler({}, lambdaContext("blockvault-dev-scheduler", "cold"));
    await handler({}, lambdaContext("blockvault-dev-scheduler", "warm"));
    const coldStarts = lines.filter((l) => "_aws" in l && "ColdStart" in l);
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({ ColdStart: 1, function_name: "blockvault-dev-scheduler" });
    expect(flushedMetrics()).toHaveLength(2);
    const cold = logLines()
      .filter((l) => l.message === "scheduler tick")
      .map((l) => l.cold_start);
    expect(cold).toEqual([true, false]);
  });
});
