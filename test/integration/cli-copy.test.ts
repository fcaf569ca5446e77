import { spawnSync } from "node:child_process";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { predictRestore } from "../../lib/engine/restore/predict.ts";
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

describe("blockvault run-due with a policy's copy rules", () => {
  it("copies each new point once into the rule's vault, and says so; a failed copy exits 1", async () => {
    const dr = join(fx.root, "dr");
    expect(cli("init", "--vault", dr).code).toBe(0);
    const policy = join(fx.root, "copied.json");
    await writeFile(
      policy,
      JSON.stringify({
        name: "copied",
        schedule: { kind: "daily", times: ["01:00"] },
        timeZone: "UTC",
        retention: { daily: { days: 7 } },
        snapshotRetentionDays: 2,
        copyTo: [{ vault: dr, retention: { days: 20 } }],
      }),
    );
    expect(cli("policy", "create", "--file", policy, "--vault", fx.vault).code).toBe(0);
    expect(cli("protect", fx.image, "--disk", "web", "--policy", "copied", "--vault", fx.vault).code).toBe(0);
    const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    const first = cli("run-due", "--vault", fx.vault, "--at", `${day(1)}T01:05:00Z`, "--json");
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.copies).toMatchObject([{ disk: "web", destination: dr, status: "copied" }]);
    const copies = JSON.parse(cli("list", "--vault", dr, "--json").stdout);
    expect(copies.map((p: { id: string }) => p.id)).toEqual([report.copies[0].destinationPoint]);
    expect(Date.parse(copies[0].retainUntil) - Date.parse(copies[0].created)).toBe(20 * 24 * 60 * 60 * 1000);
    // Nothing new: nothing copied.
    const again = cli("run-due", "--vault", fx.vault, "--at", `${day(1)}T01:10:00Z`, "--json");
    expect(JSON.parse(again.stdout).copies).toEqual([]);
    await rename(dr, `${dr}-gone`);
    const text = cli("run-due", "--vault", fx.vault, "--at", `${day(2)}T01:05:00Z`);
    expect(text.code, text.stdout + text.stderr).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`FAILED copy of web .*to ${dr}: `));
  });
});

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
    expect(listed[0].predictedRestoreMs).toBe(predictRestore(listed[0]).ms);
    const text = cli("list", "--vault", second).stdout.split("\n");
    expect(text[0]).toMatch(/\bRESTORE$/);
    expect(text[1]).toMatch(/ ~\d+ s$/);
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
