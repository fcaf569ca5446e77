import {
  AccessDeniedError,
  ArchivedObjectError,
  BlockvaultError,
  ConflictError,
  KeyError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../errors.ts";

/** The parts of an AWS SDK v3 service exception this module reads. */
interface SdkErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $fault?: "client" | "server";
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "ProvisionedThroughputExceededException",
  "RequestThrottled",
  "RequestThrottledException",
  "TransactionInProgressException",
  "KMSInternalException",
  "InternalError",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
]);

const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "TimeoutError",
  "AbortError",
]);

const ACCESS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "Forbidden",
  "UnauthorizedOperation",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "ExpiredToken",
  "ExpiredTokenException",
]);

const WRONG_REGION = new Set([
  "PermanentRedirect",
  "AuthorizationHeaderMalformed",
  "IllegalLocationConstraintException",
]);

/** The error's AWS code (`NoSuchKey`, `ThrottlingException`, `ECONNRESET`, …). */
export function awsErrorCode(err: unknown): string {
  if (typeof err !== "object" || err === null) return String(err);
  const e = err as SdkErrorShape;
  return e.Code ?? e.name ?? e.code ?? "Error";
}

/** The HTTP status of a failed SDK call, when it got that far. */
export function awsHttpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  return (err as SdkErrorShape).$metadata?.httpStatusCode;
}

/**
 * Translates an AWS SDK error into the product's hierarchy, keeping it as `cause`. `what` names
 * the call and the resource (for example `put object s3://bucket/packs/ab/1`) and leads every
 * message. Adapters handle the codes whose meaning depends on the call (`NoSuchKey` on a get,
 * `ConditionalCheckFailedException` on a create) before falling back to this.
 *
 * Throttling, 5xx and network failures become `TransientError` (retryable); access problems
 * `AccessDeniedError`; a missing bucket, table or key a `NotFoundError` naming it; a bucket in
 * another region a non-retryable error saying so; archived objects `ArchivedObjectError`.
 */
export function translateAwsError(err: unknown, what: string): BlockvaultError {
  if (err instanceof BlockvaultError) return err;
  const code = awsErrorCode(err);
  const status = awsHttpStatus(err);
  const detail = err instanceof Error && err.message ? err.message : code;
  const opts = { cause: err };
  // Codes whose HTTP status would mislead the generic checks below: S3 answers an archived
  // object with 403, and a HEAD of a missing key carries only "NotFound".
  if (code === "InvalidObjectState" || code === "ObjectNotInActiveTierError") {
    return new ArchivedObjectError(`${what}: object is archived; restore it first`, opts);
  }
  if (code === "NotFound" || code === "NoSuchKey") return new NotFoundError(`${what}: not found`, opts);
  if (THROTTLING.has(code) || NETWORK.has(code) || (status !== undefined && status >= 500)) {
    return new TransientError(`${what}: temporary AWS failure (${code}: ${detail})`, opts);
  }
  if (ACCESS.has(code) || status === 403) {
    return new AccessDeniedError(`${what}: access denied (${code}: ${detail})`, opts);
  }
  if (WRONG_REGION.has(code) || status === 301) {
    return new BlockvaultError(
      `${what}: the resource is in another region than the client's (${code}: ${detail})`,
      {
        ...opts,
        code: "WRONG_REGION",
      },
    );
  }
  if (code === "NoSuchBucket") return new NotFoundError(`${what}: bucket does not exist`, opts);
  if (code === "ResourceNotFoundException")
    return new NotFoundError(`${what}: resource does not exist (${detail})`, opts);
  if (code === "NotFoundException") return new NotFoundError(`${what}: not found (${detail})`, opts);
  if (
    code === "ConditionalCheckFailedException" ||
    code === "PreconditionFailed" ||
    code === "ConditionalRequestConflict"
  ) {
    return new ConflictError(`${what}: condition failed (${code})`, opts);
  }
  if (
    code === "DisabledException" ||
    code === "KMSInvalidStateException" ||
    code === "InvalidCiphertextException" ||
    code === "IncorrectKeyException" ||
    code === "InvalidKeyUsageException" ||
    code === "KeyUnavailableException"
  ) {
    return new KeyError(`${what}: the KMS key refused the operation (${code}: ${detail})`, {
      ...opts,
      retryable: code === "KeyUnavailableException",
    });
  }
  if (code === "ValidationException" || code === "InvalidArgument" || code === "InvalidRequest") {
    return new ValidationError(`${what}: request refused as invalid (${code}: ${detail})`, opts);
  }
  return new BlockvaultError(`${what}: ${code}: ${detail}`, opts);
}
