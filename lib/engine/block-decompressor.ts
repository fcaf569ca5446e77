import { constants, createZstdDecompress, zstdDecompressSync } from "node:zlib";

/** The parts of Node's zstd stream used to decompress straight into a buffer (see below). */
interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
}

interface Context {
  readonly handle: ZstdHandle;
  readonly state: Uint32Array;
  /** The stream owning the handle: Node destroys it, synchronously, when zstd reports an error. */
  readonly stream: { readonly destroyed: boolean };
}

function newContext(): Context | undefined {
  const stream = createZstdDecompress();
  // Errors are seen through `destroyed` right after each call; the event would come too late.
  stream.on("error", () => {});
  const internals = stream as unknown as { _handle?: Partial<ZstdHandle>; _writeState?: unknown };
  const handle = internals._handle;
  const state = internals._writeState;
  if (typeof handle?.writeSync !== "function" || typeof handle.reset !== "function") return undefined;
  if (!(state instanceof Uint32Array) || state.length < 2) return undefined;
  return { handle: handle as ZstdHandle, state, stream };
}

/**
 * Decompresses blocks one at a time on one long-lived zstd context, straight into a buffer of the
 * expected size: Node's public API sets up a context per call and assembles the output from
 * 16 KiB pieces, which on a restore's thousands of blocks a second is measurable. Like
 * {@link BlockCompressor} it falls back to the public API if Node's stream internals change.
 * One per thread.
 */
export class BlockDecompressor {
  private context: Context | undefined = newContext();

  /** True when frames are decompressed on the reused context (false: the public-API fallback). */
  get reusesContext(): boolean {
    return this.context !== undefined;
  }

  /**
   * The content of one zstd frame, at most `maxLength` bytes (the caller checks the exact
   * length). Throws (a plain Error) when the frame is damaged, holds more, or is followed by
   * anything.
   */
  decompress(frame: Uint8Array, maxLength: number): Buffer {
    const context = this.context;
    if (!context) return zstdDecompressSync(frame, { maxOutputLength: maxLength });
    // One byte of room more than allowed, so that a longer frame shows.
    const out = Buffer.allocUnsafe(maxLength + 1);
    context.handle.writeSync(constants.ZSTD_e_end, frame, 0, frame.length, out, 0, out.length);
    if (context.stream.destroyed) {
      this.context = newContext(); // Node closed the failed one
      throw new Error("zstd frame is damaged");
    }
    const produced = out.length - context.state[0]!;
    const inputLeft = context.state[1]!;
    // A frame read whole to the expected length leaves the context ready for the next frame.
    // Anything else may leave it inside a frame: start afresh. (Node's reset builds a new zstd
    // context, which costs as much as the decompression of a small block, so only then.)
    if (produced !== maxLength || inputLeft !== 0) context.handle.reset();
    if (produced > maxLength) throw new Error(`zstd frame holds more than ${maxLength} bytes`);
    if (inputLeft !== 0) throw new Error("zstd frame is followed by other data");
    return out.subarray(0, produced);
  }
}
