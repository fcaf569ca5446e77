import { AccessDeniedError, BlockvaultError, NotFoundError, TransientError } from "../../errors.ts";

/** The `code` of a Node.js system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const { code } = err as { code: unknown };
  return typeof code === "string" ? code : undefined;
}

/**
 * OS error codes that describe a passing condition: an I/O hiccup, a full descriptor table, a
 * busy resource. Repeating the call later may succeed, so they become retryable errors.
 */
const TRANSIENT_CODES = new Set(["EIO", "EAGAIN", "EWOULDBLOCK", "EMFILE", "ENFILE", "EBUSY", "EINTR"]);

/**
 * Translates an error thrown by `node:fs` into the product's hierarchy, keeping the original as
 * `cause`. `what` names the operation and object (for example `get packs/ab/12`) and leads every
 * message, so an operator can tell which object failed without the stack.
 *
 * A missing path (ENOENT, or ENOTDIR when a path component is a file) is a `NotFoundError`;
 * permission problems are `AccessDeniedError`; a full disk or quota is a non-retryable
 * `BlockvaultError` (`NO_SPACE`) because retrying will not free space; passing conditions are a
 * `TransientError`. Errors already in the hierarchy pass through unchanged.
 */
export function translateFsError(err: unknown, what: string): BlockvaultError {
  if (err instanceof BlockvaultError) return err;
  const code = errnoCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new NotFoundError(`${what}: not found`, { cause: err });
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new AccessDeniedError(`${what}: permission denied (${detail})`, { cause: err });
  }
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new BlockvaultError(`${what}: no space left on the vault's filesystem (${detail})`, {
      cause: err,
      retryable: false,
      code: "NO_SPACE",
    });
  }
  if (code !== undefined && TRANSIENT_CODES.has(code)) {
    return new TransientError(`${what}: temporary I/O failure (${detail})`, { cause: err });
  }
  return new BlockvaultError(`${what}: ${detail}`, { cause: err });
}
