import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliProcess } from "../helpers/cli.ts";
import { cliJson } from "../helpers/cli-fixture.ts";
import { addApprovedCli, bootstrapCli } from "../helpers/cli-principals.ts";
import { blankDisk, expectSameTree, mkExt, mkFat, sfdisk } from "../helpers/disk-images.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const SLOW = 300_000;
let root: string;
let vault: string;
let tree: string;
let pointId: string;

beforeAll(async () => {
  root = await tempDir("cli-files");
  vault = join(root, "vault");
  tree = join(root, "tree");
  const fatTree = join(root, "fat-tree");
  await mkdir(tree);
  await mkdir(fatTree);
  await writeTestTree(tree);
  await writeTestTree(fatTree, true);
  const image = join(root, "disk.img");
  await blankDisk(image, 200);
  sfdisk(image, ["start=2048, size=163840, type=83", "start=165888, type=c"]);
  mkExt(image, tree, "ext4", 80, 2048 * 512);
  await mkFat(image, fatTree, 32, 100 * 1024 - 2048, 165888);
  await cliJson(["init", "--vault", vault, "--name", "files"]);
  pointId = (
    (await cliJson(["backup", image, "--disk", "vm1", "--vault", vault])) as { recoveryPointId: string }
  ).recoveryPointId;
}, SLOW);
afterAll(async () => {
  if (root) await removeDir(root);
});

describe("blockvault files", () => {
  it("ls without a partition lists the partitions when several hold files; with one, a directory", async () => {
    const parts = (await cliJson(["files", "ls", pointId, "--vault", vault])) as {
      id: string;
      fileSystem: string;
    }[];
    expect(parts.map((p) => [p.id, p.fileSystem])).toEqual([
      ["1", "ext4"],
      ["2", "vfat"],
    ]);
    const listing = (await cliJson([
      "files",
      "ls",
      pointId,
      "/etc/nginx",
      "--partition",
      "1",
      "--vault",
      vault,
    ])) as {
      entries: { name: string; type: string; size: number; mode: string; mtime: string }[];
    };
    expect(listing.entries).toEqual([
      { name: "nginx.conf", type: "file", size: 20, mode: "0640", mtime: "2024-03-05T06:07:08.000Z" },
      { name: "sites", type: "directory", size: 1024, mode: "0755", mtime: "2024-03-05T06:07:08.000Z" },
    ]);
    const text = await runCli(["files", "ls", pointId, "/", "--partition", "2", "--vault", vault]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/-rw-r--r--\s+1048576\s+2024-03-05T06:07:0\dZ\s+one-mib\.bin/);
  });

  it(
    "get extracts a directory recursively, byte for byte, refuses an existing destination without --force",
    async () => {
      const dest = join(root, "restored-etc");
      const got = (await cliJson([
        "files",
        "get",
        pointId,
        "/etc",
        "--to",
        dest,
        "--partition",
        "1",
        "--vault",
        vault,
      ])) as {
        files: number;
        symlinks: number;
      };
      expect(got).toMatchObject({ files: 2, symlinks: 1 });
      await expectSameTree(join(tree, "etc"), dest);
      const again = await runCli([
        "files",
        "get",
        pointId,
        "/etc",
        "--to",
        dest,
        "--partition",
        "1",
        "--vault",
        vault,
      ]);
      expect(again.code).toBe(4);
      expect(again.stderr).toMatch(/already exists/);
      await writeFile(join(dest, "stray"), "x");
      const forced = await runCli([
        "files",
        "get",
        pointId,
        "/etc",
        "--to",
        dest,
        "--partition",
        "1",
        "--force",
        "--vault",
        vault,
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      await expectSameTree(join(tree, "etc"), dest);
    },
    SLOW,
  );

  it(
    "get of the whole ext4 tree keeps sparse files, hard links, long, deep and non-ASCII names",
    async () => {
      const dest = join(root, "restored-all");
      const r = await runCli([
        "files",
        "get",
        pointId,
        "/",
        "--to",
        dest,
        "--partition",
        "1",
        "--vault",
        vault,
      ]);
      expect(r.code, r.stderr).toBe(0);
      await removeDir(join(dest, "lost+found"));
      await expectSameTree(tree, dest);
    },
    SLOW,
  );

  it("get of one file from FAT32; find matches across partitions", async () => {
    const dest = join(root, "one.bin");
    const r = await runCli([
      "files",
      "get",
      pointId,
      "/ONE-MIB.BIN",
      "--to",
      dest,
      "--partition",
      "2",
      "--vault",
      vault,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(dest)).equals(await readFile(join(tree, "one-mib.bin")))).toBe(true);
    const found = (await cliJson(["files", "find", pointId, "*.conf", "--vault", vault])) as {
      partition: string;
      path: string;
    }[];
    expect(found.map((f) => `${f.partition}:${f.path}`).sort()).toEqual([
      "1:/etc/nginx/nginx.conf",
      "1:/etc/nginx/sites/default.conf",
      "2:/etc/nginx/nginx.conf",
      "2:/etc/nginx/sites/default.conf",
    ]);
  });

  it("a missing path exits 3 naming it; an unknown partition exits 3 listing those there are", () => {
    const missing = runCliProcess(
      ["files", "get", pointId, "/etc/nope", "--to", join(root, "x"), "--partition", "1", "--vault", vault],
      root,
    );
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("/etc/nope");
    const part = runCliProcess(["files", "ls", pointId, "/", "--partition", "9", "--vault", vault], root);
    expect(part.code).toBe(3);
    expect(part.stderr).toContain("it has: 1, 2");
  });

  it(
    "is an operator right: a reader is refused, and every read is audited with its path and partition",
    async () => {
      const tokens = await bootstrapCli(vault, ["sec1", "sec2"], ["security-admin"]);
      const reader = await addApprovedCli(vault, "rita", ["reader"], tokens.sec1!, tokens.sec2!);
      const operator = await addApprovedCli(vault, "otto", ["operator"], tokens.sec1!, tokens.sec2!);
      const refused = await runCli([
        "files",
        "ls",
        pointId,
        "/",
        "--partition",
        "1",
        "--vault",
        vault,
        "--token",
        reader,
      ]);
      expect(refused.code).toBe(9);
      expect(refused.stderr).toMatch(/read-files.*operator/);
      const dest = join(root, "by-otto");
      const ok = await runCli([
        "files",
        "get",
        pointId,
        "/etc/nginx/nginx.conf",
        "--to",
        dest,
        "--partition",
        "1",
        "--vault",
        vault,
        "--token",
        operator,
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      const audit = (await cliJson([
        "audit",
        "--action",
        "files.get",
        "--vault",
        vault,
        "--token",
        tokens.sec1!,
      ])) as {
        principal: string;
        target: string;
        outcome: string;
        detail?: Record<string, string>;
      }[];
      expect(audit.at(-1)).toMatchObject({
        principal: "otto",
        target: pointId,
        outcome: "succeeded",
        detail: { partition: "1", path: "/etc/nginx/nginx.conf" },
      });
      const denied = (await cliJson([
        "audit",
        "--action",
        "files.list",
        "--vault",
        vault,
        "--token",
        tokens.sec1!,
      ])) as {
        principal: string;
        outcome: string;
      }[];
      expect(denied.some((e) => e.principal === "rita" && e.outcome === "refused")).toBe(true);
    },
    SLOW,
  );
});
