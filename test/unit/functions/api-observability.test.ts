import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import {
  captureLambdaOutput,
  expectUnitsFromVocabulary,
  lambdaContext,
} from "../../helpers/lambda-output.ts";

/**
 * functions/api.ts, invoked as Lambda would with the library call behind it replaced: what is
 * asserted is what functions/ owns — the EMF blob flushed to stdout once per invocation (also when
 * it throws), the Lambda context on its log lines, and units from the metric vocabulary
 * (lib/metrics.ts).
 */

const app = vi.hoisted(() => ({
  handleHttp: vi.fn(),
  cloudApp: vi.fn(async () => ({})),
}));
vi.mock("../../../functions/runtime.ts", () => ({ cloudApp: app.cloudApp, awsConfig: () => ({}) }));
vi.mock("../../../lib/app/http/handle.ts", () => ({ handleHttp: app.handleHttp }));

const out = captureLambdaOutput();

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
    const first = out.onlyBlob();
    expect([first.blob.ApiRequests, first.blob.ApiServerErrors]).toEqual([1, 0]);
    expectUnitsFromVocabulary(first.units);
    expect(out.logLines().find((l) => l.message === "request")).toMatchObject({
      status: 200,
      function_name: "blockvault-dev-api",
      function_request_id: "req-a",
      correlation_id: "apigw-req-1",
    });

    out.lines.length = 0;
    app.handleHttp.mockResolvedValueOnce({ status: 503, headers: {}, body: "{}" });
    await handler(apiEvent(), lambdaContext("blockvault-dev-api", "req-b"));
    expect(out.onlyBlob().blob).toMatchObject({ ApiRequests: 1, ApiServerErrors: 1 });
  });

  it("counts a request whose handler throws as a server error, and still flushes", async () => {
    const { handler } = await import("../../../functions/api.ts");
    app.cloudApp.mockRejectedValueOnce(new Error("the function's environment lacks BLOCKVAULT_TABLE"));
    await expect(handler(apiEvent(), lambdaContext("blockvault-dev-api", "req-c"))).rejects.toThrow(
      /BLOCKVAULT_TABLE/,
    );
    expect(out.onlyBlob().blob).toMatchObject({ ApiRequests: 1, ApiServerErrors: 1 });
  });
});
