import { ApprovalRequiredError, BlockvaultError } from "../../errors.ts";
import { type HttpResponse, json } from "./types.ts";

/**
 * HTTP status by error code. Approval-required is 428 (Precondition Required), not 403: the
 * request is allowed once its precondition, a second person's approval, is met, and a client
 * must be able to tell that from "never allowed". An unreadable source is 422: the request is
 * well-formed but names something that cannot be used. A request without valid credentials is
 * 401, with the scheme to use in `WWW-Authenticate`.
 */
const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  ACCESS_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  ARCHIVED: 409,
  SOURCE: 422,
  DISK_FORMAT: 422,
  APPROVAL_REQUIRED: 428,
};

/** The status an error answers with: by its code; a retryable failure 503, any other 500. */
export function statusOf(error: BlockvaultError): number {
  return STATUS[error.code] ?? (error.retryable ? 503 : 500);
}

/**
 * Names of SDK and runtime error classes (`S3ServiceException`, `CredentialsProviderError`,
 * `TypeError`) and stack frames. Blockvault's messages are written for the caller, but some end
 * with the message of what they wrap; a response names only the product's own vocabulary (the
 * `code`), so the words that would tell an attacker which SDK, which version and which code path
 * failed are cut out.
 */
const CLASS_NAME = /\b[A-Z][A-Za-z0-9]*(?:Exception|Error|Fault)\b:?\s*/g;
const STACK_FRAME = /\n\s+at .*/g;

/** A message as a response may carry it: one line, no class names, no stack frames. */
export function publicMessage(message: string): string {
  const text = message.replace(STACK_FRAME, "").replace(CLASS_NAME, "").replace(/\s+/g, " ").trim();
  return text === "" ? "the operation failed" : text;
}

/** An error response: `{error: {code, message}}`, plus the request to approve for a 428. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  extra: object = {},
): HttpResponse {
  return json(status, { error: { code, message: publicMessage(message), ...extra } });
}

/** A 401: the caller must present a bearer token (RFC 6750). */
export function unauthenticated(message: string): HttpResponse {
  const response = errorResponse(401, "UNAUTHENTICATED", message);
  return { ...response, headers: { ...response.headers, "www-authenticate": 'Bearer realm="blockvault"' } };
}

/**
 * The response for anything a handler threw. Blockvault errors carry messages written for the
 * caller; anything else is a bug whose details stay in the log (`log`), not in the answer.
 */
export function responseForError(err: unknown, log: (err: unknown) => void = console.error): HttpResponse {
  if (!(err instanceof BlockvaultError)) {
    log(err);
    return errorResponse(500, "INTERNAL", "internal error");
  }
  const status = statusOf(err);
  if (status >= 500) log(err);
  if (status === 401) return unauthenticated(err.message);
  if (err instanceof ApprovalRequiredError) {
    return errorResponse(status, err.code, err.message, { approvalRequestId: err.requestId });
  }
  const response = errorResponse(status, err.code, err.message);
  return status === 503 ? { ...response, headers: { ...response.headers, "retry-after": "1" } } : response;
}
