import { closeSync, openSync, unlinkSync, writevSync } from "node:fs";
import path from "node:path";
import { encodePackTail, newPackId, type PackedBlob, type WrappedKeyRef } from "./pack.ts";

/**
 * A pack written straight into a file of a staging area (see `StagingArea`) as its blobs are
 * sealed, in the same format as a {@link PackBuilder}'s. Why not a buffer: copying every sealed
 * blob into an 8 MiB pack buffer, and the buffer into a file later, cost a 2 GiB backup about half
 * a CPU-second, the copies missing the cache; here the sealed bytes reach the kernel while they are
 * still in cache, and nothing else touches them.
 */
export class PackFile {
  /** The pack's name, which is also the file's name in the staging directory. */
  readonly id: string;
  private readonly path: string;
  private fd: number | undefined;
  private readonly blobs: PackedBlob[] = [];
  private bytes = 0;

  /** Creates the file (exclusively) in `directory`. */
  constructor(directory: string) {
    this.id = newPackId();
    this.path = path.join(directory, this.id);
    this.fd = openSync(this.path, "wx");
  }

  /** Bytes of blobs added so far. */
  get size(): number {
    return this.bytes;
  }

  /** Number of blobs added so far. */
  get count(): number {
    return this.blobs.length;
  }

  /** Appends one sealed blob, given as the pieces it was sealed in, in order. */
  append(id: string, pieces: readonly Buffer[], rawLength: number): void {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    writeAll(this.openFd(), pieces, length);
    this.blobs.push({ id, offset: this.bytes, length, rawLength });
    this.bytes += length;
  }

  /** Writes the trailer and footer and closes the file; returns the pack's length and blobs. */
  finish(key: WrappedKeyRef): { id: string; length: number; blobs: PackedBlob[] } {
    const tail = encodePackTail(key, this.blobs);
    const fd = this.openFd();
    writeAll(fd, [tail], tail.length);
    this.fd = undefined;
    closeSync(fd);
    return { id: this.id, length: this.bytes + tail.length, blobs: this.blobs };
  }

  /** Closes (if open) and removes the file: a pack that will not be stored. Never throws. */
  discard(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      try {
        closeSync(fd);
      } catch {}
    }
    try {
      unlinkSync(this.path);
    } catch {}
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`pack file ${this.id} is already closed`);
    return this.fd;
  }
}

/** Writes all `length` bytes of `pieces` at the file's position, resuming after short writes. */
function writeAll(fd: number, pieces: readonly Buffer[], length: number): void {
  let rest: readonly Buffer[] = pieces;
  for (let written = 0; written < length; ) {
    const n = writevSync(fd, rest as Buffer[]);
    if (n <= 0) throw new Error(`pack file write made no progress (${written} of ${length} bytes)`);
    written += n;
    if (written < length) rest = remainingPieces(rest, n);
  }
}

/** The pieces left after the first `n` bytes of `pieces` (where a short write stopped). */
export function remainingPieces(pieces: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const p of pieces) {
    if (skip >= p.length) skip -= p.length;
    else {
      out.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return out;
}
