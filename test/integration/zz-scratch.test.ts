import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it, expect } from "vitest";
import { initLocalVault } from "../../lib/adapters/local/local-vault.ts";
import { openFileSource } from "../../lib/sources/file-source.ts";
import { randomBytes } from "node:crypto";

it("scratch", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bv-scratch-"));
  const vault = await initLocalVault(join(dir, "v"), { name: "x", blockSize: 4096 });
  const img = join(dir, "img");
  const data = Buffer.concat([randomBytes(10_000), Buffer.alloc(5_000), randomBytes(15_003)]);
  await writeFile(img, data);
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    const src = await openFileSource(img);
    const r = await vault.backup(src, { disk: "d" });
    await src.close();
    console.log("backup", performance.now() - t, r);
    t = performance.now();
    await vault.restoreToFile(r.recoveryPointId, join(dir, `out${i}`));
    console.log("restore", performance.now() - t);
    expect((await readFile(join(dir, `out${i}`))).equals(data)).toBe(true);
  }
  await vault.close();
  console.log(dir);
});
