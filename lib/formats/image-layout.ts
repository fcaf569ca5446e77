import { ValidationError } from "../errors.ts";

/**
 * The bytes of an image file as stored (the host file), read at positions. Format readers see
 * only this, so they parse the same whether the file is local or elsewhere.
 */
export interface HostFile {
  /** Size of the host file in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes at `offset`, which the caller keeps within `size`; into `into` (at
   * least that long, a view of it returned) when given, so data lands where it is wanted.
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
}

/**
 * How stored units are compressed. `vmdk-grain`: a VMDK grain marker (sector, then the size of
 * the deflate data that follows it, little-endian) before zlib or raw deflate data.
 */
export const Codec = {
  DeflateRaw: "deflate-raw",
  Zlib: "zlib",
  Zstd: "zstd",
  VmdkGrain: "vmdk-grain",
} as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

/**
 * Where a run of guest bytes comes from. A map of a guest range is a list of these, in order,
 * whose lengths add up to the range.
 */
export type Extent =
  /** Reads as zeros, whatever a backing file holds. */
  | { readonly kind: "zero"; readonly length: number }
  /** Not in this image: the backing file's bytes at the same guest offset, or zeros without one. */
  | { readonly kind: "backing"; readonly length: number }
  /** Stored as is in the host file from `host`. */
  | { readonly kind: "data"; readonly length: number; readonly host: number }
  /**
   * Part of a compressed unit: the `stored` bytes at `host` inflate to `unpacked` bytes, of which
   * this extent is the `length` bytes from `skip`.
   */
  | {
      readonly kind: "compressed";
      readonly length: number;
      readonly host: number;
      readonly stored: number;
      readonly unpacked: number;
      readonly skip: number;
      readonly codec: Codec;
    };

/** The image a backing file reference names, as the image's header records it. */
export interface BackingReference {
  /** The file name as stored: relative names are relative to the image's directory. */
  readonly name: string;
  /** The backing file's format if the image says it (`raw`, `qcow2`, …). */
  readonly format?: string;
}

/**
 * A disk image format read as the guest sees it: the virtual disk's size and, for any guest
 * range, where its bytes are. Parsing the format's headers is done by whoever builds it.
 */
export interface ImageLayout {
  /** The format, for the record (`qcow2`, `vhdx`, `vhd-dynamic`, …). */
  readonly format: string;
  /** Virtual disk size in bytes. */
  readonly size: number;
  /** The image this one is a difference against, if any. */
  readonly backing?: BackingReference;
  /** Where the guest bytes `[offset, offset + length)` are; the range is within `size`. */
  map(offset: number, length: number): Promise<Extent[]>;
}

/**
 * The error for a bad header or table: one line naming the format and the structure, e.g.
 * `qcow2 header: cluster_bits 40 out of range 9..21`.
 */
export function formatError(format: string, part: string, message: string): ValidationError {
  return new ValidationError(`${format} ${part}: ${message}`);
}

/**
 * Collects extents in guest order, merging each with the one before when they continue each
 * other (zeros after zeros, stored bytes after the bytes just before them), so a map of a
 * mostly contiguous image stays short.
 */
export class ExtentList {
  readonly extents: Extent[] = [];

  /** Appends `extent`, merged into the last one when they continue each other. */
  push(extent: Extent): void {
    if (extent.length <= 0) return;
    const last = this.extents.at(-1);
    const merged = last && mergeExtents(last, extent);
    if (merged) this.extents[this.extents.length - 1] = merged;
    else this.extents.push(extent);
  }
}

function mergeExtents(a: Extent, b: Extent): Extent | undefined {
  const length = a.length + b.length;
  if ((a.kind === "zero" || a.kind === "backing") && a.kind === b.kind) return { kind: a.kind, length };
  if (a.kind === "data" && b.kind === "data" && a.host + a.length === b.host) {
    return { kind: "data", length, host: a.host };
  }
  return undefined;
}

/** Reads a fixed-size structure at `offset`, refusing one the file is too short to hold. */
export async function readStructure(
  file: HostFile,
  offset: number,
  length: number,
  format: string,
  part: string,
): Promise<Buffer> {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > file.size) {
    throw formatError(
      format,
      part,
      `${length} bytes at offset ${offset} lie past the end of the file (${file.size} bytes): truncated or corrupt`,
    );
  }
  return file.read(offset, length);
}

/** `err` with the image it concerns named, when it is a format error that does not name it yet. */
export function namingImage(err: unknown, image: string): unknown {
  if (!(err instanceof ValidationError) || err.message.includes(image)) return err;
  return new ValidationError(`${err.message} (image ${image})`, { cause: err });
}
