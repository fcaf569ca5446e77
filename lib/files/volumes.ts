import { DiskFormatError, NotFoundError, ValidationError } from "../errors.ts";
import { type ByteSource, sliceSource } from "./byte-source.ts";
import { detectFileSystem, READABLE_KINDS } from "./fs/detect.ts";
import { logicalVolumes } from "./lvm/volume-group.ts";
import type { Partition } from "./partitions/partition.ts";
import { readPartitionTable } from "./partitions/table.ts";

/** Something that may hold files: a partition, an LVM logical volume, or the whole disk. */
export interface Volume {
  /** How `--partition` names it: `1`, `5`, `VG/LV`, or `disk` for a disk without a table. */
  readonly id: string;
  /** `mbr`, `gpt`, `lvm` or `disk`. */
  readonly scheme: string;
  /** Its first byte on the disk (for a logical volume, of its first segment). */
  readonly offset: number;
  readonly size: number;
  /** The partition's type (MBR byte or GPT GUID) and GPT name, when it has them. */
  readonly partitionType?: string;
  readonly label?: string;
  /** What it holds, by signature (`ext4`, `vfat`, `xfs`, `LVM2_member` …). */
  readonly fileSystem?: string;
  /** Why it cannot be read (an unsupported LVM layout), when it cannot. */
  readonly problem?: string;
  readonly source: ByteSource;
}

/**
 * The volumes of `disk`: each partition (MBR primaries and logicals, GPT entries), and inside any
 * that is an LVM physical volume the group's logical volumes; a disk without a table is one
 * volume, or the logical volumes of the PV it is.
 */
export async function listVolumes(disk: ByteSource): Promise<Volume[]> {
  const table = await readPartitionTable(disk);
  const wholes =
    table.scheme === "none"
      ? [{ id: "disk", scheme: "disk", offset: 0, size: disk.size, source: disk }]
      : table.partitions.map((p) => partitionVolume(disk, p));
  const volumes: Volume[] = [];
  for (const whole of wholes) {
    const fileSystem = await detectFileSystem(whole.source);
    volumes.push({ ...whole, ...(fileSystem ? { fileSystem } : {}) });
    if (fileSystem === "LVM2_member") volumes.push(...(await lvmVolumes(whole)));
  }
  return volumes;
}

function partitionVolume(disk: ByteSource, p: Partition) {
  return {
    id: String(p.number),
    scheme: p.scheme,
    offset: p.offset,
    size: p.size,
    partitionType: p.type,
    ...(p.label ? { label: p.label } : {}),
    source: sliceSource(disk, `partition ${p.number} of ${disk.name}`, [
      { offset: p.offset, length: p.size },
    ]),
  };
}

async function lvmVolumes(pv: { offset: number; source: ByteSource }): Promise<Volume[]> {
  const lvs = (await logicalVolumes(pv.source)) ?? [];
  const out: Volume[] = [];
  for (const lv of lvs) {
    if (lv instanceof DiskFormatError) {
      const name = /logical volume (\S+):/.exec(lv.message)?.[1] ?? "?";
      out.push({
        id: name,
        scheme: "lvm",
        offset: pv.offset,
        size: 0,
        problem: lv.message,
        source: pv.source,
      });
      continue;
    }
    const source = sliceSource(pv.source, `logical volume ${lv.name} of ${pv.source.name}`, lv.extents);
    const fileSystem = await detectFileSystem(source);
    out.push({
      id: lv.name,
      scheme: "lvm",
      offset: pv.offset + (lv.extents[0]?.offset ?? 0),
      size: lv.size,
      ...(fileSystem ? { fileSystem } : {}),
      source,
    });
  }
  return out;
}

/** True when this build can list and read the volume's files. */
export function isBrowsable(v: Volume): boolean {
  return !v.problem && (READABLE_KINDS as readonly string[]).includes(v.fileSystem ?? "");
}

/**
 * The volume `wanted` names; without a name, the only browsable one. Several browsable volumes
 * and no name is a ValidationError listing them; an unknown name is a NotFoundError.
 */
export function pickVolume(
  volumes: readonly Volume[],
  wanted: string | undefined,
  pointName: string,
): Volume {
  if (wanted !== undefined) {
    const found = volumes.find((v) => v.id === wanted);
    if (!found) {
      const ids = volumes.map((v) => v.id).join(", ") || "none";
      throw new NotFoundError(`${pointName} has no partition ${wanted} (it has: ${ids})`);
    }
    return found;
  }
  const browsable = volumes.filter(isBrowsable);
  if (browsable.length === 1) return browsable[0]!;
  if (browsable.length === 0) {
    const seen = volumes.map((v) => `${v.id}: ${v.fileSystem ?? "unknown"}`).join(", ") || "no partitions";
    throw new DiskFormatError(`${pointName} holds no file system blockvault can read (${seen})`);
  }
  throw new ValidationError(
    `${pointName} has ${browsable.length} partitions with file systems (${browsable.map((v) => v.id).join(", ")}): name one with --partition`,
  );
}
