import { describe, expect, it } from "vitest";
import { fromApiGateway, toApiGateway } from "../../../functions/apigw.ts";
import { responseForError } from "../../../lib/app/http/errors.ts";
import { idempotentJobId, requestDigest } from "../../../lib/app/http/idempotency.ts";
import { bearerToken, iamPrincipals, parseIamRoleMap, roleArnOf } from "../../../lib/app/http/principals.ts";
import {
  AccessDeniedError,
  ApprovalRequiredError,
  ArchivedObjectError,
  BlockvaultError,
  IntegrityError,
  TransientError,
  UnauthenticatedError,
  ValidationError,
} from "../../../lib/errors.ts";
import { apiEvent } from "../../helpers/http-api-fixture.ts";

describe("error responses", () => {
  const of = (err: unknown) => {
    const logged: unknown[] = [];
    const response = responseForError(err, (e) => logged.push(e));
    return { status: response.status, body: JSON.parse(response.body), headers: response.headers, logged };
  };

  it("maps each error code to its status with {error: {code, message}}", () => {
    expect(of(new ValidationError("body.x is required"))).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_INPUT", message: "body.x is required" } },
      logged: [],
    });
    expect(of(new AccessDeniedError("no")).status).toBe(403);
    expect(of(new ArchivedObjectError("cold")).status).toBe(409);
    const approval = of(new ApprovalRequiredError("ask sam", "req-1"));
    expect(approval.status).toBe(428);
    expect(approval.body.error).toEqual({
      code: "APPROVAL_REQUIRED",
      message: "ask sam",
      approvalRequestId: "req-1",
    });
  });

  it("answers 401 with a Bearer challenge for a caller without valid credentials", () => {
    const r = of(new UnauthenticatedError("pass a token"));
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toMatch(/^Bearer /);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("never names an SDK or runtime error class, nor a stack frame, in a response", () => {
    const wrapped = new BlockvaultError(
      "restore target s3://b/k: S3ServiceException: AccessDenied\n    at de_CommandError (node_modules/x.js:1:2)",
    );
    const r = of(wrapped);
    expect(r.body.error.message).toBe("restore target s3://b/k: AccessDenied");
    expect(
      of(new TransientError("CredentialsProviderError: Could not load credentials")).body.error.message,
    ).toBe("Could not load credentials");
    expect(of(new ValidationError("TypeError:")).body.error.message).toBe("the operation failed");
  });

  it("answers 503 with Retry-After for a retryable failure, 500 otherwise, and hides unexpected errors", () => {
    const transient = of(new TransientError("throttled"));
    expect([transient.status, transient.headers["retry-after"], transient.logged.length]).toEqual([
      503,
      "1",
      1,
    ]);
    expect(of(new IntegrityError("bad tag")).status).toBe(500);
    const bug = of(new TypeError("x is undefined"));
    expect(bug.status).toBe(500);
    expect(bug.body.error).toEqual({ code: "INTERNAL", message: "internal error" });
    expect(bug.logged).toHaveLength(1);
  });
});

describe("IAM principals", () => {
  const map = parseIamRoleMap(
    JSON.stringify({
      "arn:aws:iam::123456789012:role/ops": ["operator"],
      "arn:aws:iam::123456789012:user/rita": ["reader", "reader"],
    }),
  );

  it("maps a user ARN, and an assumed-role session by its role, naming the principal by the configured ARN", async () => {
    const request = (caller?: string) => ({
      method: "GET",
      path: "/",
      query: {},
      headers: {},
      body: undefined,
      ...(caller ? { caller } : {}),
    });
    const resolve = iamPrincipals(map);
    expect(await resolve(request("arn:aws:iam::123456789012:user/rita"))).toEqual({
      name: "arn:aws:iam::123456789012:user/rita",
      roles: ["reader"],
    });
    const session = "arn:aws:sts::123456789012:assumed-role/ops/alice";
    // The session's name is the caller's choice: the principal is the role, one for all sessions.
    expect(await resolve(request(session))).toEqual({
      name: "arn:aws:iam::123456789012:role/ops",
      roles: ["operator"],
    });
    await expect(resolve(request("arn:aws:iam::123456789012:user/eve"))).rejects.toThrow(AccessDeniedError);
    await expect(resolve(request())).rejects.toThrow(AccessDeniedError);
    expect(roleArnOf("arn:aws:iam::123456789012:user/rita")).toBeUndefined();
  });

  it("refuses a broken configuration whole, naming the setting", () => {
    expect(parseIamRoleMap(undefined).size).toBe(0);
    expect(() => parseIamRoleMap("{")).toThrow(/BLOCKVAULT_PRINCIPALS is not valid JSON/);
    expect(() => parseIamRoleMap("[]")).toThrow(/must be a JSON object/);
    expect(() => parseIamRoleMap('{"ops": ["reader"]}')).toThrow(/"ops" is not an IAM user or role ARN/);
    expect(() => parseIamRoleMap('{"arn:aws:iam::123456789012:role/x": ["root"]}')).toThrow(
      /must be a non-empty list/,
    );
  });

  it("reads bearer tokens and refuses other schemes", () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken("Bearer bv_abc")).toBe("bv_abc");
    expect(() => bearerToken("Basic eDp5")).toThrow(UnauthenticatedError);
  });
});

describe("API Gateway events", () => {
  it("become HttpRequests: stage prefix dropped, base64 body decoded, first query value, the IAM caller", () => {
    const event = apiEvent({
      rawPath: "/dev/policies",
      rawQueryString: "a=1&a=2&b=x%20y",
      body: Buffer.from('{"name":"p"}').toString("base64"),
      isBase64Encoded: true,
      headers: { "X-Approval-Id": "r1" },
      requestContext: {
        stage: "dev",
        http: { method: "POST" },
        authorizer: { iam: { userArn: "arn:aws:iam::123456789012:user/rita" } },
      } as never,
    });
    expect(fromApiGateway(event)).toEqual({
      method: "POST",
      path: "/policies",
      query: { a: "1", b: "x y" },
      headers: { "x-approval-id": "r1" },
      body: '{"name":"p"}',
      caller: "arn:aws:iam::123456789012:user/rita",
    });
    expect(toApiGateway({ status: 202, headers: { location: "/restores/j" }, body: "{}" })).toEqual({
      statusCode: 202,
      headers: { location: "/restores/j" },
      body: "{}",
    });
  });
});

describe("idempotency keys", () => {
  it("derive a stable UUID per vault and key, and digest requests regardless of key order", () => {
    const id = idempotentJobId("vault-1", "k");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotentJobId("vault-1", "k")).toBe(id);
    expect(idempotentJobId("vault-2", "k")).not.toBe(id);
    expect(idempotentJobId("vault-1", "k2")).not.toBe(id);
    expect(requestDigest({ a: 1, b: { c: 2, d: 3 } })).toBe(requestDigest({ b: { d: 3, c: 2 }, a: 1 }));
    expect(requestDigest({ a: 1 })).not.toBe(requestDigest({ a: 2 }));
  });
});
