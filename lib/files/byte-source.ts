import { ValidationError } from "../errors.ts";

/**
 * Random access to a run of bytes: a whole recovery point (a PointReader is one), a partition
 * inside it, or a logical volume mapped onto one. Partition tables, volume managers and file
 * systems read only through this, so they fetch just the blocks they touch.
 */
export interface ByteSource {
  /** What the bytes are, for error messages ("recovery point P", "partition 2 of …"). */
  readonly name: string;
  readonly size: number;
  /** The `length` bytes at `offset`; the range lies inside `[0, size)`. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** One run of a {@link ByteSource}: `length` bytes of `parent` from `offset`. */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

/**
 * The bytes of `parent` that `extents` cover, in order, as one source (a partition is one
 * extent, a logical volume one per segment). Reads outside the joined size are refused.
 */
export function sliceSource(parent: ByteSource, name: string, extents: readonly Extent[]): ByteSource {
  for (const e of extents) {
    if (e.offset < 0 || e.length < 0 || e.offset + e.length > parent.size) {
      throw new ValidationError(
        `${name}: bytes ${e.offset}+${e.length} lie outside ${parent.name} (0-${parent.size})`,
      );
    }
  }
  const size = extents.reduce((sum, e) => sum + e.length, 0);
  return {
    name,
    size,
    async read(offset, length) {
      if (
        !Number.isSafeInteger(offset) ||
        !Number.isSafeInteger(length) ||
        offset < 0 ||
        offset + length > size
      ) {
        throw new ValidationError(`read of ${name}: bytes ${offset}+${length} are outside it (0-${size})`);
      }
      const pieces: Buffer[] = [];
      let at = 0;
      for (const e of extents) {
        const from = Math.max(offset, at);
        const to = Math.min(offset + length, at + e.length);
        if (from < to) pieces.push(await parent.read(e.offset + from - at, to - from));
        at += e.length;
      }
      return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length);
    },
  };
}

/** The bytes at `offset`, or fewer when the source ends first (probing for signatures). */
export async function readUpTo(source: ByteSource, offset: number, length: number): Promise<Buffer> {
  if (offset >= source.size) return Buffer.alloc(0);
  return source.read(offset, Math.min(length, source.size - offset));
}
