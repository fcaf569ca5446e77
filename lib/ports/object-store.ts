import { ValidationError } from "../errors.ts";

/** Metadata the store keeps about one object. */
export interface ObjectInfo {
  /** The object's key, relative to the store's root (for example `packs/ab/ab12…`). */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the object was written (epoch milliseconds), where the store knows it. */
  readonly modified?: number;
}

/**
 * A byte range inside an object: `length` bytes starting at `offset`. Both are integers,
 * `offset >= 0` and `length >= 1`; an adapter refuses any other range with a `ValidationError`
 * (an empty range has no portable encoding, an S3 `Range` header cannot express it).
 */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * A flat, byte-oriented object store: the only place vault data lives. It knows nothing about
 * encryption, packs or the catalog; those sit above it. A store on this machine's filesystem
 * may also offer its objects as files, through the separate `LocalObjectFiles` capability.
 *
 * Contract, kept by every adapter and checked by `test/contract/object-store.contract.ts`:
 * - Keys are `/`-separated strings of `[A-Za-z0-9._/-]`, never starting or ending with `/`, with
 *   no empty, `.` or `..` segment (exactly what {@link isValidObjectKey} accepts); an adapter
 *   refuses any other key with a `ValidationError`. An adapter may reserve further names (the
 *   filesystem store reserves a top-level `.tmp` segment) and refuses those the same way.
 * - `put` is **atomic** (a reader sees the whole object or nothing) and **create-only**: if the
 *   key exists it rejects with `AlreadyExistsError` and leaves the existing object untouched.
 *   Callers storing content-addressed objects treat that error as success.
 * - `get` of a missing key rejects with `NotFoundError`; a range that reaches past the end rejects
 *   with `IntegrityError` (a truncated object is corruption, never a short read). An object in an
 *   archive tier rejects with `ArchivedObjectError`.
 * - `head` rejects with `NotFoundError` for a missing key.
 * - `list` yields every object whose key starts with `prefix` (a plain string prefix, not a
 *   directory: `packs/ab` matches `packs/ab/1` and `packs/abc`; `""` matches everything), in no
 *   particular order, once each. A prefix no valid key can start with (`/a`, `a//`, `a/../`)
 *   is a `ValidationError`.
 * - `delete` is idempotent: deleting a missing key succeeds.
 * - `removeLeftovers`, when a store has it, removes what writers that died left in its private
 *   areas (half-written puts, staging areas) untouched for at least `minAgeMs` (the store's own
 *   clock); a live writer keeps its staging area fresh, so only dead writers' are removed. It
 *   resolves to how many it removed.
 * - `retain`, when a store has it, puts the object under retention (see {@link ObjectRetention}):
 *   until then it cannot be deleted or replaced, by anyone, whatever the caller's rights. Only
 *   extends: the retention in effect afterwards ends at the later of its end and `until`, in the
 *   stronger of its mode and `mode`; it never shortens or weakens one. Idempotent. A missing key is
 *   `NotFoundError`. A `delete` of a retained object before its end rejects with
 *   `RetainedObjectError` (an `AccessDeniedError`) and leaves it in place. A store that has the
 *   method but cannot retain this vault's objects (an S3 bucket without Object Lock) rejects
 *   with a `BlockvaultError` whose code is {@link RETENTION_UNSUPPORTED}.
 * - Failures that may pass are `TransientError`s (`retryable: true`); everything else is not.
 */
export interface ObjectStore {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Buffer>;
  head(key: string): Promise<ObjectInfo>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  removeLeftovers?(minAgeMs: number): Promise<number>;
  retain?(key: string, until: number, mode: RetentionMode): Promise<ObjectRetention>;
}

/**
 * How strongly a retention holds. Both refuse deleting and replacing the object until the date.
 * - `governance`: the date can be moved earlier or the object deleted only by someone holding a
 *   right to bypass retention (on S3, `s3:BypassGovernanceRetention`, which the deployment's
 *   bucket policy refuses to everyone; an account administrator can change that policy).
 * - `compliance`: nobody can shorten it or delete the object before the date, not even the
 *   account's root user; the mode itself can never change back.
 * `compliance` is the stronger: asking for it on a governance-retained object upgrades it.
 */
export const RetentionMode = { Governance: "governance", Compliance: "compliance" } as const;
export type RetentionMode = (typeof RetentionMode)[keyof typeof RetentionMode];

/** Error code of a `retain` the store cannot perform at all (see {@link ObjectStore}). */
export const RETENTION_UNSUPPORTED = "RETENTION_UNSUPPORTED";

/** The retention in effect on an object: until when (epoch ms), and how strongly. */
export interface ObjectRetention {
  readonly until: number;
  readonly mode: RetentionMode;
}

/** The stronger of two modes. */
export function strongerMode(a: RetentionMode, b: RetentionMode): RetentionMode {
  return a === RetentionMode.Compliance || b === RetentionMode.Compliance
    ? RetentionMode.Compliance
    : RetentionMode.Governance;
}

/** The retention that extends `current` (if any) to `until` in at least `mode`: it never shortens. */
export function extendedRetention(
  current: ObjectRetention | undefined,
  until: number,
  mode: RetentionMode,
): ObjectRetention {
  if (!current) return { until, mode };
  return { until: Math.max(current.until, until), mode: strongerMode(current.mode, mode) };
}

/** Refuses a retention date that is not a whole, safe epoch-millisecond time. */
export function checkRetention(key: string, until: number, mode: RetentionMode): void {
  if (!Number.isSafeInteger(until) || until <= 0) {
    throw new ValidationError(`retain object ${key}: invalid retention date ${until}`);
  }
  if (mode !== RetentionMode.Governance && mode !== RetentionMode.Compliance) {
    throw new ValidationError(`retain object ${key}: unknown retention mode ${JSON.stringify(mode)}`);
  }
}

const KEY_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** True when `key` obeys the {@link ObjectStore} key rules. */
export function isValidObjectKey(key: string): boolean {
  return KEY_PATTERN.test(key) && !key.split("/").some((part) => part === "." || part === "..");
}
