import { posix } from "node:path";
import { ValidationError } from "../errors.ts";

/**
 * The only freeze targets blockvault ever sends a guest agent: a non-empty list of distinct
 * absolute mount points, none of them the root file system. Freezing "/" (or every file system,
 * which an agent does when given no list) stops the machine the agent runs on, and with
 * `qemu-ga` on a host or `fsfreeze` run locally that machine is this one: nothing could thaw it.
 * Returns the normalised list; anything else is a `ValidationError` naming the target.
 */
export function checkFreezeTargets(mountpoints: unknown): string[] {
  if (!Array.isArray(mountpoints) || mountpoints.length === 0) {
    throw new ValidationError(
      "freeze refused: name the mount points to freeze (--freeze-mount PATH); freezing every file system is never done",
    );
  }
  const out: string[] = [];
  for (const target of mountpoints) {
    if (typeof target !== "string" || !posix.isAbsolute(target) || /[\0\n\r]/.test(target)) {
      throw new ValidationError(
        `freeze refused: mount point ${JSON.stringify(target)} is not an absolute path`,
      );
    }
    const normal = posix.normalize(target).replace(/\/+$/, "") || "/";
    if (normal === "/") {
      throw new ValidationError(`freeze refused: ${target} is the root file system, which is never frozen`);
    }
    if (out.includes(normal))
      throw new ValidationError(`freeze refused: mount point ${target} is listed twice`);
    out.push(normal);
  }
  return out;
}
