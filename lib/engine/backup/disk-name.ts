import { ValidationError } from "../../errors.ts";

const DISK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a disk name: letters, digits, `.`, `_`, `-`, at most 128 characters. */
export function validateDiskName(disk: string): void {
  if (!DISK_NAME.test(disk)) {
    throw new ValidationError(
      `disk name "${disk}" is invalid: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}
