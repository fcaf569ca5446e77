import { ValidationError } from "../../errors.ts";
import type { ByteRange } from "../../ports/object-store.ts";
import { restoreFormat } from "../../util/restore-format.ts";
import type { RestoreTargetSpec } from "../app-context.ts";

/** A state machine task's payload, as the dispatcher received it (untrusted JSON). */
export type TaskEvent = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `event.input`, the state's whole input that tasks declared with `"input.$": "$"` receive. */
export function stateInput(event: TaskEvent): Readonly<Record<string, unknown>> {
  if (!isObject(event.input))
    throw new ValidationError(`task ${String(event.task)}: input must be an object`);
  return event.input;
}

/** A required non-empty string field. */
export function text(obj: Readonly<Record<string, unknown>>, name: string): string {
  const value = obj[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new ValidationError(`${name} must be a non-empty string`);
  }
  return value;
}

/** An optional non-empty string field. */
export function optionalText(obj: Readonly<Record<string, unknown>>, name: string): string | undefined {
  return obj[name] === undefined || obj[name] === null ? undefined : text(obj, name);
}

/** An optional whole number field, at least `min`. */
export function optionalCount(
  obj: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
): number | undefined {
  const value = obj[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(`${name} must be a whole number >= ${min}`);
  }
  return value;
}

/** An optional byte range `{offset, length}` (checked against the disk by the engine). */
export function optionalRange(obj: Readonly<Record<string, unknown>>): ByteRange | undefined {
  const range = obj.range;
  if (range === undefined || range === null) return undefined;
  if (!isObject(range)) throw new ValidationError("range must be an object {offset, length}");
  const offset = optionalCount(range, "offset", 0);
  const length = optionalCount(range, "length", 1);
  if (offset === undefined || length === undefined) {
    throw new ValidationError("range must have a whole offset >= 0 and a whole length >= 1");
  }
  return { offset, length };
}

/** The restore's target, as the API recorded it. */
export function restoreTarget(obj: Readonly<Record<string, unknown>>): RestoreTargetSpec {
  const target = obj.target;
  if (!isObject(target)) throw new ValidationError("target must be an object with a kind");
  const force = target.force === true;
  switch (target.kind) {
    case "file": {
      const format = target.format === undefined ? {} : { format: restoreFormat(target.format, false) };
      return { kind: "file", path: text(target, "path"), force, ...format };
    }
    case "s3":
      return { kind: "s3", url: text(target, "url"), force };
    case "ebs-snapshot": {
      const description = optionalText(target, "description");
      return description === undefined ? { kind: "ebs-snapshot" } : { kind: "ebs-snapshot", description };
    }
    default:
      throw new ValidationError(`target.kind must be "file", "s3" or "ebs-snapshot"`);
  }
}

/** Keeps the values a job's `detail` can hold (strings, finite numbers, booleans). */
export function jobDetail(value: unknown): Record<string, string | number | boolean> {
  const detail: Record<string, string | number | boolean> = {};
  if (!isObject(value)) return detail;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) {
      detail[key] = v;
    }
  }
  return detail;
}
