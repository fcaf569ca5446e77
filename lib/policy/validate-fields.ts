/**
 * Checks of single fields of untrusted policy input. Each names the field by its path
 * (`retention.weekly.weeks`, `schedule.times[2]`) and the allowed values in the message of
 * the {@link ValidationError} it throws, so a caller can fix the input from the message alone.
 */
import { ValidationError } from "../errors.ts";
import type { MonthDay } from "./policy.ts";
import { minutesOfTime, POLICY_LIMITS } from "./policy.ts";

/** The fields of an input object, not yet checked. */
export type Fields = Readonly<Record<string, unknown>>;

/** Throws a {@link ValidationError} with `message`. */
export function invalid(message: string): never {
  throw new ValidationError(message);
}

/** How an offending value reads in a message. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/** The path of `key` inside the field at `path` ("" is the policy itself). */
export function fieldPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Quoted and comma-separated, for "one of" lists. */
export function quoteAll(values: readonly (string | number)[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

/** The field at `path` as an object with no keys but `known` (a typo is refused, not ignored). */
export function object(path: string, value: unknown, known: readonly string[]): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalid(`${path === "" ? "the policy" : path} must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      invalid(`${fieldPath(path, key)} is not a known field; known fields are ${quoteAll(known)}`);
    }
  }
  return value as Fields;
}

/** An integer from `min` to `max`; `note` says why the range is what it is, if not obvious. */
export function integer(path: string, value: unknown, min: number, max: number, note?: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const why = note === undefined ? "" : ` (${note})`;
    invalid(`${path} must be an integer from ${min} to ${max}${why}, got ${describe(value)}`);
  }
  return value;
}

/** One of `allowed`. */
export function oneOf<T extends string | number>(path: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    invalid(`${path} must be one of ${quoteAll(allowed)}, got ${describe(value)}`);
  }
  return value as T;
}

/** A local time "HH:MM" on the 24-hour clock. */
export function time(path: string, value: unknown): string {
  if (typeof value !== "string" || Number.isNaN(minutesOfTime(value))) {
    invalid(`${path} must be a time "HH:MM" from "00:00" to "23:59", got ${describe(value)}`);
  }
  return value;
}

/** A day of the month: an integer from 1 to 28, or "last". */
export function monthDay(path: string, value: unknown): MonthDay {
  const { min, max } = POLICY_LIMITS.monthDay;
  if (value === "last") return value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${path} must be an integer from ${min} to ${max} or "last", got ${describe(value)}`);
  }
  return value;
}

/**
 * A list of `min` to `max` distinct items, each checked by `item` at its path (`path[i]`).
 * `what` names the items in messages ("times", "days").
 */
export function distinctList<T>(
  path: string,
  value: unknown,
  limits: { readonly min: number; readonly max: number },
  what: string,
  item: (path: string, value: unknown) => T,
): T[] {
  const rule = `${path} must be a list of ${limits.min} to ${limits.max} distinct ${what}`;
  if (!Array.isArray(value)) invalid(`${rule}, got ${describe(value)}`);
  if (value.length < limits.min || value.length > limits.max) invalid(`${rule}, got ${value.length}`);
  const items = value.map((entry, index) => item(`${path}[${index}]`, entry));
  const repeated = items.find((entry, index) => items.indexOf(entry) !== index);
  if (repeated !== undefined) invalid(`${rule}, got ${describe(repeated)} twice`);
  return items;
}

/** `value` and everything in it, frozen. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
