import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { scatteredImage } from "../helpers/image-format-fixture.ts";
import { runChild } from "../helpers/kill-harness.ts";
import { qemuCompare, qemuImg, qemuWrite } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: string;
let image: string;
let point: string;

beforeAll(async () => {
  dir = await tempDir("format-kill");
  vault = join(dir, "vault");
  expect((await runCli(["init", "--vault", vault, "--block-size", "65536"])).code).toBe(0);
  image = scatteredImage(join(dir, "disk.qcow2"), "qcow2", "");
  // Enough data that the kills land inside the work, not before or after it.
  qemuWrite(image, "qcow2", [{ offset: 8 * 1024 * 1024, length: 24 * 1024 * 1024, pattern: 0x6b }]);
  const backup = await runCli(["backup", image, "--disk", "d", "--vault", vault, "--json"]);
  expect(backup.code, backup.stderr).toBe(0);
  point = JSON.parse(backup.stdout).recoveryPointId;
});

afterAll(() => removeDir(dir));

describe("SIGKILL at a random moment", () => {
  it("of a qcow2 or vhd restore leaves no target (only a hidden partial the next restore removes)", async () => {
    // Kills are timed within a whole restore's duration, measured here, so they land inside the
    // work however fast or loaded the machine is.
    const whole = await runChild(
      ["restore", point, "--to", join(dir, "timed.qcow2"), "--format", "qcow2", "--vault", vault],
      dir,
    );
    expect(whole.code, whole.stderr).toBe(0);
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const format = round % 2 ? "vhd" : "qcow2";
      const to = join(dir, `restored-${round}.${format}`);
      const killAfter = Math.floor(whole.ms * (0.15 + Math.random() * 0.7));
      const end = await runChild(
        ["restore", point, "--to", to, "--format", format, "--vault", vault],
        dir,
        killAfter,
      );
      const names = await readdir(dir);
      if (end.killed) {
        kills++;
        // A killed restore made nothing visible under the target's name.
        expect(names).not.toContain(`restored-${round}.${format}`);
      } else {
        expect(end.code, end.stderr).toBe(0);
      }
      // Whatever happened, the next restore to the same path completes and is the disk.
      const again = await runCli([
        "restore",
        point,
        "--to",
        to,
        "--format",
        format,
        "--vault",
        vault,
        "--force",
      ]);
      expect(again.code, again.stderr).toBe(0);
      expect(qemuCompare(image, "qcow2", to, format === "vhd" ? "vpc" : "qcow2")).toBe("identical");
      if (format === "qcow2") qemuImg("check", "-q", "-f", "qcow2", to);
    }
    expect(kills).toBeGreaterThan(0);
  });

  it("of a backup of a qcow2 source records no point, and the next backup is whole", async () => {
    for (let round = 0; round < 4; round++) {
      const killAfter = 150 + Math.floor(Math.random() * 900);
      await runChild(["backup", image, "--disk", `k${round}`, "--vault", vault], dir, killAfter);
      const next = await runCli(["backup", image, "--disk", `k${round}`, "--vault", vault, "--json"]);
      expect(next.code, next.stderr).toBe(0);
      const id = JSON.parse(next.stdout).recoveryPointId as string;
      const to = join(dir, `k${round}.raw`);
      expect((await runCli(["restore", id, "--to", to, "--vault", vault])).code).toBe(0);
      expect(qemuCompare(image, "qcow2", to, "raw")).toBe("identical");
    }
    const check = await runCli(["check", "--vault", vault]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
