import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { deriveVaultSecrets } from "../../../lib/engine/keys/keys.ts";
import {
  type BoundRootManifest,
  blockCount,
  isAllHoles,
  isBound,
  loadManifest,
  type RootManifest,
  streamManifest,
  writeRoot,
  writeSegment,
} from "../../../lib/engine/points/manifest.ts";
import { manifestKey } from "../../../lib/engine/store/layout.ts";
import { putMetadata } from "../../../lib/engine/store/metadata-object.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { MemoryObjectStore } from "../../helpers/memory-object-store.ts";

const secrets = deriveVaultSecrets(randomBytes(32), "vault-1");
const SEGMENT_BLOCKS = 4;
const BLOCK = 4096;
/** 10 blocks: two full segments of 4, then a short one of 2. */
const SIZE = 9 * BLOCK + 100;

let store: MemoryObjectStore;
beforeEach(() => {
  store = new MemoryObjectStore();
});

const ids = (blocks: number) => randomBytes(blocks * 32);
const fps = (blocks: number) => randomBytes(blocks * 16);

function root(segments: (string | null)[], extra: Partial<RootManifest> = {}): BoundRootManifest {
  return {
    point: "point-1",
    parent: null,
    created: 1,
    vault: "vault-1",
    disk: "disk",
    logicalSize: SIZE,
    blockSize: BLOCK,
    segmentBlocks: SEGMENT_BLOCKS,
    sourceFormat: "raw",
    segments,
    ...extra,
  };
}

/** Writes a point with segments 0 and 2 stored and segment 1 all holes. */
async function writePoint() {
  const [s0, f0, s2, f2] = [ids(4), fps(4), ids(2), fps(2)];
  const segments = [
    await writeSegment(store, secrets, s0, f0),
    null,
    await writeSegment(store, secrets, s2, f2),
  ];
  const rootId = await writeRoot(store, secrets, root(segments));
  return {
    rootId,
    segments,
    expected: Buffer.concat([s0, Buffer.alloc(4 * 32), s2]),
    expectedFingerprints: Buffer.concat([f0, Buffer.alloc(4 * 16), f2]),
  };
}

describe("loadManifest", () => {
  it("reads the block map back, a missing segment standing for holes", async () => {
    const { rootId, expected, expectedFingerprints } = await writePoint();
    const loaded = await loadManifest(store, secrets, rootId);
    expect(loaded.ids).toEqual(expected);
    expect(loaded.fingerprints).toEqual(expectedFingerprints);
    expect(loaded.root.segments[1]).toBeNull();
    expect(blockCount(SIZE, BLOCK)).toBe(10);
  });

  it("names objects by content: writing the same segment twice gives the same id", async () => {
    const [same, sameFps] = [ids(4), fps(4)];
    expect(await writeSegment(store, secrets, same, sameFps)).toBe(
      await writeSegment(store, secrets, Buffer.from(same), Buffer.from(sameFps)),
    );
    expect(store.objects.size).toBe(1);
  });

  it("refuses a missing root or segment as lost data", async () => {
    const { rootId, segments } = await writePoint();
    await store.delete(manifestKey(segments[2]!));
    await expect(loadManifest(store, secrets, rootId)).rejects.toThrow(/is missing from the vault/);
    await expect(loadManifest(store, secrets, "ab".repeat(32))).rejects.toBeInstanceOf(IntegrityError);
  });

  it("refuses any flipped byte of the root or of a segment", async () => {
    const { rootId, segments } = await writePoint();
    for (const id of [rootId, segments[0]!]) {
      const bytes = store.objects.get(manifestKey(id))!;
      for (let at = 0; at < bytes.length; at++) {
        bytes[at]! ^= 0x10;
        await expect(loadManifest(store, secrets, rootId), `${id} byte ${at}`).rejects.toThrow(
          /is corrupted/,
        );
        bytes[at]! ^= 0x10;
      }
    }
    await expect(loadManifest(store, secrets, rootId)).resolves.toBeDefined();
  });

  it("a version 1 root is read as naming no recovery point, whatever it holds under those names", async () => {
    const bytes = Buffer.from(`BVRT\x01${JSON.stringify(root([null, null, null]))}`);
    const rootId = await putMetadata(store, secrets, manifestKey, bytes);
    const loaded = await loadManifest(store, secrets, rootId);
    expect(isBound(loaded.root)).toBe(false);
    expect(loaded.root.point).toBeUndefined();
    expect(loaded.root.disk).toBe("disk");
    const bound = await loadManifest(
      store,
      secrets,
      await writeRoot(store, secrets, root([null, null, null])),
    );
    expect(isBound(bound.root)).toBe(true);
    expect(bound.root.point).toBe("point-1");
  });

  it("refuses a manifest written under another vault's key", async () => {
    const other = deriveVaultSecrets(randomBytes(32), "vault-1");
    const rootId = await writeRoot(store, other, root([null, null, null]));
    await expect(loadManifest(store, secrets, rootId)).rejects.toThrow(/is corrupted/);
  });

  it("refuses authentic objects that are not what the root needs", async () => {
    const put = (bytes: Buffer) => putMetadata(store, secrets, manifestKey, bytes);
    const segment = await writeSegment(store, secrets, ids(4), fps(4));
    const cases: [string, Promise<string>, RegExp][] = [
      ["a segment used as a root", Promise.resolve(segment), /not a root manifest/],
      ["a root that is not JSON", put(Buffer.from("BVRT\x01{oops")), /unreadable root manifest/],
      [
        "a version 2 root naming no recovery point",
        put(Buffer.from(`BVRT\x02${JSON.stringify({ ...root([null, null, null]), point: undefined })}`)),
        /does not name its recovery point/,
      ],
      [
        "a version 2 root with a parent that is not an id",
        put(Buffer.from(`BVRT\x02${JSON.stringify({ ...root([null, null, null]), parent: 7 })}`)),
        /does not name its recovery point/,
      ],
      ["a root of a newer version", put(Buffer.from("BVRT\x03{}")), /written by a newer blockvault/],
      ["too few segments for the size", writeRoot(store, secrets, root([segment, null])), /segment count/],
      ["a segment too short", writeRoot(store, secrets, root([segment, null, segment])), /expected length/],
      [
        "a root used as a segment",
        writeRoot(store, secrets, root([segment, null, null])).then(async (r) =>
          writeRoot(store, secrets, root([r, null, null])),
        ),
        /not a segment manifest/,
      ],
    ];
    for (const [what, rootId, message] of cases) {
      const error = await loadManifest(store, secrets, await rootId).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(IntegrityError);
      expect((error as Error).message, what).toMatch(message);
    }
  });
});

describe("segment encoding", () => {
  it("compresses segments, so runs of holes cost next to nothing", async () => {
    const holes = Buffer.alloc(4 * 32);
    randomBytes(32).copy(holes, 64);
    const id = await writeSegment(store, secrets, holes, Buffer.alloc(4 * 16));
    const raw = 5 + 4 * 48;
    expect(store.objects.get(manifestKey(id))!.length).toBeLessThan(raw);
  });

  it("still reads segments written uncompressed by earlier versions (BVSG 1)", async () => {
    const [s0, f0, s2, f2] = [ids(4), fps(4), ids(2), fps(2)];
    const put = (bytes: Buffer) => putMetadata(store, secrets, manifestKey, bytes);
    const segments = [
      await put(Buffer.concat([Buffer.from("BVSG\x01"), s0, f0])),
      null,
      await writeSegment(store, secrets, s2, f2),
    ];
    const rootId = await writeRoot(store, secrets, root(segments));
    const loaded = await loadManifest(store, secrets, rootId);
    expect(loaded.ids).toEqual(Buffer.concat([s0, Buffer.alloc(4 * 32), s2]));
    expect(loaded.fingerprints).toEqual(Buffer.concat([f0, Buffer.alloc(4 * 16), f2]));
  });

  it("refuses an authentic compressed segment whose data does not decompress", async () => {
    const put = (bytes: Buffer) => putMetadata(store, secrets, manifestKey, bytes);
    const broken = await put(Buffer.concat([Buffer.from("BVSG\x02"), randomBytes(40)]));
    const rootId = await writeRoot(store, secrets, root([broken, null, null]));
    await expect(loadManifest(store, secrets, rootId)).rejects.toThrow(/unreadable segment manifest/);
  });
});

describe("streamManifest", () => {
  it("hands out segments as they load, and the whole map once complete", async () => {
    const { rootId, expected, expectedFingerprints } = await writePoint();
    const streamed = await streamManifest(store, secrets, rootId);
    await streamed.segmentLoaded(0);
    expect(streamed.ids.subarray(0, 4 * 32)).toEqual(expected.subarray(0, 4 * 32));
    await streamed.segmentLoaded(1); // all holes: nothing to read, still "loaded"
    await streamed.complete;
    expect(streamed.ids).toEqual(expected);
    expect(streamed.fingerprints).toEqual(expectedFingerprints);
  });

  it("fails the broken segment, every segment not yet loaded and the whole, without hanging", async () => {
    // Many segments, the first one missing: the readers stop, and nobody may wait forever.
    const segment = await writeSegment(store, secrets, ids(4), fps(4));
    const many = 40;
    const rootId = await writeRoot(
      store,
      secrets,
      root([...Array.from({ length: many - 1 }, () => segment), "cd".repeat(32)], {
        logicalSize: many * 4 * BLOCK,
      }),
    );
    await store.delete(manifestKey(segment));
    const streamed = await streamManifest(store, secrets, rootId);
    await expect(streamed.complete).rejects.toThrow(/is missing from the vault/);
    for (let s = 0; s < many; s++) {
      await expect(streamed.segmentLoaded(s), `segment ${s}`).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it("refuses a root whose segment count does not match its size before loading anything", async () => {
    const rootId = await writeRoot(store, secrets, root([null]));
    await expect(streamManifest(store, secrets, rootId)).rejects.toThrow(/segment count/);
  });
});

describe("isAllHoles", () => {
  it("is true only for all-zero IDs", () => {
    expect(isAllHoles(Buffer.alloc(0))).toBe(true);
    expect(isAllHoles(Buffer.alloc(64))).toBe(true);
    const one = Buffer.alloc(64);
    one[63] = 1;
    expect(isAllHoles(one)).toBe(false);
  });
});
