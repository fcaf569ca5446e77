import { open } from "node:fs/promises";
import { runTool } from "./disk-tools.ts";

/** Where LVM put one segment of a logical volume: extents of the volume and of the PV. */
export interface LvSegment {
  readonly lv: string;
  readonly startExtent: number;
  readonly pvFirstExtent: number;
  readonly extents: number;
}

/** A volume group LVM's own tools built inside a range of an image file. */
export interface BuiltGroup {
  readonly vg: string;
  /** Bytes from the PV's start to its first extent, as `pvs -o pe_start` says. */
  readonly peStart: number;
  readonly extentBytes: number;
  readonly segments: readonly LvSegment[];
}

/**
 * Makes bytes `offset`+`size` of `image` an LVM2 physical volume of a new group `vg`, and runs
 * `commands` (lvcreate/lvextend argument lists, the group name appended by the caller) on it.
 * The kernel here may lack device-mapper, so volumes are created without activation (LVM writes
 * only its metadata); the loop device is detached and the group's devices forgotten afterwards,
 * even on failure. Returns the layout LVM reports.
 */
export function buildVolumeGroup(
  image: string,
  offset: number,
  size: number,
  vg: string,
  commands: readonly (readonly string[])[],
): BuiltGroup {
  const loop = runTool("losetup", [
    "-f",
    "--show",
    "-o",
    String(offset),
    "--sizelimit",
    String(size),
    image,
  ]).trim();
  const noDm = ["--driverloaded", "n"];
  try {
    runTool("pvcreate", ["-q", "-ff", "-y", ...noDm, loop]);
    runTool("vgcreate", ["-q", ...noDm, "-s", "1m", vg, loop]);
    for (const args of commands) runTool(args[0]!, ["-q", ...noDm, ...args.slice(1)]);
    const peStart = Number(
      runTool("pvs", ["--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", ...noDm, loop]).trim(),
    );
    const extentBytes = Number(
      runTool("vgs", [
        "--noheadings",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        "vg_extent_size",
        ...noDm,
        vg,
      ]).trim(),
    );
    const rows = runTool("lvs", [
      "--noheadings",
      "--segments",
      "--separator",
      ",",
      "-o",
      "lv_name,seg_start_pe,seg_pe_ranges",
      ...noDm,
      vg,
    ]);
    const segments = rows
      .trim()
      .split("\n")
      .map((row) => {
        const [lv, start, ranges] = row.trim().split(",");
        const m = /:(\d+)-(\d+)$/.exec(ranges!)!;
        return {
          lv: lv!,
          startExtent: Number(start),
          pvFirstExtent: Number(m[1]),
          extents: Number(m[2]) - Number(m[1]) + 1,
        };
      });
    return { vg, peStart, extentBytes, segments };
  } finally {
    // Forget the group (only its metadata is on the PV, which stays in the image) and detach.
    try {
      runTool("vgchange", ["-q", ...noDm, "--devices", loop, "-an", vg]);
    } finally {
      runTool("losetup", ["-d", loop]);
    }
  }
}

/**
 * Copies a file system image into a logical volume's segments, as the LV's device would have
 * written it: each segment's bytes at the PV extents LVM chose.
 */
export async function writeIntoVolume(
  image: string,
  pvOffset: number,
  group: BuiltGroup,
  lv: string,
  fsImage: string,
): Promise<void> {
  const src = await open(fsImage, "r");
  const dst = await open(image, "r+");
  try {
    for (const seg of group.segments.filter((s) => s.lv === lv)) {
      const length = seg.extents * group.extentBytes;
      const bytes = Buffer.alloc(length);
      await src.read(bytes, 0, length, seg.startExtent * group.extentBytes);
      await dst.write(bytes, 0, length, pvOffset + group.peStart + seg.pvFirstExtent * group.extentBytes);
    }
  } finally {
    await src.close();
    await dst.close();
  }
}
