import { ValidationError } from "../errors.ts";
import { RestoreFormat } from "../model.ts";

/**
 * The format a restore into a file asks for (raw when none), checked: one of raw, vhd, qcow2,
 * and anything but raw only for a whole-disk restore (a byte range is no disk image).
 *
 * @throws ValidationError naming the value.
 */
export function restoreFormat(value: unknown, ranged: boolean): RestoreFormat {
  if (value === undefined) return RestoreFormat.Raw;
  const allowed: readonly unknown[] = Object.values(RestoreFormat);
  if (!allowed.includes(value)) {
    throw new ValidationError(
      `restore format ${JSON.stringify(value)} is not one of ${Object.values(RestoreFormat).join(", ")}`,
    );
  }
  if (ranged && value !== RestoreFormat.Raw) {
    throw new ValidationError(
      `a byte-range restore is raw bytes: format ${value} needs a whole-disk restore`,
    );
  }
  return value as RestoreFormat;
}
