import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliVault, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));
let fx: CliVault;

beforeAll(async () => {
  fx = await makeCliVault();
});
afterAll(async () => {
  if (fx) await removeDir(fx.root);
});

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: fx.root, encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("blockvault copy", () => {
  it("copies a point into a second vault, where it lists and restores byte-identically", async () => {
    const second = join(fx.root, "second");
    expect(cli("init", "--vault", second).code).toBe(0);
    const r = cli(
      "copy",
      fx.pointId,
      "--vault",
      fx.vault,
      "--to-vault",
      second,
      "--disk",
      "copied",
      "--retain-days",
      "14",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const copy = JSON.parse(r.stdout);
    expect(copy).toMatchObject({ sourcePointId: fx.pointId, disk: "copied", parent: null });
    const listed = JSON.parse(cli("list", "--vault", second, "--json").stdout);
    expect(listed.map((p: { id: string }) => p.id)).toEqual([copy.recoveryPointId]);
    expect(Date.parse(listed[0].retainUntil) - Date.parse(listed[0].created)).toBe(14 * 24 * 60 * 60 * 1000);
    const out = join(fx.root, "restored.img");
    expect(cli("restore", copy.recoveryPointId, "--vault", second, "--to", out).code).toBe(0);
    expect((await readFile(out)).equals(fx.imageBytes)).toBe(true);
  });

  it("refuses in one line a destination that is no vault, an s3:// one without its table, and a missing point", () => {
    const noVault = cli("copy", fx.pointId, "--vault", fx.vault, "--to-vault", join(fx.root, "nowhere"));
    expect(noVault.code).not.toBe(0);
    expect(noVault.stderr.trim().split("\n")).toHaveLength(1);
    expect(noVault.stderr).toMatch(/^blockvault: .*nowhere/);
    const noTable = cli("copy", fx.pointId, "--vault", fx.vault, "--to-vault", "s3://bucket/prefix");
    expect(noTable.stderr).toMatch(
      /^blockvault: --to-vault s3:\/\/bucket\/prefix: a vault on S3 needs its catalog table \(--to-table\)/,
    );
    const days = cli("copy", fx.pointId, "--vault", fx.vault, "--to-vault", fx.vault, "--retain-days", "0");
    expect(days.stderr).toMatch(/^blockvault: --retain-days must be an integer from 1 to 36500, got 0/);
    const same = cli("copy", fx.pointId, "--vault", fx.vault, "--to-vault", fx.vault);
    expect(same.stderr).toMatch(/^blockvault: cannot copy recovery point .* into the vault it is in/);
    const third = join(fx.root, "third");
    expect(cli("init", "--vault", third).code).toBe(0);
    const missing = cli("copy", "no-such-point", "--vault", fx.vault, "--to-vault", third);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^blockvault: .*no-such-point/);
  });
});
