import { spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
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

/** Runs `blockvault read` as a child process, keeping stdout as bytes. */
function read(...args: string[]): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "read", ...args, "--vault", fx.vault], { cwd: fx.root });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

describe("blockvault read", () => {
  it("writes a byte range of a point to stdout, exactly the disk's bytes", () => {
    const r = read(fx.pointId, "--offset", "99000", "--length", "60000");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.equals(fx.imageBytes.subarray(99_000, 159_000))).toBe(true);
  });

  it("reads to the end of the disk by default, into a new file with --out", async () => {
    const out = join(fx.root, "tail.bin");
    const r = read(fx.pointId, "--offset", "150000", "--out", out, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString("utf8"))).toMatchObject({ offset: 150_000, length: 60_001, out });
    expect((await readFile(out)).equals(fx.imageBytes.subarray(150_000))).toBe(true);
  });

  it("refuses an existing --out file and leaves it as it was", async () => {
    const out = join(fx.root, "kept.bin");
    await writeFile(out, "keep me");
    const r = read(fx.pointId, "--length", "10", "--out", out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^blockvault: .*kept\.bin already exists/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readFile(out, "utf8")).toBe("keep me");
  });

  it("refuses a range past the end in one line naming the point, writing nothing", async () => {
    const out = join(fx.root, "past-end.bin");
    const r = read(fx.pointId, "--offset", "210000", "--length", "2", "--out", out);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      new RegExp(`^blockvault: read of recovery point ${fx.pointId}: .*outside the disk`),
    );
    expect(r.stdout.length).toBe(0);
    expect((await readdir(fx.root)).includes("past-end.bin")).toBe(false);
  });

  it("refuses an unknown point and a negative offset in one line each", () => {
    const unknown = read("00000000-0000-4000-8000-000000000000");
    expect(unknown.code).toBe(3);
    expect(unknown.stderr.trim()).toMatch(/^blockvault: recovery point 0{8}-.* does not exist$/);
    const negative = read(fx.pointId, "--offset", "-1");
    expect(negative.code).toBe(2);
    expect(negative.stderr.trim().split("\n")).toHaveLength(1);
  });
});
