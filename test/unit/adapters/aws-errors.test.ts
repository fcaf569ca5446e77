import { describe, expect, it } from "vitest";
import { translateAwsError } from "../../../lib/adapters/aws/aws-errors.ts";
import {
  AccessDeniedError,
  ArchivedObjectError,
  type BlockvaultError,
  ConflictError,
  KeyError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../../lib/errors.ts";

/** An error shaped like an AWS SDK v3 service exception. */
function sdkError(name: string, status?: number): Error {
  return Object.assign(new Error(`${name}: simulated`), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });
}

describe("translateAwsError", () => {
  const what = "get object s3://vault/packs/ab/1";
  const cases: [string, number | undefined, abstract new (...a: never[]) => BlockvaultError, boolean][] = [
    ["ThrottlingException", 400, TransientError, true],
    ["SlowDown", 503, TransientError, true],
    ["ProvisionedThroughputExceededException", 400, TransientError, true],
    ["InternalError", 500, TransientError, true],
    ["ECONNRESET", undefined, TransientError, true],
    ["AccessDenied", 403, AccessDeniedError, false],
    ["NoSuchBucket", 404, NotFoundError, false],
    ["ResourceNotFoundException", 400, NotFoundError, false],
    ["NotFound", 404, NotFoundError, false],
    ["InvalidObjectState", 403, ArchivedObjectError, false],
    ["ConditionalCheckFailedException", 400, ConflictError, false],
    ["DisabledException", 400, KeyError, false],
    ["IncorrectKeyException", 400, KeyError, false],
    ["ValidationException", 400, ValidationError, false],
  ];

  it("maps each AWS failure onto the hierarchy, retryable only when repeating may help", () => {
    for (const [code, status, type, retryable] of cases) {
      const cause = sdkError(code, status);
      const err = translateAwsError(cause, what);
      expect(err, code).toBeInstanceOf(type);
      expect(err.retryable, code).toBe(retryable);
      expect(err.cause, code).toBe(cause);
      expect(err.message, code).toContain("s3://vault/packs/ab/1");
    }
  });

  it("says plainly when the bucket is in another region, and does not retry", () => {
    for (const code of ["PermanentRedirect", "AuthorizationHeaderMalformed"]) {
      const err = translateAwsError(sdkError(code, 301), "list bucket vault");
      expect(err.code).toBe("WRONG_REGION");
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/vault.*another region/);
    }
  });

  it("does not retry a KMS quota that retrying cannot cure", () => {
    expect(translateAwsError(sdkError("LimitExceededException", 400), "create key").retryable).toBe(false);
  });

  it("passes product errors through untouched", () => {
    const ours = new ConflictError("mine");
    expect(translateAwsError(ours, what)).toBe(ours);
  });
});
