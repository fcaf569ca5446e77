import type { HeadObjectCommandOutput, ObjectLockMode } from "@aws-sdk/client-s3";
import { type ObjectRetention, RetentionMode } from "../../ports/object-store.ts";

/**
 * S3 Object Lock as the port's retention. S3 keeps retention dates to the second; a date asked
 * in milliseconds is rounded up, so what S3 stores is never earlier than what was asked.
 */
export function s3RetainUntil(until: number): Date {
  return new Date(Math.ceil(until / 1000) * 1000);
}

/** The retention a HeadObject response reports (S3 sends it to callers with GetObjectRetention). */
export function retentionOfHead(head: HeadObjectCommandOutput): ObjectRetention | undefined {
  const until = head.ObjectLockRetainUntilDate?.getTime();
  if (until === undefined || head.ObjectLockMode === undefined) return undefined;
  const mode = head.ObjectLockMode === "COMPLIANCE" ? RetentionMode.Compliance : RetentionMode.Governance;
  return { until, mode };
}

/** S3's name of a mode. */
export function s3LockMode(mode: RetentionMode): ObjectLockMode {
  return mode === RetentionMode.Compliance ? "COMPLIANCE" : "GOVERNANCE";
}

/** Whether `wanted` asks for nothing `current` does not already hold. */
export function holds(current: ObjectRetention | undefined, wanted: ObjectRetention): boolean {
  return current !== undefined && current.until >= wanted.until && current.mode === wanted.mode;
}

/**
 * The Object Lock fields a copy of an object onto itself carries so that the new version is
 * retained as the old one is (a version made by a copy starts with no retention of its own).
 */
export function lockFieldsOf(retention: ObjectRetention | undefined): {
  ObjectLockMode?: ObjectLockMode;
  ObjectLockRetainUntilDate?: Date;
} {
  if (!retention) return {};
  return { ObjectLockMode: s3LockMode(retention.mode), ObjectLockRetainUntilDate: new Date(retention.until) };
}

/** Base64 MD5 of no bytes: the body of a copy request. */
const EMPTY_BODY_MD5 = "1B2M2Y8AsgTpgAmY5PhCfg==";

/**
 * Marks a copy that sets Object Lock fields with the MD5 of its (empty) body. S3 requires an
 * integrity header on uploads that carry retention; S3 itself does not ask it of a copy, whose
 * body is empty, but emulators do (moto refuses the copy without it), and the header is true.
 */
export function withBodyDigest<C extends { middlewareStack: { add: (...args: never[]) => unknown } }>(
  command: C,
): C {
  const stack = command.middlewareStack as unknown as {
    add(
      middleware: (next: (args: { request: unknown }) => unknown) => (args: { request: unknown }) => unknown,
      options: { step: "build"; name: string },
    ): void;
  };
  stack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["content-md5"] = EMPTY_BODY_MD5;
      return next(args);
    },
    { step: "build", name: "blockvaultCopyBodyDigest" },
  );
  return command;
}
