import type { RestoreTarget } from "../../lib/ports/restore-target.ts";

/** A {@link RestoreTarget} in memory, holding what was written and whether it was committed. */
export interface MemoryTarget extends RestoreTarget {
  readonly bytes: Buffer;
  /** Committed and not aborted afterwards: what a reader of the destination would see. */
  readonly complete: boolean;
}

/** A fresh memory target of `size` bytes (no file descriptor: the engine calls `write`). */
export function memoryTarget(size: number): MemoryTarget {
  const bytes = Buffer.alloc(size);
  let committed = false;
  let aborted = false;
  return {
    description: "memory",
    bytes,
    get complete() {
      return committed && !aborted;
    },
    async write(offset, data) {
      if (committed || aborted) throw new Error("write after the end of the restore");
      bytes.set(data, offset);
    },
    async commit() {
      committed = true;
      return "memory";
    },
    async abort() {
      aborted = true;
    },
  };
}
