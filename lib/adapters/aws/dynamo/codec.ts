import { IntegrityError, ValidationError } from "../../../errors.ts";
import { enumField } from "../../../util/enum-field.ts";
import type { Item } from "./ops.ts";

/**
 * Shared pieces of the record <-> item conversions: field checks and the generic mapping.
 *
 * DynamoDB stores whatever it is given, so the type checks a STRICT SQLite table makes are made
 * here, before a write: a record with a missing or mistyped field is a `ValidationError` and
 * nothing is written. Optional fields are stored only when present, and read back absent when
 * the item lacks them, so a record round-trips exactly. Free-form JSON (a job's or audit entry's
 * detail, a policy definition) is stored as JSON text: a DynamoDB map would not keep `-0`, key
 * order, or tell an empty set from a list.
 */

/** Refuses the record `what` with a `ValidationError` saying `problem`. */
export function refuse(what: string, problem: string): never {
  throw new ValidationError(`${what}: ${problem}`);
}

/** `value` must be a string (`nonEmpty`: with at least one character). */
export function checkText(what: string, name: string, value: unknown, nonEmpty = false): void {
  if (typeof value !== "string") refuse(what, `${name} must be a string, got ${typeof value}`);
  if (nonEmpty && value === "") refuse(what, `${name} must not be empty`);
}

/** `value` must be a safe integer. */
export function checkInt(what: string, name: string, value: unknown): void {
  if (!Number.isSafeInteger(value)) refuse(what, `${name} must be an integer, got ${String(value)}`);
}

/** `value` must be one of `allowed`. */
export function checkOneOf(what: string, name: string, value: unknown, allowed: object): void {
  const values: unknown[] = Object.values(allowed);
  if (!values.includes(value)) {
    refuse(what, `${name} must be one of ${values.join(", ")}, got ${String(value)}`);
  }
}

/** Runs `check` on `value` unless it is undefined (an absent optional field). */
export function optional(value: unknown, check: (value: unknown) => void): void {
  if (value !== undefined) check(value);
}

/** A count argument (`limit`, `afterSeq`): an integer >= 0 when given. */
export function checkCount(what: string, name: string, value: unknown): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 0)) {
    refuse(what, `${name} must be an integer >= 0, got ${String(value)}`);
  }
}

/**
 * A flat detail object (strings, finite numbers, booleans; undefined values are dropped as JSON
 * drops them) as JSON text. Anything else would not read back as written.
 */
export function flatJson(what: string, name: string, value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    refuse(what, `${name} must be an object`);
  for (const [key, v] of Object.entries(value)) {
    const ok =
      v === undefined ||
      typeof v === "string" ||
      typeof v === "boolean" ||
      (typeof v === "number" && Number.isFinite(v));
    if (!ok) refuse(what, `${name}.${key} must be a string, a finite number or a boolean, got ${String(v)}`);
  }
  return JSON.stringify(value);
}

/** A JSON object (a policy definition) as JSON text; a cycle or a bigint is a `ValidationError`. */
export function objectJson(what: string, name: string, value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    refuse(what, `${name} must be a JSON object`);
  }
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new ValidationError(`${what}: ${name} is not JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Parses JSON text read from the table; only a foreign writer leaves text that is not JSON. */
export function parseJson(what: string, text: unknown): Readonly<Record<string, never>> {
  try {
    return JSON.parse(text as string);
  } catch (err) {
    throw new IntegrityError(`${what}: a stored JSON field is not JSON`, { cause: err });
  }
}

/**
 * The record fields `required` and `optional` of `item`. A required field the item lacks means
 * the item was not written by this adapter (`IntegrityError`); an optional one absent or null is
 * left absent. `null` is kept for a required field (a point's `parent`).
 */
export function pick<T>(
  item: Item,
  required: readonly string[],
  optionalFields: readonly string[],
  enums: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): T {
  const out: Record<string, unknown> = {};
  for (const name of required) {
    if (!(name in item)) {
      throw new IntegrityError(`catalog item ${String(item.pk)} ${String(item.sk)} lacks field ${name}`);
    }
    out[name] = item[name];
  }
  for (const name of optionalFields) {
    const value = item[name];
    if (value !== undefined && value !== null) out[name] = value;
  }
  // DynamoDB stores any string: a value the rules do not know is refused, not passed on.
  for (const [name, values] of Object.entries(enums))
    if (name in out) enumField(values, itemName(item), name, out[name]);
  return out as T;
}

/** What an item holds, for messages: "point 1234 of vault abcd", "settings of vault abcd". */
function itemName(item: Item): string {
  const kind = String(item.kind ?? `item ${String(item.sk)}`);
  const vault = `vault ${String(item.vaultId ?? item.pk)}`;
  const id = item.id ?? item.seq; // an audit entry is named by its sequence number
  return id === undefined ? `${kind} of ${vault}` : `${kind} ${String(id)} of ${vault}`;
}

/** The defined `fields` of `record`: absent and undefined ones are left out of the item. */
export function fieldsOf(record: object, fields: readonly string[]): Item {
  const out: Item = {};
  for (const name of fields) {
    const value = (record as Record<string, unknown>)[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Applies `changes` to `existing` like object spread, as the Catalog port specifies: only
 * `allowed` fields may change; an optional field given as `undefined` is cleared, a `required`
 * one given as `undefined` is a `ValidationError`.
 */
export function merge<T extends object>(
  what: string,
  existing: T,
  changes: object,
  allowed: readonly string[],
  required: readonly string[],
): T {
  if (typeof changes !== "object" || changes === null) refuse(what, "changes must be an object");
  const out: Record<string, unknown> = { ...(existing as Record<string, unknown>) };
  for (const [name, value] of Object.entries(changes)) {
    if (!allowed.includes(name)) refuse(what, `field ${name} cannot be changed`);
    if (value !== undefined) out[name] = value;
    else if (required.includes(name)) refuse(what, `required field ${name} cannot be cleared`);
    else delete out[name];
  }
  return out as T;
}
