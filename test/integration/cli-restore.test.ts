import { readdir, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { type CliVault, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { withFlippedByte } from "../helpers/corrupt.ts";
import { removeDir } from "../helpers/temp-dir.ts";

// Each restore starts a worker pool; one worker starts fastest.
process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;

beforeAll(async () => {
  fx = await makeCliVault();
});

afterAll(async () => {
  if (fx) await removeDir(fx.root);
});

const restore = (to: string, ...more: string[]) => [
  "restore",
  fx.pointId,
  "--to",
  to,
  "--vault",
  fx.vault,
  ...more,
];

/** Names in the fixture's root directory that look like restore targets or their temp files. */
async function restoreLeftovers(): Promise<string[]> {
  return (await readdir(fx.root)).filter((n) => n.includes("restored"));
}

describe("restore refusals", () => {
  it("an unknown recovery point id", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    await expectRefused(
      fx.vault,
      ["restore", id, "--to", join(fx.root, "restored.img"), "--vault", fx.vault],
      {
        code: 3,
        message: new RegExp(`recovery point ${id} does not exist`),
      },
    );
    expect(await restoreLeftovers()).toEqual([]);
  });

  it("a corrupted pack is an integrity failure (exit 5) and leaves no file behind", async () => {
    const to = join(fx.root, "restored.img");
    await withFlippedByte(fx.packFile, 40, () =>
      expectRefused(fx.vault, restore(to), {
        code: 5,
        message: /authentication failed \(corrupted or tampered pack data\)/,
        failedJobAllowed: true,
      }),
    );
    expect(await restoreLeftovers()).toEqual([]);
  });

  it("a truncated pack is an integrity failure naming the pack", async () => {
    const pristine = await readFile(fx.packFile);
    const packName = fx.packFile.slice(fx.packFile.lastIndexOf("/") + 1);
    try {
      await truncate(fx.packFile, 100);
      await expectRefused(fx.vault, restore(join(fx.root, "restored.img")), {
        code: 5,
        message: new RegExp(packName),
        failedJobAllowed: true,
      });
    } finally {
      await writeFile(fx.packFile, pristine);
    }
    expect(await restoreLeftovers()).toEqual([]);
  });

  it("an existing target without --force; with --force it is replaced", async () => {
    const to = join(fx.root, "restored-existing.img");
    await writeFile(to, "keep me");
    await expectRefused(fx.vault, restore(to), {
      code: 4,
      message: /already exists \(use --force to replace it\)/,
    });
    expect(await readFile(to, "utf8")).toBe("keep me");
    const run = await runCli(restore(to, "--force"));
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(to)).equals(fx.imageBytes)).toBe(true);
  });

  it("the disk's own source image, even with --force and through a symlink", async () => {
    const link = join(fx.root, "link-to-source.img");
    await symlink(fx.image, link);
    for (const to of [fx.image, link]) {
      await expectRefused(fx.vault, restore(to, "--force"), {
        code: 2,
        message: /it is the source of the backed-up disk/,
      });
    }
    expect((await readFile(fx.image)).equals(fx.imageBytes)).toBe(true);
  });
});

describe("restore", () => {
  it("a byte range with --offset and --length", async () => {
    const to = join(fx.root, "restored-range.img");
    const run = await runCli(restore(to, "--offset", "99999", "--length", "50003"));
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(to)).equals(fx.imageBytes.subarray(99_999, 150_002))).toBe(true);
  });
});
