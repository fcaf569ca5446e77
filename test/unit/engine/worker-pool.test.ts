import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { blockId } from "../../../lib/engine/pack/blob.ts";
import { prestartWorkers, WorkerPool } from "../../../lib/engine/workers/worker-pool.ts";
import { seededText } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

const options = {
  blockIdKey: randomBytes(32),
  fingerprintKeys: [randomBytes(32), randomBytes(32)] as const,
  zstdLevel: 3,
  blockSize: 4096,
  packTarget: 1 << 20,
};

describe("prestartWorkers", () => {
  it("starts threads a pool then adopts and uses", async () => {
    prestartWorkers(2);
    const pool = new WorkerPool({ ...options, size: 2 });
    try {
      const data = seededText(1, 3 * 4096);
      const copy = new Uint8Array(data).buffer;
      const scanned = await pool.scan(copy, data.length);
      for (let b = 0; b < 3; b++) {
        const expected = blockId(options.blockIdKey, data.subarray(b * 4096, (b + 1) * 4096));
        expect(scanned.ids.subarray(b * 32, (b + 1) * 32)).toEqual(expected);
      }
    } finally {
      await pool.close();
    }
  });

  it("warm threads that no pool adopts do not keep the process alive", () => {
    const script = [
      'const { prestartWorkers } = await import("./lib/engine/workers/worker-pool.ts");',
      "prestartWorkers(2);",
      'console.log("started");',
    ].join("\n");
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.stdout.trim()).toBe("started");
    expect(run.status).toBe(0);
  });
});

describe("WorkerPool.close", () => {
  it("waits for the pack writes in flight and removes the pack still being filled", async () => {
    const dir = await tempDir("pool-close");
    const pool = new WorkerPool({ ...options, blockSize: 65536, packTarget: 64 << 20, size: 1 });
    try {
      pool.setDataKey(1, randomBytes(32), "d3JhcHBlZA==", "master-1");
      pool.stageInto(dir);
      // 6 MiB of incompressible blocks: several segments written in the background, and the pack
      // (target 64 MiB) still open when the pool closes.
      const data = randomBytes(6 << 20);
      const scanned = await pool.scan(new Uint8Array(data).buffer, data.length);
      const sealed = await pool.seal(scanned.worker, scanned.seq, 1, [...Array(96).keys()]);
      expect(sealed.packs).toEqual([]);
      expect((await readdir(dir)).length).toBe(1); // the open pack's file
    } finally {
      await pool.close();
    }
    expect(await readdir(dir)).toEqual([]);
    await removeDir(dir);
  });
});

describe("WorkerPool.scan releases a chunk that can have nothing to seal", () => {
  it("all holes, or every block the parent's: released at once, the buffer back; a changed block: held for its seal", async () => {
    const pool = new WorkerPool({ ...options, size: 1 });
    try {
      pool.setDataKey(1, randomBytes(32), "d3JhcHBlZA==", "master-1");
      const holes = await pool.scan(new ArrayBuffer(4 * 4096), 4 * 4096);
      expect(holes.released).toBe(true);
      expect(holes.chunk?.byteLength).toBe(4 * 4096);
      expect(holes.ids.every((b) => b === 0)).toBe(true);

      // Text with a hole in the middle: hashed, so held until sealed.
      const data = Buffer.concat([seededText(1, 4096), Buffer.alloc(4096), seededText(2, 4096)]);
      const first = await pool.scan(new Uint8Array(data).buffer, data.length);
      expect(first.released).toBe(false);
      expect(first.chunk).toBeUndefined();
      const sealed = await pool.seal(first.worker, first.seq, 1, [0, 2]);
      expect(sealed.chunk?.byteLength).toBe(data.length);

      // The same bytes against that scan as the parent: every block unchanged or a hole.
      const parent = { ids: first.ids, fingerprints: first.fingerprints };
      const again = await pool.scan(new Uint8Array(data).buffer, data.length, parent);
      expect(again.released).toBe(true);
      expect(again.ids).toEqual(first.ids);

      // One block changed: hashed, held, and sealed as before.
      const changed = Buffer.from(data);
      changed[2 * 4096 + 7]! ^= 1;
      const third = await pool.scan(new Uint8Array(changed).buffer, changed.length, parent);
      expect(third.released).toBe(false);
      expect(third.ids.subarray(0, 64)).toEqual(first.ids.subarray(0, 64));
      expect(third.ids.subarray(64)).toEqual(blockId(options.blockIdKey, changed.subarray(2 * 4096)));
      const resealed = await pool.seal(third.worker, third.seq, 1, [2]);
      expect(resealed.chunk?.byteLength).toBe(changed.length);
    } finally {
      await pool.close();
    }
  });
});
