import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { blockId } from "../../../lib/engine/blob.ts";
import { prestartWorkers, WorkerPool } from "../../../lib/engine/worker-pool.ts";
import { seededText } from "../../helpers/image-bytes.ts";

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
      'const { prestartWorkers } = await import("./lib/engine/worker-pool.ts");',
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
