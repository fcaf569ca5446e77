import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { SourceError } from "../../../errors.ts";
import type {
  PreparedSnapshots,
  SnapshotDisk,
  SnapshotProvider,
  TakenSnapshots,
} from "../../../ports/snapshot-provider.ts";

const run = promisify(execFile);
/** How long one LVM command may take. */
const LVM_TIMEOUT_MS = 30_000;

/** Options of {@link lvmSnapshots}. */
export interface LvmSnapshotOptions {
  /** The copy-on-write space of each snapshot, as `lvcreate --extents` takes it; default 25%ORIGIN. */
  readonly extents?: string;
}

interface LogicalVolume {
  readonly vg: string;
  readonly lv: string;
}

/**
 * Snapshots of logical volumes with `lvcreate --snapshot` (LVM2, device-mapper's dm-snapshot):
 * each disk must be an LV; the snapshots are made one after the other inside the freeze window
 * (each takes milliseconds), read as `/dev/<vg>/<snapshot>`, and removed with `lvremove` when
 * released. A snapshot whose copy-on-write space fills up becomes unreadable, which fails the
 * backup rather than giving a wrong image.
 */
export function lvmSnapshots(options: LvmSnapshotOptions = {}): SnapshotProvider {
  return {
    kind: "lvm",
    prepare: async (disks) => {
      const volumes = await Promise.all(disks.map((d) => logicalVolume(d)));
      return new PreparedLvm(volumes, options.extents ?? "25%ORIGIN");
    },
  };
}

class PreparedLvm implements PreparedSnapshots {
  readonly #volumes: readonly LogicalVolume[];
  readonly #extents: string;

  constructor(volumes: readonly LogicalVolume[], extents: string) {
    this.#volumes = volumes;
    this.#extents = extents;
  }

  fits(): true {
    return true;
  }

  async take(): Promise<TakenSnapshots> {
    const tag = randomUUID().slice(0, 8);
    const made: LogicalVolume[] = [];
    const release = async () => {
      for (const snap of made.splice(0))
        await lvm("lvremove", ["--yes", `${snap.vg}/${snap.lv}`]).catch(() => undefined);
    };
    try {
      for (const [i, volume] of this.#volumes.entries()) {
        const name = `bvsnap-${tag}-${i}`;
        await lvm("lvcreate", [
          "--snapshot",
          "--extents",
          this.#extents,
          "--name",
          name,
          `${volume.vg}/${volume.lv}`,
        ]);
        made.push({ vg: volume.vg, lv: name });
      }
      return { sources: made.map((s) => `/dev/${s.vg}/${s.lv}`), release };
    } catch (err) {
      await release();
      throw err;
    }
  }
}

/** The VG and LV of a disk, or a `SourceError` saying it is no logical volume. */
async function logicalVolume(disk: SnapshotDisk): Promise<LogicalVolume> {
  const out = await lvm("lvs", ["--noheadings", "--options", "vg_name,lv_name", disk.source]).catch(
    (err: Error) => {
      throw new SourceError(
        `${disk.source} is not an LVM logical volume (an LVM snapshot needs one): ${err.message}`,
      );
    },
  );
  const [vg, lv] = out.trim().split(/\s+/);
  if (!vg || !lv) throw new SourceError(`${disk.source} is not an LVM logical volume`);
  return { vg, lv };
}

async function lvm(command: string, args: readonly string[]): Promise<string> {
  try {
    return (await run(command, [...args], { timeout: LVM_TIMEOUT_MS })).stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === "ENOENT") throw new SourceError(`${command} is not installed (Debian/Ubuntu: lvm2)`);
    throw new SourceError(
      `${command} ${args.join(" ")}: ${(e.stderr ?? e.message).trim().split("\n").pop()}`,
    );
  }
}
