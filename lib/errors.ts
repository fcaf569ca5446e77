/**
 * One error hierarchy for the whole product. Every error the engine or an adapter raises is a
 * {@link BlockvaultError}; adapters translate SDK and OS errors at their boundary. `retryable`
 * says whether repeating the same call may succeed (throttling, a 5xx, a lost connection), and
 * is what the state machines' Retry clauses key on through the error `name`.
 */
export class BlockvaultError extends Error {
  /** Whether the same call may succeed if repeated. */
  readonly retryable: boolean;
  /** Machine-readable code, stable across releases (also used as the CLI's exit reason). */
  readonly code: string;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean; code?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
    this.code = options.code ?? "BLOCKVAULT_ERROR";
  }
}

type Opts = { cause?: unknown; retryable?: boolean };

/** A named thing (object, recovery point, disk, vault, job) does not exist. */
export class NotFoundError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "NOT_FOUND" });
  }
}

/** A create-only write found the target already there. */
export class AlreadyExistsError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "ALREADY_EXISTS" });
  }
}

/** A conditional write lost a race (for example the parent point is no longer the latest). */
export class ConflictError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "CONFLICT" });
  }
}

/** Caller input is invalid: a bad flag, path, size or argument. Never retryable. */
export class ValidationError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "INVALID_INPUT", retryable: false });
  }
}

/** Stored data failed verification: a bad AEAD tag, a block ID mismatch, a truncated object. */
export class IntegrityError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "INTEGRITY", retryable: false });
  }
}

/** A key is missing, wrong, or refuses the operation (wrong keyring, wrong encryption context). */
export class KeyError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "KEY" });
  }
}

/** The caller may not perform the operation (IAM denied, missing role). */
export class AccessDeniedError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "ACCESS_DENIED", retryable: false });
  }
}

/**
 * A delete (or replacement) of an object refused because the object is under storage retention
 * that has not ended: nobody may remove it before its date. Callers that clean up (garbage
 * collection, reclaim) leave such an object and try again on a later run.
 */
export class RetainedObjectError extends AccessDeniedError {}

/**
 * The request does not say who is calling, or says it with a token nobody holds (HTTP 401): unlike
 * {@link AccessDeniedError}, repeating it with valid credentials may succeed.
 */
export class UnauthenticatedError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "UNAUTHENTICATED", retryable: false });
  }
}

/** An object is in an archive tier and must be restored (rehydrated) before it can be read. */
export class ArchivedObjectError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "ARCHIVED" });
  }
}

/**
 * A structure inside a recovery point's disk (a partition table, an LVM label or its metadata, a
 * file system's superblock or directory) is damaged or of a kind this build does not read: the
 * point's own blocks verified, but what the guest wrote there cannot be interpreted.
 */
export class DiskFormatError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "DISK_FORMAT", retryable: false });
  }
}

/** A backing service failed in a way that may pass (throttling, 5xx, I/O hiccup). */
export class TransientError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "TRANSIENT", retryable: opts.retryable ?? true });
  }
}

/** The disk's geometry changed between recovery points, or the source is unusable. */
export class SourceError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "SOURCE" });
  }
}

/**
 * A VM backup reached a lower consistency than the VM's policy requires: the job fails (and
 * alerts) instead of committing a point that falls short. The message names the level reached,
 * the level required and why.
 */
export class ConsistencyError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "CONSISTENCY", retryable: false });
  }
}

/** A guest agent (qemu-ga, SSM) could not be reached or refused a command; the message names it. */
export class GuestAgentError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "GUEST_AGENT", retryable: false });
  }
}

/** Taking a VM's snapshot would have run past the end of its freeze window; nothing was kept. */
export class SnapshotWindowError extends BlockvaultError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, code: "SNAPSHOT_WINDOW", retryable: false });
  }
}

/**
 * A critical operation needs a second person's approval: the error names the request that was
 * created (or that must be approved) and what to do next.
 */
export class ApprovalRequiredError extends BlockvaultError {
  /** The approval request to approve, then to pass back with the operation. */
  readonly requestId: string;

  constructor(message: string, requestId: string, opts: Opts = {}) {
    super(message, { ...opts, code: "APPROVAL_REQUIRED", retryable: false });
    this.requestId = requestId;
  }
}

/**
 * The approval presented with a critical operation is for another operation, target or
 * parameters: invalid input (as before), and a refusal in the audit log.
 */
export class ApprovalMismatchError extends ValidationError {}

/** Wraps anything thrown that is not already a BlockvaultError, keeping it as `cause`. */
export function asBlockvaultError(err: unknown, context: string): BlockvaultError {
  if (err instanceof BlockvaultError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BlockvaultError(`${context}: ${message}`, { cause: err });
}
