import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { localFiles } from "../../lib/compose/decorate.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { ConflictError } from "../../lib/errors.ts";
import { PointState } from "../../lib/model.ts";
import { purgeExpired } from "../../lib/rules/soft-delete.ts";
import { Vault } from "../../lib/vault.ts";
import { DAY, listIds } from "../helpers/gc-fixture.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { jittered, seededRandom } from "../helpers/jitter.ts";
import { openLocalPorts } from "../helpers/local-ports.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const BLOCK = 4096;
const SIZE = 96 * BLOCK;
let root: string;

beforeEach(async () => {
  root = await tempDir("gc-interleave");
});
afterEach(async () => {
  await removeDir(root);
});

/** Opens the vault in `dir` with every port call delayed at random (seeded). */
async function jitteryVault(dir: string, seed: number, clock: { now(): number }): Promise<Vault> {
  const ports = await openLocalPorts(dir);
  const random = seededRandom(seed);
  const catalog = ports.catalog as SqliteCatalog;
  const store = jittered(ports.store, random, ["list"]);
  return Vault.open(
    {
      store,
      localFiles: localFiles(store),
      catalog: jittered(catalog, random),
      keys: ports.deps.keys,
      clock,
      references: jittered(catalog.references(), random),
    },
    () => catalog.close(),
  );
}

/** A variant of `base` with a few runs of blocks rewritten (the disks share most content). */
function variant(base: Buffer, random: () => number): Buffer {
  const out = Buffer.from(base);
  for (let run = 0; run < 3; run++) {
    const first = Math.floor(random() * (SIZE / BLOCK - 4));
    seededBytes(Math.floor(random() * 1e9), 4 * BLOCK).copy(out, first * BLOCK);
  }
  return out;
}

describe("garbage collection interleaved with backups and purges", () => {
  it("never deletes a block a live or soft-deleted point needs, and frees everything at the end", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      let now = Date.now();
      const clock = { now: () => now };
      const dir = join(root, `vault-${seed}`);
      await (await initLocalVault(dir, { name: "gc", blockSize: BLOCK }, { clock })).close();
      const vault = await jitteryVault(dir, seed, clock);
      const random = seededRandom(seed * 7919);
      const images = new Map<string, Buffer>();
      const latest = new Map<string, Buffer>([
        ["a", seededBytes(seed, SIZE)],
        ["b", seededBytes(seed, SIZE)],
      ]);
      let file = 0;
      const backup = async (disk: string) => {
        const image = variant(latest.get(disk)!, random);
        const path = join(root, `img-${seed}-${file++}`);
        await writeFile(path, image);
        try {
          const { recoveryPointId } = await backupFile(vault, path, disk);
          images.set(recoveryPointId, image);
          latest.set(disk, image);
        } catch (err) {
          // Losing a race to the collector or to the other backup is allowed; losing data is not.
          if (!(err instanceof ConflictError)) throw err;
        }
      };
      try {
        for (let round = 0; round < 4; round++) {
          const available = (await vault.listPoints()).filter((p) => p.state === PointState.Available);
          for (const p of available) if (random() < 0.5) await vault.deletePoint(p.id);
          now += 15 * DAY;
          await purgeExpired(vault.ctx);
          await Promise.all([backup("a"), backup("b"), vault.collectGarbage(), backup("a")]);
          for (const point of await vault.listPoints()) {
            if (point.state === PointState.Purged) continue;
            const restored = await restoreBytes(vault, point.id, root);
            expect(sha256(restored), `seed ${seed} round ${round} point ${point.id}`).toBe(
              sha256(images.get(point.id)!),
            );
          }
        }
        const all = (await vault.listPoints()).filter((p) => p.state === PointState.Available);
        for (const p of all) await vault.deletePoint(p.id);
        now += 15 * DAY;
        await purgeExpired(vault.ctx);
        await vault.collectGarbage();
        expect(await listIds(vault.ctx.deps.store, "packs/"), `seed ${seed}`).toEqual([]);
      } finally {
        await vault.close();
      }
    }
  });
});
