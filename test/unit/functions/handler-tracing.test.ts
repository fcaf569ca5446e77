import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * Tracing as it runs inside Lambda: the X-Ray SDK sends every closed subsegment to the daemon's
 * UDP address, which here is a socket of the test's. The environment must be Lambda's before the
 * tracer loads, so the handler is imported only once it is set.
 */

const tick = vi.hoisted(() => ({ run: async (): Promise<void> => {} }));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: async () => ({}) }));
vi.mock("../../../lib/app/scheduler.ts", () => ({
  schedulerTick: async () => {
    await tick.run();
    return {
      sent: [],
      expired: [],
      rpo: { statuses: [], missed: [], alerted: [] },
      approvalsPending: 0,
      storageBytes: { snapshot: 0, vault: 0, archive: 0 },
    };
  },
}));

const TRACE_ID = "1-67a1b2c3-0123456789abcdef01234567";
let daemon: Socket;
let sqsEndpoint: Server;
const segments: Record<string, unknown>[] = [];

beforeAll(async () => {
  daemon = createSocket("udp4");
  daemon.on("message", (packet) => {
    // The daemon protocol: a header line, then one segment document.
    const [, body] = packet.toString("utf8").split("\n");
    if (body) segments.push(JSON.parse(body) as Record<string, unknown>);
  });
  await new Promise<void>((resolve) => daemon.bind(0, "127.0.0.1", resolve));
  sqsEndpoint = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
    res.end('{"QueueUrls":[]}');
  });
  await new Promise<void>((resolve) => sqsEndpoint.listen(0, "127.0.0.1", resolve));
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    LAMBDA_TASK_ROOT: "/var/task",
    _HANDLER: "functions/scheduler.handler",
    _X_AMZN_TRACE_ID: `Root=${TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1`,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
  });
});

afterAll(async () => {
  daemon.close();
  await new Promise((resolve) => sqsEndpoint.close(resolve));
});

/** Waits until the daemon socket has received a segment `matching`. */
async function received(matching: (s: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  await vi.waitFor(() => expect(segments.some(matching)).toBe(true), { timeout: 5000 });
  return segments.find(matching)!;
}

describe("tracing inside Lambda", () => {
  it("sends the handler's subsegment and one per AWS SDK call made through a traced client", async () => {
    const { handler } = await import("../../../functions/scheduler.ts");
    const { traceClient } = await import("../../../functions/observability.ts");
    const { SQSClient, ListQueuesCommand } = await import("@aws-sdk/client-sqs");
    const sqs = traceClient(
      new SQSClient({
        region: "us-east-1",
        endpoint: `http://127.0.0.1:${(sqsEndpoint.address() as AddressInfo).port}`,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      }),
    );
    tick.run = async () => {
      await sqs.send(new ListQueuesCommand({}));
    };
    // The invocation's log line and metrics go to stdout; they are another test's subject.
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    await handler({}, { functionName: "blockvault-dev-scheduler", awsRequestId: "r1" } as Context);
    quiet.mockRestore();
    const handlerSegment = await received((s) => s.name === "## functions/scheduler.handler");
    expect(handlerSegment).toMatchObject({ trace_id: TRACE_ID });
    // Responses are kept out of traces (see functions/observability.ts).
    expect(JSON.stringify(handlerSegment)).not.toContain("response");
    const call = await received((s) => s.namespace === "aws" && s.name === "SQS");
    expect(call).toMatchObject({ trace_id: TRACE_ID, aws: { operation: "ListQueues" } });
  });
});
