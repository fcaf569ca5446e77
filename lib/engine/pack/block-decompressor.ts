import { createZstdDecompress, zstdDecompressSync } from "node:zlib";
import { zstdContext } from "./zstd-context.ts";

function newContext() {
  return zstdContext(createZstdDecompress());
}

/**
 * Decompresses blocks one at a time on one long-lived zstd context, straight into a buffer of the
 * expected size: Node's public API sets up a context per call and assembles the output from
 * 16 KiB pieces, which on a restore's thousands of blocks a second is measurable. Like
 * {@link BlockCompressor} it falls back to the public API if Node's stream internals change.
 * One per thread.
 */
export class BlockDecompressor {
  private context = newContext();

  /** True when frames are decompressed on the reused context (false: the public-API fallback). */
  get reusesContext(): boolean {
    return this.context !== undefined;
  }

  /**
   * The content of one zstd frame, at most `maxLength` bytes (the caller checks the exact
   * length). Throws (a plain Error) when the frame is damaged, holds more, or is followed by
   * anything. With `into` (at least `maxLength + 1` bytes) the content is written at its start
   * and returned as a view of it, instead of into a new buffer.
   */
  decompress(frame: Uint8Array, maxLength: number, into?: Buffer): Buffer {
    const context = this.context;
    if (!context) return zstdDecompressSync(frame, { maxOutputLength: maxLength });
    // One byte of room more than allowed, so that a longer frame shows.
    const out =
      into && into.length > maxLength ? into.subarray(0, maxLength + 1) : Buffer.allocUnsafe(maxLength + 1);
    const run = context.run(frame, out, 0, out.length);
    if (!run) {
      this.context = newContext(); // Node closed the failed one
      throw new Error("zstd frame is damaged");
    }
    const { produced, inputLeft } = run;
    // A frame read whole to the expected length leaves the context ready for the next frame.
    // Anything else may leave it inside a frame: start afresh. (Node's reset builds a new zstd
    // context, which costs as much as the decompression of a small block, so only then.)
    if (produced !== maxLength || inputLeft !== 0) context.reset();
    if (produced > maxLength) throw new Error(`zstd frame holds more than ${maxLength} bytes`);
    if (inputLeft !== 0) throw new Error("zstd frame is followed by other data");
    return out.subarray(0, produced);
  }
}
