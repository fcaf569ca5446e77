import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { ArchivedObjectError } from "../../lib/errors.ts";
import { extract } from "../../lib/files/extract.ts";
import { systemClock } from "../../lib/ports/clock.ts";
import { blankDisk, mkExt } from "../helpers/disk-images.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { fileVault } from "../helpers/point-images.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { BACKENDS } from "../helpers/two-backends.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const SLOW = 300_000;
let root: string;
let tree: string;
let image: string;
let run = 0;

beforeAll(async () => {
  root = await tempDir("files-backends");
  tree = join(root, "tree");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(tree);
  await writeTestTree(tree, true);
  image = join(root, "disk.img");
  await blankDisk(image, 40);
  mkExt(image, tree, "ext4", 40);
}, SLOW);
afterAll(async () => {
  if (root) await removeDir(root);
});

describe("file-level recovery on every backend", () => {
  it.each(BACKENDS)(
    "lists and extracts a file of a point on the %s backend, audited",
    async (_name, create) => {
      const vault = await create(join(root, `b${run++}`), systemClock);
      try {
        const { recoveryPointId } = await backupFile(vault, image, "d1");
        const files = await vault.openPointFiles(recoveryPointId, {
          action: "files.get",
          path: "/one-mib.bin",
        });
        try {
          const { fs } = await files.mount();
          expect((await fs.list("/etc/nginx")).map((e) => e.name)).toEqual(["nginx.conf", "sites"]);
          const dest = join(root, `out-${run++}`);
          await extract(fs, "/one-mib.bin", dest);
          expect((await readFile(dest)).equals(await readFile(join(tree, "one-mib.bin")))).toBe(true);
        } finally {
          await files.close();
        }
        const audit = await vault.listAudit({ action: "files.get" });
        expect(audit.at(-1)).toMatchObject({ target: recoveryPointId, detail: { path: "/one-mib.bin" } });
      } finally {
        await vault.close();
      }
    },
    SLOW,
  );

  it(
    "refuses an archived point's files with the way to rehydrate it",
    async () => {
      const dir = join(root, "archived");
      const vault = await fileVault(dir);
      try {
        const { recoveryPointId } = await backupFile(vault, image, "d1");
        const objects = join(dir, "vault", "objects");
        const archive = new FsObjectArchive(new FsObjectStore(objects, { clock: systemClock }), {
          clock: systemClock,
        });
        for (const shard of await readdir(join(objects, "packs"))) {
          for (const name of await readdir(join(objects, "packs", shard))) {
            if (!name.startsWith(".")) await archive.setStorageClass(`packs/${shard}/${name}`, "GLACIER");
          }
        }
        const files = await vault.openPointFiles(recoveryPointId, { action: "files.list" });
        const err = await files.volumes().catch((e: unknown) => e);
        await files.close();
        expect(err).toBeInstanceOf(ArchivedObjectError);
        expect((err as Error).message).toMatch(/archive tier: restore it \(which rehydrates its packs\)/);
      } finally {
        await vault.close();
      }
    },
    SLOW,
  );
});
