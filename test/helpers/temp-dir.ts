import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates a fresh directory under the OS temp dir; remove it with {@link removeDir}. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `bv-${prefix}-`));
}

/** Removes a directory tree, ignoring a missing one. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
