/**
 * Reads the worker threads do themselves, from local files: a source image's bytes on backup,
 * a pack's range on restore. Reading where the bytes are hashed or decrypted next keeps them in
 * the CPU's caches and spares the main thread a copy and a transfer.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { IntegrityError, SourceError } from "../../errors.ts";
import { sourceErrorFromFs } from "../../util/source-fs-errors.ts";
import type { ObjectFileRange, SourceRead } from "./worker-protocol.ts";

/**
 * Fills `data` from a source's local file at `read.offset` (see the `LocalFile` capability): all of
 * it, or only `read.parts` with zeros around them.
 */
export function readSource(read: SourceRead, data: Buffer): void {
  if (!read.parts) {
    readSpan(read, data, read.offset);
    return;
  }
  data.fill(0);
  for (const p of read.parts) {
    readSpan(read, data.subarray(p.offset, p.offset + p.length), read.offset + p.offset);
  }
}

/** Fills `data` from the source file at `offset`. */
function readSpan(read: SourceRead, data: Buffer, offset: number): void {
  let done = 0;
  while (done < data.length) {
    let n: number;
    try {
      n = readSync(read.fd, data, done, data.length - done, offset + done);
    } catch (err) {
      throw sourceErrorFromFs(err, read.source, "read image");
    }
    if (n === 0) {
      throw new SourceError(`image ${read.source} ended at ${offset + done} bytes: it shrank while open`);
    }
    done += n;
  }
}

/** The buffer object ranges are read into, kept across messages so a restore allocates it once. */
let readBuffer = Buffer.alloc(0);

/**
 * Reads a range of an object from its local file into the worker's read buffer (valid until the
 * next call). As the object store's `get` would: a missing file is a missing object, a short one
 * is corruption; both are {@link IntegrityError}s naming the object.
 */
export function readObjectRange(range: ObjectFileRange): Buffer {
  if (readBuffer.length < range.length) readBuffer = Buffer.allocUnsafeSlow(range.length);
  let fd: number;
  try {
    fd = openSync(range.path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new IntegrityError(`${range.key} is missing from the vault`, { cause: err });
    }
    throw err;
  }
  try {
    let done = 0;
    while (done < range.length) {
      const n = readSync(fd, readBuffer, done, range.length - done, range.offset + done);
      if (n === 0)
        throw new IntegrityError(`get object ${range.key}: object ended after ${range.offset + done} bytes`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return readBuffer.subarray(0, range.length);
}
