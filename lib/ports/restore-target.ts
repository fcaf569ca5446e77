/**
 * Where a restore writes: a new file, an S3 object, an EBS snapshot. The engine writes verified
 * blocks in any order, then calls `commit`; until then nothing is visible at the destination.
 * A local file may also offer its descriptor to the engine's worker threads, as the separate
 * `LocalFile` capability (see `localFileOf`).
 *
 * Contract:
 * - `write(offset, data)` may be called concurrently for disjoint ranges; ranges never written
 *   read back as zeros (holes).
 * - `commit` makes the complete image visible atomically at the destination (rename, complete
 *   multipart upload, complete snapshot) and returns where it is.
 * - `abort` discards everything written; it is safe after a failed `commit` and twice.
 */
export interface RestoreTarget {
  readonly description: string;
  write(offset: number, data: Uint8Array): Promise<void>;
  /**
   * Optional: starts putting what was written so far on stable storage, so that `commit` has
   * less left to flush. The engine calls it now and then during a restore, never concurrently
   * with itself; it promises nothing by itself — only `commit` makes the image durable.
   */
  flush?(): Promise<void>;
  commit(): Promise<string>;
  abort(): Promise<void>;
}
