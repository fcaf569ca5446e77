import { constants, createZstdCompress, zstdCompressSync } from "node:zlib";
import { type ZstdContext, zstdContext } from "./zstd-context.ts";

/** How a sealed blob's payload is encoded (the first plaintext byte). */
export const Codec = { None: 0, Zstd: 1 } as const;

/** A block's payload: compressed, or the block itself. */
export interface CompressedBlock {
  readonly codec: number;
  /** The payload; when compressed, a view of the compressor's buffer, valid until its next call. */
  readonly payload: Buffer;
  /** The codec byte followed by the payload, when the compressor holds them together. */
  readonly framed?: Buffer;
}

/**
 * Before compressing, estimate the byte entropy of a 1 KiB sample: above this many bits per byte
 * the block is treated as incompressible (random or already compressed/encrypted) and stored
 * as is. Far cheaper than a trial compression, which on such data is pure loss.
 */
const SAMPLE_BYTES = 1024;
const MAX_ENTROPY_BITS = 7.5;
const MIN_WINDOW_LOG = 10;
const MAX_WINDOW_LOG = 22;
/** zstd's smallest chain table. */
const MIN_CHAIN_LOG = 6;
/** Keep the compressed form only if it saves at least this fraction. */
const MIN_SAVING = 0.03;
/** The level a vault gets by default; its parameters are tuned for blocks (see below). */
const DEFAULT_LEVEL = 3;

const histogram = new Uint32Array(256);
/**
 * `-p·log2(p)` for every count a sample can hold (p = count / SAMPLE_BYTES): a lookup instead of
 * up to 256 logarithms per block, which were half of the estimate's cost.
 */
const ENTROPY_TERMS = Float64Array.from({ length: SAMPLE_BYTES + 1 }, (_, count) =>
  count === 0 ? 0 : -(count / SAMPLE_BYTES) * Math.log2(count / SAMPLE_BYTES),
);

/**
 * Shannon entropy, in bits per byte, of two 512-byte samples (start and middle) of `data`. On
 * random bytes the estimate from 1 KiB is about 7.8 bits (the small sample's bias), well clear of
 * the threshold; text is near 4.5. Small samples keep the estimate off a full backup's CPU time.
 */
function sampleEntropy(data: Uint8Array): number {
  histogram.fill(0);
  const half = SAMPLE_BYTES / 2;
  const middle = Math.max(half, (data.length >> 1) - (half >> 1));
  for (let i = 0; i < half; i++) {
    histogram[data[i]!]!++;
    histogram[data[middle + i]!]!++;
  }
  let bits = 0;
  for (let i = 0; i < 256; i++) bits += ENTROPY_TERMS[histogram[i]!]!;
  return bits;
}

/**
 * zstd parameters for blocks of `maxBlock` bytes. A window and tables sized for one block set up
 * faster than the level's defaults (which assume long streams). At the default level the
 * strategy is pinned to level 3's (double-fast) with a 5-byte minimum match and smaller tables,
 * which on block-sized inputs are faster than level 3's own tables for no larger output; the
 * double-fast chain table holds 8-byte matches, so a small one suffices (docs/design.md,
 * "Measured choices").
 */
export function zstdParams(level: number, maxBlock: number): Record<number, number> {
  const windowLog = Math.min(MAX_WINDOW_LOG, Math.max(MIN_WINDOW_LOG, Math.ceil(Math.log2(maxBlock))));
  const sized = {
    [constants.ZSTD_c_compressionLevel]: level,
    [constants.ZSTD_c_windowLog]: windowLog,
  };
  if (level !== DEFAULT_LEVEL) {
    return { ...sized, [constants.ZSTD_c_hashLog]: windowLog - 1, [constants.ZSTD_c_chainLog]: windowLog };
  }
  return {
    ...sized,
    [constants.ZSTD_c_strategy]: constants.ZSTD_dfast,
    [constants.ZSTD_c_minMatch]: 5,
    [constants.ZSTD_c_searchLog]: 1,
    [constants.ZSTD_c_hashLog]: Math.max(MIN_WINDOW_LOG, windowLog - 2),
    [constants.ZSTD_c_chainLog]: Math.max(MIN_CHAIN_LOG, windowLog - 7),
  };
}

/**
 * The most bytes zstd can make of `length` input bytes (its `ZSTD_COMPRESSBOUND`). Given that much
 * room, zstd compresses a block straight from input to output; with less, it goes through its
 * own window and output buffers: two more copies of every block.
 */
export function zstdCompressBound(length: number): number {
  return length + (length >> 8) + (length < 128 * 1024 ? (128 * 1024 - length) >> 11 : 0);
}

/**
 * Compresses blocks one at a time, when that pays, with one long-lived zstd context writing into
 * one reusable buffer: no per-block context set-up and no per-block allocation (which, at
 * thousands of blocks a second, kept the garbage collector busy). Not safe to share between
 * threads; each worker has its own.
 */
export class BlockCompressor {
  private readonly params: Record<number, number>;
  private readonly output: Buffer;
  private context: ZstdContext | undefined;

  /** @param maxBlock the largest block this compressor will be given */
  constructor(level: number, maxBlock: number) {
    this.params = zstdParams(level, maxBlock);
    // One byte more in front for the codec, so the sealing cipher gets codec and payload at once.
    this.output = Buffer.allocUnsafeSlow(1 + zstdCompressBound(maxBlock));
    this.context = zstdContext(createZstdCompress({ params: this.params }));
  }

  /** True when blocks are compressed in place on one context (false: the public-API fallback). */
  get inPlace(): boolean {
    return this.context !== undefined;
  }

  /** The block compressed if that saves at least 3 %, else the block itself (codec None). */
  compress(data: Buffer): CompressedBlock {
    if (data.length >= SAMPLE_BYTES * 2 && sampleEntropy(data) > MAX_ENTROPY_BITS) {
      return { codec: Codec.None, payload: data };
    }
    // Output that does not fit in this many bytes would not be worth keeping.
    const room = Math.floor(data.length * (1 - MIN_SAVING));
    if (this.context && zstdCompressBound(data.length) < this.output.length) {
      const length = this.intoBuffer(this.context, data, room);
      if (length === undefined) return { codec: Codec.None, payload: data };
      this.output[0] = Codec.Zstd;
      return {
        codec: Codec.Zstd,
        payload: this.output.subarray(1, 1 + length),
        framed: this.output.subarray(0, 1 + length),
      };
    }
    const packed = zstdCompressSync(data, { params: this.params });
    return packed.length <= room
      ? { codec: Codec.Zstd, payload: packed }
      : { codec: Codec.None, payload: data };
  }

  /** Compresses into the output buffer after the codec byte; undefined if it needs over `room`. */
  private intoBuffer(context: ZstdContext, data: Buffer, room: number): number | undefined {
    const run = context.run(data, this.output, 1, zstdCompressBound(data.length));
    if (!run) {
      this.context = zstdContext(createZstdCompress({ params: this.params })); // Node closed the failed one
      throw new Error("zstd failed to compress a block");
    }
    // With the bound as room the frame always ends; input left over would mean it did not, and
    // the next block must start a clean frame.
    if (run.inputLeft !== 0) {
      context.reset();
      return undefined;
    }
    return run.produced <= room ? run.produced : undefined;
  }
}
