import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceError } from "../../lib/errors.ts";
import type { VolumeSource } from "../../lib/ports/volume-source.ts";
import { seededBytes } from "../helpers/image-bytes.ts";

/** Disk bytes materialised by an adapter's harness, and how to open sources on them. */
export interface VolumeSourceImage {
  /** What every `description` and error about this image must name (path, S3 URL, snapshot id). */
  readonly name: string;
  /**
   * The logical size the adapter must report: the length of the given bytes, or more when the
   * medium rounds up (a VHD to whole sectors, EBS to whole GiB). Bytes past the given ones read
   * as zeros.
   */
  readonly size: number;
  /** Opens a new source on the image. */
  open(): Promise<VolumeSource>;
  /** Removes the image and whatever the harness made for it. */
  cleanup(): Promise<void>;
}

/** How a contract run obtains images for one adapter. */
export interface VolumeSourceHarness {
  /** Materialises `bytes` as an image the adapter reads (a file, an S3 object, an EBS snapshot). */
  make(bytes: Buffer): Promise<VolumeSourceImage>;
  /** Starts opening an image that does not exist, and says the name its error must carry. */
  openMissing(): { readonly name: string; readonly opening: Promise<VolumeSource> };
  /**
   * Deletes a made image behind the adapter's back. Omitted where the backend cannot (moto keeps
   * EBS snapshots in the EBS backend after EC2 deletes them).
   */
  vanish?(image: VolumeSourceImage): Promise<void>;
}

/** Length of the contract's disk: deliberately not a multiple of 512 or of any block size. */
export const CONTRACT_DISK_LENGTH = 70_001;

/** Zero runs of the contract's disk: the first covers whole 512-byte blocks (holes on EBS). */
const ZERO_RUNS = [
  [20_000, 36_864],
  [60_000, 61_440],
] as const;

/** The disk every contract run exposes: incompressible data around two runs of zeros. */
export function contractDisk(): Buffer {
  const disk = seededBytes(4242, CONTRACT_DISK_LENGTH);
  for (const [from, to] of ZERO_RUNS) disk.fill(0, from, to);
  return disk;
}

/** What `read(offset, length)` must return from `bytes` zero-padded to `size`. */
export function expectedRead(bytes: Buffer, size: number, offset: number, length: number): Buffer {
  const out = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
  if (offset < bytes.length) bytes.copy(out, 0, offset, Math.min(bytes.length, offset + out.length));
  return out;
}

/** Undefined when equal, else where and how the bytes first differ (short messages on failure). */
function difference(got: Buffer, want: Buffer): string | undefined {
  if (got.length !== want.length) return `got ${got.length} bytes, want ${want.length}`;
  const at = got.findIndex((b, i) => b !== want[i]);
  return at < 0 ? undefined : `byte ${at} is ${got[at]}, want ${want[at]}`;
}

/** A `size`-byte buffer starting `shift` bytes into a larger dirty allocation. */
function dirtyBuffer(size: number, shift: number): Buffer {
  return Buffer.alloc(size + shift + 64, 0xa5).subarray(shift, shift + size);
}

/**
 * The {@link VolumeSource} contract, clause by clause, on the images `harness` makes from
 * {@link contractDisk}: size, exact and clipped reads, reads into caller buffers, zeros, concurrent
 * reads, close, description, change tracking against its own reference, the allocation map, and
 * errors.
 */
export function describeVolumeSourceContract(name: string, harness: VolumeSourceHarness): void {
  describe(`VolumeSource contract: ${name}`, () => {
    const disk = contractDisk();
    let image: VolumeSourceImage;
    let source: VolumeSource;
    const want = (offset: number, length: number) => expectedRead(disk, image.size, offset, length);

    beforeAll(async () => {
      image = await harness.make(disk);
      source = await image.open();
    });
    afterAll(async () => {
      await source?.close();
      await image?.cleanup();
    });

    /** Offsets near the data, near the end of the volume, and anywhere (past the end too). */
    const offsets = () =>
      fc.oneof(
        fc.integer({ min: 0, max: disk.length + 1024 }),
        fc.integer({ min: Math.max(0, image.size - 4096), max: image.size + 1024 }),
        fc.integer({ min: 0, max: image.size + 1024 }),
      );
    const lengths = fc.integer({ min: 0, max: 9000 });

    it("reports the logical size, which covers the given bytes and stays put while reading", async () => {
      expect(image.size).toBeGreaterThanOrEqual(disk.length);
      expect(source.size).toBe(image.size);
      await source.read(0, 4096);
      expect(source.size).toBe(image.size);
    });

    it("names the source in its description", () => {
      expect(source.description).toContain(image.name);
    });

    it("returns exactly the bytes at any offset and length, clipped at the size", async () => {
      await fc.assert(
        fc.asyncProperty(offsets(), lengths, async (offset, length) => {
          expect(difference(await source.read(offset, length), want(offset, length))).toBeUndefined();
        }),
        { numRuns: 40 },
      );
    });

    it("reads the whole given disk, unaligned spans and the last partial block exactly", async () => {
      for (const [offset, length] of [
        [0, disk.length],
        [511, 1026],
        [19_999, 17_000],
        [disk.length - 369, 369],
        [disk.length - 1, 5000],
      ] as const) {
        const got = await source.read(offset, length);
        expect(difference(got, want(offset, length)), `${offset}+${length}`).toBeUndefined();
      }
    });

    it("returns the bytes up to the size when a read runs past it, and nothing from the size on", async () => {
      const tail = await source.read(image.size - 100, 1000);
      expect(difference(tail, want(image.size - 100, 100))).toBeUndefined();
      expect((await source.read(image.size, 10)).length).toBe(0);
      expect((await source.read(image.size + 5000, 10)).length).toBe(0);
      expect((await source.read(123, 0)).length).toBe(0);
    });

    it("puts the bytes in a caller's buffer and returns a view of it", async () => {
      await fc.assert(
        fc.asyncProperty(
          offsets(),
          lengths,
          fc.nat(700),
          fc.nat(33),
          async (offset, length, extra, shift) => {
            const into = dirtyBuffer(length + extra, shift);
            const got = await source.read(offset, length, into);
            expect(got.buffer).toBe(into.buffer);
            expect(got.byteOffset).toBe(into.byteOffset);
            expect(difference(got, want(offset, length))).toBeUndefined();
          },
        ),
        { numRuns: 25 },
      );
    });

    it("reads zeros where the image holds zeros or nothing, even into a dirty buffer", async () => {
      const spans = [
        ...ZERO_RUNS.map(([from, to]) => [from, to - from] as const),
        [disk.length, image.size - disk.length] as const,
        [
          Math.max(disk.length, image.size - 8192),
          image.size - Math.max(disk.length, image.size - 8192),
        ] as const,
      ].filter(([, length]) => length > 0);
      for (const [offset, length] of spans) {
        const n = Math.min(length, 16_384);
        const got = await source.read(offset, n, dirtyBuffer(n, 3));
        expect(difference(got, Buffer.alloc(n)), `${offset}+${n}`).toBeUndefined();
      }
    });

    it("serves concurrent reads independently, overlapping or not, into separate buffers", async () => {
      const reads = Array.from({ length: 24 }, (_, i) => {
        const offset = (i * 2_917) % (disk.length + 600);
        const length = 300 + ((i * 1_543) % 6_000);
        return { offset, length, into: i % 2 === 0 ? dirtyBuffer(length, i) : undefined };
      });
      reads.push({ ...reads[0]!, into: dirtyBuffer(reads[0]!.length, 1) });
      const got = await Promise.all(reads.map((r) => source.read(r.offset, r.length, r.into)));
      got.forEach((bytes, i) => {
        const r = reads[i]!;
        if (r.into) expect(bytes.buffer).toBe(r.into.buffer);
        expect(difference(bytes, want(r.offset, r.length)), `read ${i}`).toBeUndefined();
      });
    });

    it("closes idempotently, and reads after close reject with a SourceError naming it", async () => {
      const other = await image.open();
      expect(difference(await other.read(100, 50), want(100, 50))).toBeUndefined();
      await Promise.all([other.close(), other.close()]);
      await other.close();
      const err = await other.read(0, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toContain(image.name);
      // Closing one source leaves the others open.
      expect(difference(await source.read(0, 10), want(0, 10))).toBeUndefined();
    });

    it("claims no change against its own reference, or does not know; never a wrong claim", async () => {
      if (!source.changedRanges) {
        expect(source.changedRanges).toBeUndefined();
        return;
      }
      expect(source.sourceRef).toEqual(expect.any(String));
      expect(await source.changedRanges(source.sourceRef!)).toSatisfy(
        (r) => r === undefined || r.length === 0,
      );
      const again = await image.open();
      try {
        if (again.sourceRef !== undefined) expect(again.sourceRef).toBe(source.sourceRef);
        const ranges = await again.changedRanges!(source.sourceRef!);
        expect(ranges).toSatisfy((r) => r === undefined || r.length === 0);
      } finally {
        await again.close();
      }
    });

    it("does not claim nothing changed against an unrelated reference", async () => {
      const ranges = await source.changedRanges?.("unrelated-parent-ref");
      // Ranges, if any, must cover the whole volume: nothing is known about that parent.
      if (ranges === undefined) return;
      let covered = 0;
      for (const r of [...ranges].sort((a, b) => a.offset - b.offset)) {
        if (r.offset <= covered) covered = Math.max(covered, r.offset + r.length);
      }
      expect(covered).toBeGreaterThanOrEqual(image.size);
    });

    it("maps where data may be, if it can: sorted, disjoint, inside the volume, no byte of data left out", async () => {
      const ranges = await source.allocatedRanges?.();
      // Not knowing is allowed (the engine then reads everything); a wrong map is not.
      if (ranges === undefined) return;
      let end = 0;
      const covered = Buffer.alloc(disk.length);
      for (const r of ranges) {
        expect(r.length).toBeGreaterThan(0);
        expect(r.offset).toBeGreaterThanOrEqual(end);
        end = r.offset + r.length;
        expect(end).toBeLessThanOrEqual(image.size);
        covered.fill(1, Math.min(r.offset, disk.length), Math.min(end, disk.length));
      }
      const missed = disk.findIndex((b, i) => b !== 0 && covered[i] === 0);
      expect(missed, "first byte of data outside the map").toBe(-1);
    });

    it("rejects opening a source that does not exist with a SourceError naming it", async () => {
      const { name: missing, opening } = harness.openMissing();
      const err = await opening.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toContain(missing);
    });

    if (harness.vanish) {
      const vanish = harness.vanish.bind(harness);
      it("after the image vanishes: opening fails naming it; open sources read it right or fail naming it", async () => {
        const small = disk.subarray(0, 4096);
        const gone = await harness.make(small);
        const open = await gone.open();
        try {
          await vanish(gone);
          const reopen = await gone.open().catch((e: unknown) => e);
          expect(reopen).toBeInstanceOf(SourceError);
          expect((reopen as Error).message).toContain(gone.name);
          const read = await open.read(0, 4096).catch((e: unknown) => e);
          if (Buffer.isBuffer(read)) {
            expect(difference(read, expectedRead(small, gone.size, 0, 4096))).toBeUndefined();
          } else {
            expect(read).toBeInstanceOf(SourceError);
            expect((read as Error).message).toContain(gone.name);
          }
        } finally {
          await open.close();
          await gone.cleanup();
        }
      });
    }
  });
}
