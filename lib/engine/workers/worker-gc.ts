/**
 * How a worker thread gets V8's `gc()` without changing the process's flags for good. V8's flags
 * belong to the process, and their hash stamps every entry of Node's compile cache: a flag left
 * changed makes every module compiled afterwards, on any thread, miss the cache and be written
 * again at exit (16-49 of a restore's ~120 modules did, a different set each run).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { holdingLock } from "./worker-open.ts";

/** A function that runs a garbage collection (V8's `gc`, with its options). */
export type Collect = (options?: object) => void;

/**
 * Returns `gc` for the calling thread: the global one if the process started with
 * `--expose-gc`, otherwise one taken from a fresh context created while the flag is briefly on.
 * `lock` (one Int32 in shared memory, 0 when free) must be the same for every thread that may do
 * this at once: one thread taking the flag back while another creates its context would leave
 * the other without `gc`.
 */
export function exposeGc(lock: Int32Array): Collect {
  const global = (globalThis as { gc?: Collect }).gc;
  if (typeof global === "function") return global;
  return holdingLock(lock, () => {
    setFlagsFromString("--expose-gc");
    try {
      return runInNewContext("gc") as Collect;
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  });
}
