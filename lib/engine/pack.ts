import { IntegrityError } from "../errors.ts";

/** Where one sealed blob sits inside a pack. */
export interface PackedBlob {
  /** Block ID, hex. */
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  /** Length of the block before compression and encryption. */
  readonly rawLength: number;
}

/** The wrapped data key the blobs of a pack are sealed with. */
export interface WrappedKeyRef {
  readonly wrapped: string;
  readonly masterKeyId: string;
}

const MAGIC = Buffer.from("BVPACK1\n");
const FOOTER_BYTES = 4 + MAGIC.length;

/**
 * Collects sealed blobs into one pack object. A pack is `blobs ‖ trailer ‖ trailer length (u32
 * LE) ‖ magic`; the trailer (JSON) repeats what the index says about the pack, so a lost index
 * can be rebuilt from the packs alone. Packs are named by the SHA-256 of their bytes.
 */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private readonly blobs: PackedBlob[] = [];
  private bytes = 0;

  /** Bytes of blobs added so far. */
  get size(): number {
    return this.bytes;
  }

  /** Number of blobs added so far. */
  get count(): number {
    return this.blobs.length;
  }

  add(id: string, sealed: Buffer, rawLength: number): void {
    this.blobs.push({ id, offset: this.bytes, length: sealed.length, rawLength });
    this.parts.push(sealed);
    this.bytes += sealed.length;
  }

  /** Serialises the pack; the builder must not be used afterwards. */
  finish(key: WrappedKeyRef): { bytes: Buffer; blobs: PackedBlob[] } {
    const trailer = Buffer.from(JSON.stringify({ v: 1, key, blobs: this.blobs.map(toTuple) }));
    const footer = Buffer.alloc(FOOTER_BYTES);
    footer.writeUInt32LE(trailer.length, 0);
    MAGIC.copy(footer, 4);
    const bytes = Buffer.concat([...this.parts, trailer, footer]);
    return { bytes, blobs: this.blobs };
  }
}

function toTuple(b: PackedBlob): [string, number, number, number] {
  return [b.id, b.offset, b.length, b.rawLength];
}

/** Reads the trailer of a whole pack (used to rebuild an index and by `check`). */
export function readPackTrailer(packId: string, bytes: Buffer): { key: WrappedKeyRef; blobs: PackedBlob[] } {
  if (bytes.length < FOOTER_BYTES || !bytes.subarray(bytes.length - MAGIC.length).equals(MAGIC)) {
    throw new IntegrityError(`pack ${packId}: missing pack footer (truncated or not a pack)`);
  }
  const trailerLength = bytes.readUInt32LE(bytes.length - FOOTER_BYTES);
  const start = bytes.length - FOOTER_BYTES - trailerLength;
  if (start < 0) throw new IntegrityError(`pack ${packId}: trailer length out of range`);
  try {
    const parsed = JSON.parse(bytes.subarray(start, bytes.length - FOOTER_BYTES).toString("utf8"));
    const blobs = (parsed.blobs as [string, number, number, number][]).map(([id, offset, length, rawLength]) => ({
      id,
      offset,
      length,
      rawLength,
    }));
    return { key: parsed.key as WrappedKeyRef, blobs };
  } catch (cause) {
    throw new IntegrityError(`pack ${packId}: unreadable trailer`, { cause });
  }
}
