import { spawnSync } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { DISK_SIZE, scatteredImage } from "../helpers/image-format-fixture.ts";
import { qemuCompare, qemuImg, qemuInfo } from "../helpers/qemu.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let dir: string;
let vault: string;

beforeAll(async () => {
  dir = await tempDir("format-restore");
  vault = join(dir, "vault");
  const init = await runCli(["init", "--vault", vault, "--block-size", "65536"]);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(() => removeDir(dir));

/** Backs `image` up through the CLI as `disk`; the new point's id. */
async function backup(image: string, disk: string): Promise<string> {
  const run = await runCli(["backup", image, "--disk", disk, "--vault", vault, "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout).recoveryPointId as string;
}

async function restore(point: string, to: string, ...more: string[]) {
  return runCli(["restore", point, "--to", to, "--vault", vault, ...more]);
}

describe("restore --format writes images qemu-img accepts", () => {
  it("a point of a fixed VHD restored with --format vhd: qemu-img info reads it as vpc and compare finds it equal", async () => {
    const source = scatteredImage(join(dir, "fixed.vhd"), "vpc", "subformat=fixed");
    const point = await backup(source, "fixed-vhd");
    const to = join(dir, "restored.vhd");
    const run = await restore(point, to, "--format", "vhd");
    expect(run.code, run.stderr).toBe(0);
    const info = qemuInfo(to, "vpc");
    expect(info.format).toBe("vpc");
    expect(info["virtual-size"]).toBe(qemuInfo(source, "vpc")["virtual-size"]);
    expect(qemuCompare(source, "vpc", to, "vpc")).toBe("identical");
    // The default stays raw: the disk without its footer.
    const raw = join(dir, "restored-raw.img");
    expect((await restore(point, raw)).code).toBe(0);
    expect((await stat(raw)).size).toBe((await stat(source)).size - 512);
    expect(qemuCompare(source, "vpc", raw, "raw")).toBe("identical");
  });

  it("--format qcow2 writes a v3 image qemu-img check finds clean, holes unallocated", async () => {
    const source = scatteredImage(join(dir, "source.qcow2"), "qcow2", "compat=1.1");
    const point = await backup(source, "qcow2-disk");
    const to = join(dir, "restored.qcow2");
    const run = await restore(point, to, "--format", "qcow2");
    expect(run.code, run.stderr).toBe(0);
    const check = spawnSync("qemu-img", ["check", "-f", "qcow2", to], { encoding: "utf8" });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toContain("No errors were found");
    expect(qemuCompare(source, "qcow2", to, "qcow2")).toBe("identical");
    expect(qemuInfo(to, "qcow2")["virtual-size"]).toBe(DISK_SIZE);
    // About 1.3 MiB of data in a 64 MiB disk: the image holds the data, not the holes.
    expect((await stat(to)).size).toBeLessThan(4 * 1024 * 1024);
    const map = JSON.parse(qemuImg("map", "--output=json", "-f", "qcow2", to)) as {
      data: boolean;
      length: number;
    }[];
    const mapped = map.filter((m) => m.data).reduce((n, m) => n + m.length, 0);
    expect(mapped).toBeLessThan(3 * 1024 * 1024);
    // A size no CHS geometry matches (64 MiB): qemu still reads the VHD's whole disk.
    const vhd = join(dir, "from-qcow2.vhd");
    expect((await restore(point, vhd, "--format", "vhd")).code).toBe(0);
    expect(qemuInfo(vhd, "vpc")["virtual-size"]).toBe(DISK_SIZE);
    expect(qemuCompare(source, "qcow2", vhd, "vpc")).toBe("identical");
  });

  it("a point of a dynamic VHD restored as qcow2 and as vhd", async () => {
    const source = scatteredImage(join(dir, "dynamic.vhd"), "vpc", "subformat=dynamic");
    const point = await backup(source, "dynamic-vhd");
    const qcow2 = join(dir, "dynamic-restored.qcow2");
    expect((await restore(point, qcow2, "--format", "qcow2")).code).toBe(0);
    expect(qemuCompare(source, "vpc", qcow2, "qcow2")).toBe("identical");
    const vhd = join(dir, "dynamic-restored.vhd");
    expect((await restore(point, vhd, "--format", "vhd")).code).toBe(0);
    expect(qemuCompare(source, "vpc", vhd, "vpc")).toBe("identical");
  });

  it("never restores onto a backing file of the disk's source, even with --force", async () => {
    const base = scatteredImage(join(dir, "base-of-overlay.qcow2"), "qcow2", "");
    const overlay = join(dir, "overlay.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "base-of-overlay.qcow2", "-F", "qcow2", overlay);
    const point = await backup(overlay, "overlay");
    const before = await stat(base);
    const run = await restore(point, base, "--force");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`it is a backing file of ${overlay}`);
    expect((await stat(base)).mtimeMs).toBe(before.mtimeMs);
    expect(qemuCompare(overlay, "qcow2", base, "qcow2")).toBe("identical");
  });

  it("refuses a format for a byte range, and a format it does not know, writing nothing", async () => {
    const source = scatteredImage(join(dir, "small.qcow2"), "qcow2", "");
    const point = await backup(source, "small");
    const ranged = await restore(
      point,
      join(dir, "range.qcow2"),
      "--format",
      "qcow2",
      "--offset",
      "0",
      "--length",
      "4096",
    );
    expect(ranged.code).not.toBe(0);
    expect(ranged.stderr).toMatch(/format qcow2 needs a whole-disk restore/);
    const unknown = await restore(point, join(dir, "x.vmdk"), "--format", "vmdk");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/vmdk/);
    await expect(stat(join(dir, "range.qcow2"))).rejects.toThrow();
    await expect(stat(join(dir, "x.vmdk"))).rejects.toThrow();
  });
});
