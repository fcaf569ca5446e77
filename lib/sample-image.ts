import { createCipheriv, createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { ValidationError } from "./errors.ts";

/**
 * Deterministic synthetic disk images for the demo, benchmarks and tests. The mix (holes,
 * incompressible data, compressible text) exercises sparse detection, compression and dedup the
 * way a real VM disk does, and the same seed always yields the same bytes.
 */

/** Images are planned in extents of this size; the last one may be partial. */
export const SAMPLE_EXTENT_SIZE = 4 * 1024 * 1024;
/** Page size {@link mutateImage} rewrites in, like a guest's page-cache writeback. */
export const SAMPLE_PAGE_SIZE = 4096;

/** What an extent of a sample image holds. */
export const ExtentKind = { Hole: "hole", Random: "random", Text: "text" } as const;
export type ExtentKind = (typeof ExtentKind)[keyof typeof ExtentKind];

const WORDS =
  "kernel systemd journal GET /index.html 200 user ERROR INFO postgres checkpoint vacuum nginx upstream ssh cron".split(
    " ",
  );
const WORDS_PER_LINE = 12;
/** Room past the end of a text buffer for the line that crosses it (longest line: 155 bytes). */
const TEXT_SLACK = 256;
/**
 * Each word plus its trailing space, as three little-endian 32-bit chunks (zero-padded to 12
 * bytes): writing words a chunk at a time is several times faster than byte by byte, which
 * matters when gigabytes of text are generated.
 */
const WORD_CHUNKS = new Uint32Array(WORDS.length * 3);
const WORD_LENGTHS = new Uint8Array(WORDS.length);
for (const [i, w] of WORDS.entries()) {
  const padded = Buffer.alloc(12);
  padded.write(`${w} `, "latin1");
  for (let j = 0; j < 3; j++) WORD_CHUNKS[i * 3 + j] = padded.readUInt32LE(j * 4);
  WORD_LENGTHS[i] = w.length + 1;
}
const MAX_RUN_PAGES = 64;
/** Up to this many extent writes in flight, so generating the next overlaps writing the last. */
const WRITES_IN_FLIGHT = 4;

/** 32 bytes of key material for one purpose ("domain") of one seed. */
function derive(seed: number, domain: string): Buffer {
  return createHash("sha256").update(`blockvault-sample/${domain}/${seed}`).digest();
}

/** xoshiro128**: small, fast, and plenty random for choosing extents and words. */
function xoshiro128(key: Buffer): () => number {
  let a = key.readUInt32LE(0) | 1; // an all-zero state would be stuck at zero
  let b = key.readUInt32LE(4);
  let c = key.readUInt32LE(8);
  let d = key.readUInt32LE(12);
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * An AES-128-CTR keystream whose byte at position p is a function of (seed, domain, p) only:
 * native speed (GB/s), and any extent can be generated independently of the others.
 */
function keystream(seed: number, domain: string, position: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(position / 16), 8); // position is always 16-aligned here
  const cipher = createCipheriv("aes-128-ctr", derive(seed, domain).subarray(0, 16), iv);
  return cipher.update(Buffer.alloc(length));
}

/** The kind of every extent of a `sizeBytes` image made from `seed`: 40 % hole, 30 % each else. */
export function planSampleImage(sizeBytes: number, seed: number): ExtentKind[] {
  checkArgs(sizeBytes, seed);
  const next = xoshiro128(derive(seed, "plan"));
  const kinds: ExtentKind[] = [];
  for (let off = 0; off < sizeBytes; off += SAMPLE_EXTENT_SIZE) {
    const r = next() / 2 ** 32;
    kinds.push(r < 0.4 ? ExtentKind.Hole : r < 0.7 ? ExtentKind.Random : ExtentKind.Text);
  }
  return kinds;
}

/** Log-like text: lines of 12 words, a random 32-bit decimal number and a newline. */
function textExtent(seed: number, index: number, length: number): Buffer {
  const next = xoshiro128(derive(seed, `text/${index}`));
  const ab = new ArrayBuffer(length + TEXT_SLACK);
  const view = new DataView(ab);
  const bytes = new Uint8Array(ab);
  let pos = 0;
  while (pos < length) {
    // 4 bits choose one of the 16 words; two draws cover the 12 words of a line.
    let bits = next();
    for (let w = 0; w < WORDS_PER_LINE; w++) {
      if (w === 8) bits = next();
      const k = bits & 15;
      bits >>>= 4;
      // Chunks past the word's end are overwritten by what follows (or fall in the slack).
      view.setUint32(pos, WORD_CHUNKS[k * 3]!, true);
      view.setUint32(pos + 4, WORD_CHUNKS[k * 3 + 1]!, true);
      view.setUint32(pos + 8, WORD_CHUNKS[k * 3 + 2]!, true);
      pos += WORD_LENGTHS[k]!;
    }
    let n = next();
    let div = 1e9;
    while (div > n && div > 1) div /= 10;
    for (; div >= 1; div /= 10) {
      const digit = Math.floor(n / div);
      bytes[pos++] = 48 + digit;
      n -= digit * div;
    }
    bytes[pos++] = 10;
  }
  return Buffer.from(ab, 0, length);
}

async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

function checkArgs(sizeBytes: number, seed: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new ValidationError(`sample image size must be a non-negative integer, got ${sizeBytes}`);
  }
  if (!Number.isFinite(seed))
    throw new ValidationError(`sample image seed must be a finite number, got ${seed}`);
}

/**
 * Writes a deterministic sample disk image of `sizeBytes` at `path` (replacing any file there).
 * Hole extents are never written, so the file is sparse where the filesystem supports it.
 */
export async function createSampleImage(path: string, sizeBytes: number, seed: number): Promise<void> {
  const kinds = planSampleImage(sizeBytes, seed);
  const handle = await open(path, "w");
  try {
    await handle.truncate(sizeBytes);
    const inFlight: Promise<void>[] = [];
    for (const [i, kind] of kinds.entries()) {
      if (kind === ExtentKind.Hole) continue;
      const offset = i * SAMPLE_EXTENT_SIZE;
      const length = Math.min(SAMPLE_EXTENT_SIZE, sizeBytes - offset);
      const data =
        kind === ExtentKind.Random ? keystream(seed, "random", offset, length) : textExtent(seed, i, length);
      inFlight.push(writeFully(handle, data, offset));
      if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await handle.close();
  }
}

/**
 * Overwrites `percent` % of the image's 4 KiB pages (rounded to whole pages; a partial last page
 * counts as one) with random bytes, in runs of 1–64 pages at random page offsets, the way a
 * guest's writes land. Deterministic for a given image and seed; the file size never changes.
 *
 * @returns the number of distinct pages rewritten.
 */
export async function mutateImage(
  path: string,
  percent: number,
  seed: number,
): Promise<{ pagesChanged: number }> {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new ValidationError(`percent must be between 0 and 100, got ${percent}`);
  }
  checkArgs(0, seed);
  const handle = await open(path, "r+");
  try {
    const size = (await handle.stat()).size;
    const pages = Math.ceil(size / SAMPLE_PAGE_SIZE);
    const target = Math.round((pages * percent) / 100);
    const changed = new Uint8Array(pages);
    const next = xoshiro128(derive(seed, "mutate"));
    let count = 0;
    let streamPos = 0;
    while (count < target) {
      let start = Math.floor((next() / 2 ** 32) * pages);
      // Start on a page not yet rewritten so every run makes progress, even near 100 %.
      while (changed[start]) start = (start + 1) % pages;
      const run = Math.min(1 + (next() % MAX_RUN_PAGES), target - count, pages - start);
      const offset = start * SAMPLE_PAGE_SIZE;
      const length = Math.min(run * SAMPLE_PAGE_SIZE, size - offset);
      await writeFully(handle, keystream(seed, "mutate", streamPos, length), offset);
      streamPos += run * SAMPLE_PAGE_SIZE;
      for (let p = start; p < start + run; p++) {
        if (!changed[p]) {
          changed[p] = 1;
          count++;
        }
      }
    }
    return { pagesChanged: count };
  } finally {
    await handle.close();
  }
}
