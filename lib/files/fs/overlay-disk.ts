import { DiskFormatError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";

/** Bytes of writes a mount may keep: access-time updates of a few inodes, never file data. */
const MAX_OVERLAY_BYTES = 16 * 1024 * 1024;

/**
 * A disk in the shape libext2fs's binding wants (node `fs.read`-style), over a read-only source.
 * libext2fs opens its file system writable and updates access times as it reads; those writes land
 * in an in-memory overlay that later reads see, so the recovery point is never written and the
 * library stays consistent. Reads past the end of the source read zeros, as a device would.
 */
export class OverlayDisk {
  readonly #source: ByteSource;
  readonly #writes = new Map<number, Buffer>();
  #overlayBytes = 0;
  /** Bytes read from the source, for tests and the bench. */
  bytesRead = 0;

  constructor(source: ByteSource) {
    this.#source = source;
  }

  async read(buffer: Buffer, bufferOffset: number, length: number, position: number) {
    const end = Math.min(position + length, this.#source.size);
    const bytes = end > position ? await this.#source.read(position, end - position) : Buffer.alloc(0);
    this.bytesRead += bytes.length;
    buffer.fill(0, bufferOffset, bufferOffset + length);
    bytes.copy(buffer, bufferOffset);
    for (const [at, data] of this.#writes) {
      const from = Math.max(at, position);
      const to = Math.min(at + data.length, position + length);
      if (from < to) data.copy(buffer, bufferOffset + from - position, from - at, to - at);
    }
    return { bytesRead: length, buffer };
  }

  async write(buffer: Buffer, bufferOffset: number, length: number, position: number) {
    const previous = this.#writes.get(position);
    if (!previous || previous.length !== length) {
      this.#overlayBytes += length - (previous?.length ?? 0);
      if (this.#overlayBytes > MAX_OVERLAY_BYTES) {
        throw new DiskFormatError(
          `${this.#source.name}: the file system library wrote more than it may while reading`,
        );
      }
    }
    // A later write must win over an earlier overlapping one: re-insertion orders them.
    this.#writes.delete(position);
    this.#writes.set(position, Buffer.from(buffer.subarray(bufferOffset, bufferOffset + length)));
    return { bytesWritten: length, buffer };
  }

  async flush(): Promise<void> {}

  async discard(): Promise<void> {}
}
