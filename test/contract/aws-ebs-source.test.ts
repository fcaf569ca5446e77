import type { EBSClient } from "@aws-sdk/client-ebs";
import { beforeAll, describe, expect, it } from "vitest";
import { ebsClient } from "../../lib/adapters/aws/clients.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { SourceError, ValidationError } from "../../lib/errors.ts";
import type { VolumeSource } from "../../lib/ports/volume-source.ts";
import { emulatorConfig } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { expectedBytes, type TestSnapshot, trackConcurrency, writeSnapshot } from "./aws-fixture.ts";

const GIB = 1024 ** 3;
let ebs: EBSClient;
let snapshot: TestSnapshot;
let blocks: Map<number, Buffer>;

beforeAll(async () => {
  ebs = ebsClient(emulatorConfig());
  // moto reports a block size of 512 bytes (AWS: 524288) and stores whatever is put.
  const probe = await writeSnapshot(ebs, new Map());
  const bs = probe.blockSize;
  const last = GIB / bs - 1;
  blocks = new Map([0, 1, 5, 64, 65, 300, last].map((i) => [i, seededBytes(i + 1, bs)]));
  snapshot = await writeSnapshot(ebs, blocks);
});

async function withSource<T>(fn: (source: VolumeSource) => Promise<T>, client: EBSClient = ebs): Promise<T> {
  const source = await openEbsSnapshotSource(client, snapshot.id, { concurrency: 3 });
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

describe("EBS snapshot source on the emulator", () => {
  it("reports the volume size, the snapshot id as reference, and the ebs-snapshot format", async () => {
    await withSource(async (source) => {
      expect(source.size).toBe(GIB);
      expect(source.format).toBe("ebs-snapshot");
      expect(source.sourceRef).toBe(snapshot.id);
      expect(source.description).toBe(snapshot.id);
    });
  });

  it("reads written blocks byte-exact and unwritten ones as zeros, at any offset and length", async () => {
    const bs = snapshot.blockSize;
    const head = expectedBytes(blocks, bs, 400 * bs);
    await withSource(async (source) => {
      expect((await source.read(0, head.length)).equals(head)).toBe(true);
      // Unaligned, starting inside a written block and ending inside an unwritten one.
      const at = 3 * bs + 17;
      const got = await source.read(at, 70 * bs);
      expect(got.equals(head.subarray(at, at + 70 * bs))).toBe(true);
      // The last block of the volume, clipped at the size.
      const tail = await source.read(GIB - bs - 10, bs + 1000);
      expect(tail.length).toBe(bs + 10);
      expect(tail.subarray(10).equals(blocks.get(GIB / bs - 1)!)).toBe(true);
      expect(tail.subarray(0, 10).equals(Buffer.alloc(10))).toBe(true);
      expect((await source.read(GIB, 10)).length).toBe(0);
    });
  });

  it("lists the written blocks as its allocated ranges, adjacent blocks merged", async () => {
    const bs = snapshot.blockSize;
    await withSource(async (source) => {
      expect(await source.allocatedRanges?.()).toEqual([
        { offset: 0, length: 2 * bs },
        { offset: 5 * bs, length: bs },
        { offset: 64 * bs, length: 2 * bs },
        { offset: 300 * bs, length: bs },
        { offset: GIB - bs, length: bs },
      ]);
    });
  });

  it("fills a reused buffer completely, zeroing what the previous read left in it", async () => {
    const bs = snapshot.blockSize;
    await withSource(async (source) => {
      const into = Buffer.alloc(8 * bs, 0xee);
      const got = await source.read(60 * bs, 8 * bs, into);
      expect(got.buffer).toBe(into.buffer);
      expect(got.equals(expectedBytes(blocks, bs, 68 * bs).subarray(60 * bs))).toBe(true);
      await expect(source.read(0, 9 * bs, into)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  it("fetches blocks in parallel, never more at once than the concurrency limit", async () => {
    const client = ebsClient(emulatorConfig());
    const stats = trackConcurrency(client, "GetSnapshotBlockCommand");
    await withSource(async (source) => {
      await source.read(0, 400 * snapshot.blockSize);
    }, client);
    expect(stats.max).toBeGreaterThan(1);
    expect(stats.max).toBeLessThanOrEqual(3);
  });

  it("rejects a block whose data does not match the checksum the service returns", async () => {
    const bs = snapshot.blockSize;
    const bad = await writeSnapshot(ebs, new Map([[2, seededBytes(9, bs)]]), { badChecksum: [2] });
    const source = await openEbsSnapshotSource(ebs, bad.id);
    const err = await source.read(0, 4 * bs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toMatch(new RegExp(`${bad.id}.*block 2.*SHA-256`));
    await source.close();
    await source.close();
    await expect(source.read(0, 1)).rejects.toThrow(/closed/);
  });

  it("refuses something that is not a snapshot id before calling AWS", async () => {
    await expect(openEbsSnapshotSource(ebs, "vol-0123456789abcdef0")).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("EBS change tracking on the emulator", () => {
  it("maps the blocks ListChangedBlocks reports to merged byte ranges", async () => {
    const bs = snapshot.blockSize;
    // Rewrite blocks 0, 1 and 300 and drop 64: moto reports blocks of the first snapshot that
    // differ or are gone from the second (blocks only in the second it misses; see fault tests).
    const child = new Map(blocks);
    for (const i of [0, 1, 300]) child.set(i, seededBytes(1000 + i, bs));
    child.delete(64);
    const second = await writeSnapshot(ebs, child, { parent: snapshot.id });
    const source = await openEbsSnapshotSource(ebs, second.id);
    expect(await source.changedRanges!(snapshot.id)).toEqual([
      { offset: 0, length: 2 * bs },
      { offset: 64 * bs, length: bs },
      { offset: 300 * bs, length: bs },
    ]);
    expect(await source.changedRanges!(second.id)).toEqual([]);
    await source.close();
  });

  it("falls back to reading everything when the parent is unknown to the service or not a snapshot", async () => {
    const reasons: string[] = [];
    const source = await openEbsSnapshotSource(ebs, snapshot.id, {
      onChangeTrackingUnavailable: (e) => reasons.push(e.message),
    });
    // moto answers an unknown snapshot id with a 500.
    expect(await source.changedRanges!("snap-0123456789abcdef0")).toBeUndefined();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain("snap-0123456789abcdef0");
    expect(await source.changedRanges!("s3://bucket/key?etag=abc")).toBeUndefined();
    await source.close();
  });
});
