import fc from "fast-check";
import { isZero, seededBytes, seededText, sha256 } from "./image-bytes.ts";

/** One stretch of a generated image. `repeat` copies earlier content `back` blocks behind. */
export interface ImageRun {
  readonly kind: "zero" | "random" | "text" | "repeat";
  readonly length: number;
  readonly seed: number;
  readonly back: number;
}

/**
 * One change between two recovery points; positions are fractions of the image so a mutation
 * fits whatever size fast-check picked.
 */
export type Mutation =
  | { readonly op: "random"; readonly at: number; readonly length: number; readonly seed: number }
  | { readonly op: "zero"; readonly at: number; readonly length: number }
  | { readonly op: "fillHole"; readonly which: number; readonly length: number; readonly seed: number }
  | { readonly op: "copyBlock"; readonly from: number; readonly to: number }
  | { readonly op: "flip"; readonly at: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Sizes from 1 byte to about `max`, skewed small, never a multiple of `blockSize`. */
export function sizeArb(blockSize: number, max: number): fc.Arbitrary<number> {
  return fc
    .oneof(
      { arbitrary: fc.integer({ min: 1, max: 3 * blockSize }), weight: 2 },
      { arbitrary: fc.integer({ min: 3 * blockSize, max: max / 8 }), weight: 4 },
      { arbitrary: fc.integer({ min: max / 8, max }), weight: 2 },
    )
    .map((n) => (n % blockSize === 0 ? n - 1 : n));
}

export const runArb: fc.Arbitrary<ImageRun> = fc.record({
  kind: fc.constantFrom("zero", "random", "text", "repeat"),
  length: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 20_000, max: 600_000 })),
  seed: fc.integer(),
  back: fc.integer({ min: 1, max: 40 }),
});

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("random"),
    at: fraction,
    length: fc.integer({ min: 1, max: 50_000 }),
    seed: fc.integer(),
  }),
  fc.record({ op: fc.constant("zero"), at: fraction, length: fc.integer({ min: 1, max: 50_000 }) }),
  fc.record({
    op: fc.constant("fillHole"),
    which: fc.nat(),
    length: fc.integer({ min: 1, max: 8192 }),
    seed: fc.integer(),
  }),
  fc.record({ op: fc.constant("copyBlock"), from: fraction, to: fraction }),
  fc.record({ op: fc.constant("flip"), at: fraction }),
);

/** Builds an image of `size` bytes from runs laid end to end; what they leave uncovered is zero. */
export function buildImage(size: number, runs: readonly ImageRun[], blockSize: number): Buffer {
  const img = Buffer.alloc(size);
  let pos = 0;
  for (const run of runs) {
    if (pos >= size) break;
    const len = Math.min(run.length, size - pos);
    if (run.kind === "random") seededBytes(run.seed, len).copy(img, pos);
    else if (run.kind === "text" || (run.kind === "repeat" && pos < blockSize))
      seededText(run.seed, len).copy(img, pos);
    else if (run.kind === "repeat") {
      // Copying from a whole number of blocks back keeps block alignment: the copied blocks
      // equal earlier blocks, which is what dedup within an image needs.
      const period = Math.min(run.back, Math.floor(pos / blockSize)) * blockSize;
      for (let off = 0; off < len; off += period) {
        const chunk = Math.min(period, len - off);
        img.copy(img, pos + off, pos + off - period, pos + off - period + chunk);
      }
    }
    pos += len;
  }
  return img;
}

/** Applies mutations to a copy of `image`. */
export function mutate(image: Buffer, mutations: readonly Mutation[], blockSize: number): Buffer {
  const img = Buffer.from(image);
  const size = img.length;
  const blocks = Math.ceil(size / blockSize);
  const blockAt = (b: number) => img.subarray(b * blockSize, Math.min(size, (b + 1) * blockSize));
  for (const m of mutations) {
    if (m.op === "random") {
      const at = Math.floor(m.at * size);
      seededBytes(m.seed, Math.min(m.length, size - at)).copy(img, at);
    } else if (m.op === "zero") {
      const at = Math.floor(m.at * size);
      img.fill(0, at, Math.min(size, at + m.length));
    } else if (m.op === "fillHole") {
      const holes = Array.from({ length: blocks }, (_, b) => b).filter((b) => isZero(blockAt(b)));
      if (holes.length === 0) continue;
      const hole = blockAt(holes[m.which % holes.length]!);
      seededBytes(m.seed, Math.min(m.length, hole.length)).copy(hole);
    } else if (m.op === "copyBlock") {
      const from = Buffer.from(blockAt(Math.floor(m.from * blocks)));
      const to = blockAt(Math.floor(m.to * blocks));
      from.copy(to, 0, 0, Math.min(from.length, to.length));
    } else {
      img[Math.floor(m.at * size)]! ^= 0x5a;
    }
  }
  return img;
}

/** Each block's content key: `"hole"` for all-zero blocks, else the SHA-256 of its bytes. */
export function blockKeys(image: Buffer, blockSize: number): string[] {
  const keys: string[] = [];
  for (let at = 0; at < image.length; at += blockSize) {
    const block = image.subarray(at, Math.min(image.length, at + blockSize));
    keys.push(isZero(block) ? "hole" : sha256(block));
  }
  return keys;
}

/** What a backup of `image` must report, given its parent's image and the blocks already stored. */
export function expectedStats(
  image: Buffer,
  parent: Buffer | undefined,
  stored: Set<string>,
  blockSize: number,
): { blocksNew: number; bytesChanged: number } {
  const keys = blockKeys(image, blockSize);
  const before = parent ? blockKeys(parent, blockSize) : undefined;
  let bytesChanged = 0;
  let blocksNew = 0;
  keys.forEach((key, b) => {
    const length = Math.min(blockSize, image.length - b * blockSize);
    if (before ? before[b] !== key : key !== "hole") bytesChanged += length;
    if (key !== "hole" && !stored.has(key)) {
      stored.add(key);
      blocksNew++;
    }
  });
  return { blocksNew, bytesChanged };
}
