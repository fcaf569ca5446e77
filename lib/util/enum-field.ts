import { IntegrityError } from "../errors.ts";

/**
 * `value` as one of the `as const` object `values`' members, read back from a catalog: a value
 * outside them (a hand-edited row, a newer writer) is an {@link IntegrityError} naming the record,
 * the field and the value, never a string the rules would compare and silently mismatch.
 */
export function enumField<T extends Readonly<Record<string, string>>>(
  values: T,
  record: string,
  field: string,
  value: unknown,
): T[keyof T] {
  const allowed: readonly unknown[] = Object.values(values);
  if (!allowed.includes(value)) {
    throw new IntegrityError(
      `${record}: ${field} ${JSON.stringify(value) ?? String(value)} is not one of ${Object.values(values).join(", ")}`,
    );
  }
  return value as T[keyof T];
}
