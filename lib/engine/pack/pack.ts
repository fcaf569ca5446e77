import { randomBytes } from "node:crypto";
import { IntegrityError } from "../../errors.ts";

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

/** A finished pack: its bytes (a view of the builder's buffer), its random name and its blobs. */
export interface FinishedPack {
  readonly id: string;
  readonly bytes: Buffer;
  readonly blobs: PackedBlob[];
}

/**
 * Collects sealed blobs into one pack object, writing them straight into one reusable buffer. A
 * pack is `blobs ‖ trailer ‖ trailer length (u32 LE) ‖ magic`; the trailer (binary) repeats what
 * the index says about the pack, so a lost index can be rebuilt from the packs alone. Packs are
 * named by 256 random bits: every blob is authenticated on its own, so a content hash of the
 * whole pack would cost a full extra pass over the data and verify nothing more.
 */
export class PackBuilder {
  private buffer: Buffer;
  private blobs: PackedBlob[] = [];
  private bytes = 0;

  /** Starts a pack in `buffer` (its whole length is usable). */
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Bytes of blobs added so far. */
  get size(): number {
    return this.bytes;
  }

  /** Number of blobs added so far. */
  get count(): number {
    return this.blobs.length;
  }

  /** Room left for blobs before the buffer is full. */
  get room(): number {
    return this.buffer.length - this.bytes;
  }

  /** Reserves `length` bytes for the next blob and returns them to be written in place. */
  reserve(id: string, length: number, rawLength: number): Buffer {
    if (length > this.room) this.grow(this.bytes + length);
    this.blobs.push({ id, offset: this.bytes, length, rawLength });
    const view = this.buffer.subarray(this.bytes, this.bytes + length);
    this.bytes += length;
    return view;
  }

  /** Appends a sealed blob by copying it. */
  add(id: string, sealed: Uint8Array, rawLength: number): void {
    this.reserve(id, sealed.length, rawLength).set(sealed);
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(bigger, 0, 0, this.bytes);
    this.buffer = bigger;
  }

  /**
   * Appends the trailer and footer, names the pack, and returns it. The returned bytes are a
   * view of this builder's buffer; call {@link reset} only once they are no longer needed.
   */
  finish(key: WrappedKeyRef): FinishedPack {
    const tail = encodePackTail(key, this.blobs);
    const total = this.bytes + tail.length;
    if (total > this.buffer.length) this.grow(total);
    tail.copy(this.buffer, this.bytes);
    const bytes = this.buffer.subarray(0, total);
    return { id: newPackId(), bytes, blobs: this.blobs };
  }

  /** Starts a new, empty pack in `buffer` (a recycled one, or the same). */
  reset(buffer: Buffer): void {
    this.buffer = buffer;
    this.blobs = [];
    this.bytes = 0;
  }
}

/** A fresh pack name: 256 random bits, hex. */
export function newPackId(): string {
  return randomBytes(32).toString("hex");
}

/** What follows a pack's blobs: the trailer describing them, its length (u32 LE) and the magic. */
export function encodePackTail(key: WrappedKeyRef, blobs: readonly PackedBlob[]): Buffer {
  const trailer = encodeTrailer(key, blobs);
  const tail = Buffer.allocUnsafe(trailer.length + FOOTER_BYTES);
  trailer.copy(tail);
  tail.writeUInt32LE(trailer.length, trailer.length);
  MAGIC.copy(tail, trailer.length + 4);
  return tail;
}

const TRAILER_MAGIC = Buffer.from("BVTR\x01");
const ENTRY_BYTES = 32 + 4 + 4;

/**
 * The trailer, binary: magic, the wrapped key and master key id (each u16-length-prefixed), the
 * blob count (u32), then per blob its ID (32 bytes), length and raw length (u32 each). Blobs sit
 * back to back from offset 0, so offsets are implied.
 */
function encodeTrailer(key: WrappedKeyRef, blobs: readonly PackedBlob[]): Buffer {
  const wrapped = Buffer.from(key.wrapped, "base64");
  const keyId = Buffer.from(key.masterKeyId, "utf8");
  const out = Buffer.alloc(
    TRAILER_MAGIC.length + 2 + wrapped.length + 2 + keyId.length + 4 + blobs.length * ENTRY_BYTES,
  );
  let at = TRAILER_MAGIC.copy(out, 0);
  at = out.writeUInt16LE(wrapped.length, at);
  at += wrapped.copy(out, at);
  at = out.writeUInt16LE(keyId.length, at);
  at += keyId.copy(out, at);
  at = out.writeUInt32LE(blobs.length, at);
  for (const b of blobs) {
    at += out.write(b.id, at, "hex");
    at = out.writeUInt32LE(b.length, at);
    at = out.writeUInt32LE(b.rawLength, at);
  }
  return out;
}

function decodeTrailer(
  packId: string,
  trailer: Buffer,
  blobsEnd: number,
): { key: WrappedKeyRef; blobs: PackedBlob[] } {
  const malformed = () => new IntegrityError(`pack ${packId}: malformed trailer`);
  if (!trailer.subarray(0, TRAILER_MAGIC.length).equals(TRAILER_MAGIC)) throw malformed();
  try {
    let at = TRAILER_MAGIC.length;
    const wrappedLength = trailer.readUInt16LE(at);
    const wrapped = trailer.subarray(at + 2, at + 2 + wrappedLength).toString("base64");
    at += 2 + wrappedLength;
    const keyIdLength = trailer.readUInt16LE(at);
    const masterKeyId = trailer.toString("utf8", at + 2, at + 2 + keyIdLength);
    at += 2 + keyIdLength;
    const count = trailer.readUInt32LE(at);
    at += 4;
    if (trailer.length !== at + count * ENTRY_BYTES) throw malformed();
    const blobs: PackedBlob[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++, at += ENTRY_BYTES) {
      const length = trailer.readUInt32LE(at + 32);
      blobs.push({
        id: trailer.toString("hex", at, at + 32),
        offset,
        length,
        rawLength: trailer.readUInt32LE(at + 36),
      });
      offset += length;
    }
    // Blobs fill the pack exactly up to the trailer: anything else is corruption.
    if (offset !== blobsEnd || blobs.some((b) => b.length === 0)) throw malformed();
    return { key: { wrapped, masterKeyId }, blobs };
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(`pack ${packId}: unreadable trailer`, { cause: err });
  }
}

/** Reads the trailer of a whole pack (used to rebuild an index and by `check`). */
export function readPackTrailer(packId: string, bytes: Buffer): { key: WrappedKeyRef; blobs: PackedBlob[] } {
  if (bytes.length < FOOTER_BYTES || !bytes.subarray(bytes.length - MAGIC.length).equals(MAGIC)) {
    throw new IntegrityError(`pack ${packId}: missing pack footer (truncated or not a pack)`);
  }
  const trailerLength = bytes.readUInt32LE(bytes.length - FOOTER_BYTES);
  const start = bytes.length - FOOTER_BYTES - trailerLength;
  if (start < 0) throw new IntegrityError(`pack ${packId}: trailer length out of range`);
  return decodeTrailer(packId, bytes.subarray(start, bytes.length - FOOTER_BYTES), start);
}
