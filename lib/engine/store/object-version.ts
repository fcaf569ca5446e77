import { IntegrityError } from "../../errors.ts";

/**
 * Refuses, with a message saying so, an object of a kind this blockvault knows (its 4-byte magic
 * `prefix`) but of a version newer than `newest` (the byte after the prefix): a vault written by
 * a later release is not a damaged one. Anything else is left to the caller's own checks.
 */
export function refuseNewerVersion(
  key: string,
  bytes: Uint8Array,
  prefix: string,
  newest: number,
  what: string,
): void {
  if (bytes.length <= prefix.length) return;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return;
  const version = bytes[prefix.length]!;
  if (version > newest) {
    throw new IntegrityError(
      `${key}: ${what} version ${version} was written by a newer blockvault (this one reads up to version ${newest}); upgrade blockvault to read this vault`,
    );
  }
}
