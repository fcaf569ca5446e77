import { randomUUID } from "node:crypto";
import { close, closeSync, constants, ftruncate, openSync, unlinkSync, write, writeSync } from "node:fs";
import path from "node:path";
import { writePieces } from "./write-pieces.ts";

/**
 * Offsets, lengths and buffer addresses of uncached (`O_DIRECT`) I/O must be multiples of the
 * device's logical block size: 4 KiB covers the devices in use (512 B or 4 KiB sectors).
 */
export const DIRECT_ALIGNMENT = 4096;
/** Bytes per write: big enough for few requests, small enough that several stay in flight. */
const SEGMENT_BYTES = 1024 * 1024;
/** Segments per thread: the one filling plus the background writes in flight. */
const SEGMENTS = 16;
const WASM_PAGE = 65536;

/** WebAssembly memories start on a page boundary: the aligned memory uncached writes need. */
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
  }
).WebAssembly.Memory;

/** This thread's segments not being filled or written (allocated on first use, then reused). */
const freeSegments: Buffer[] = [];
/** This thread's background writes in flight, across files. */
let writesInFlight = 0;

function takeSegment(): Buffer {
  return freeSegments.pop() ?? Buffer.from(new WasmMemory({ initial: SEGMENT_BYTES / WASM_PAGE }).buffer);
}

/** Directories already probed, with the answer. */
const probed = new Map<string, boolean>();

/**
 * Whether files in `directory` can be written uncached: some filesystems (tmpfs, some network
 * ones) refuse `O_DIRECT` or its alignment. Probed once per directory with a small file.
 */
export function uncachedWritesWork(directory: string): boolean {
  const known = probed.get(directory);
  if (known !== undefined) return known;
  const probe = path.join(directory, `.direct-probe-${randomUUID()}`);
  let works = false;
  let fd: number | undefined;
  try {
    fd = openSync(probe, createFlags(true), PRIVATE_FILE);
    const segment = takeSegment();
    segment.fill(0, 0, DIRECT_ALIGNMENT);
    works = writeSync(fd, segment, 0, DIRECT_ALIGNMENT, 0) === DIRECT_ALIGNMENT;
    freeSegments.push(segment);
  } catch {
    works = false;
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(probe);
    } catch {}
  }
  probed.set(directory, works);
  return works;
}

/** A staged pack is its owner's only: the store makes it read-only when it becomes an object. */
const PRIVATE_FILE = 0o600;

function createFlags(uncached: boolean): number {
  return constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (uncached ? constants.O_DIRECT : 0);
}

/**
 * Appends to a new file in aligned 1 MiB segments written in the background, uncached where the
 * filesystem allows (`O_DIRECT`; see {@link uncachedWritesWork}).
 *
 * Why uncached: a backup writes as much pack data as it stores (0.88 GB for the benchmark's 2 GiB
 * image), and through the page cache every byte is copied again, gets a cache page, buffer heads
 * and delayed-allocation bookkeeping, and is written back later: ~0.16-0.3 CPU-seconds of a 2 GiB
 * backup's ~4.4 (A/B, 8 runs a side), more when the host is slow to hand out memory. Uncached
 * writes go from the process's memory to the device, and backup data, written once and not read
 * back soon, does not push the host's working set out of the cache.
 *
 * Bytes are gathered into segments (one copy, of bytes still in the CPU's cache) and each full
 * segment is written while the caller goes on. Writing them one by one instead blocked the
 * workers on the device; enough segments per thread keep nearly every write in the background
 * (the count is measured in docs/design.md, "Measured choices"). When
 * every segment is in flight, the next is written synchronously, pacing the caller to the device.
 */
export class AlignedAppender {
  private readonly fd: number;
  private segment: Buffer | undefined;
  private filled = 0;
  /** File offset of the segment being filled. */
  private position = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  /** Set once finishing or aborting began: nothing more may be appended. */
  private ended = false;
  private closed = false;

  /** Creates `file` exclusively (it must not exist); `uncached`: with `O_DIRECT`. */
  constructor(file: string, uncached: boolean) {
    this.fd = openSync(file, createFlags(uncached), PRIVATE_FILE);
  }

  /** Appends `pieces`, in order. Throws if an earlier background write failed. */
  append(pieces: readonly Buffer[]): void {
    if (this.ended) throw new Error("the file is already closed");
    if (this.failure) throw this.failure;
    for (const piece of pieces) {
      let at = 0;
      while (at < piece.length) {
        this.segment ??= takeSegment();
        const copied = piece.copy(this.segment, this.filled, at);
        at += copied;
        this.filled += copied;
        if (this.filled === this.segment.length) this.submit(this.filled);
      }
    }
  }

  /**
   * Writes what is left, waits for every write, cuts the file to `length` (the last write was
   * padded to the alignment) and closes it.
   */
  async finish(length: number): Promise<void> {
    if (this.ended) throw new Error("the file is already closed");
    this.ended = true;
    if (this.segment && this.filled > 0) {
      const padded = Math.ceil(this.filled / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
      this.segment.fill(0, this.filled, padded);
      this.submit(padded);
    }
    await this.settle();
    try {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve, reject) =>
        ftruncate(this.fd, length, (e) => (e ? reject(e) : resolve())),
      );
    } finally {
      await this.close();
    }
  }

  /** Waits for the writes in flight and closes the file (its name is the caller's to remove). */
  async abort(): Promise<void> {
    this.ended = true;
    await this.settle();
    await this.close();
  }

  /** Writes the first `length` bytes of the segment at the current position. */
  private submit(length: number): void {
    const segment = this.segment!;
    const position = this.position;
    this.segment = undefined;
    this.filled = 0;
    this.position += length;
    if (writesInFlight >= SEGMENTS - 1) {
      // Every segment is in flight: this one is written now, which paces the caller.
      writePieces(this.fd, [segment.subarray(0, length)], position);
      freeSegments.push(segment);
      return;
    }
    writesInFlight++;
    const done: Promise<void> = writeInBackground(this.fd, segment, length, position)
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => {
        writesInFlight--;
        freeSegments.push(segment);
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.segment) {
      freeSegments.push(this.segment);
      this.segment = undefined;
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => close(this.fd, (e) => (e ? reject(e) : resolve())));
  }
}

function writeInBackground(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (done: number) => {
      if (done === length) return resolve();
      write(fd, buffer, done, length - done, position + done, (err, n) => {
        if (err) reject(err);
        else if (n === 0) reject(new Error(`writing at offset ${position + done} made no progress`));
        else next(done + n);
      });
    };
    next(0);
  });
}
