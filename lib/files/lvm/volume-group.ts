import { DiskFormatError } from "../../errors.ts";
import type { ByteSource, Extent } from "../byte-source.ts";
import { type LvmSection, type LvmValue, parseLvmText } from "./lvm-text.ts";
import { readPvLabel } from "./pv-label.ts";

const SECTOR = 512;

/** A logical volume of the group on this disk, as runs of the physical volume's bytes. */
export interface LogicalVolume {
  /** `VG/LV`, as `/dev/VG/LV` names it. */
  readonly name: string;
  readonly size: number;
  /** Runs of the physical volume, in the volume's order. */
  readonly extents: readonly Extent[];
}

/**
 * The logical volumes of the LVM2 physical volume `pv` holds, or undefined when it is not one.
 * Only linear volumes (striped segments of one stripe) whose extents all lie on this PV can be
 * read; a thin, RAID, mirrored or striped volume, or one that spans another disk, is a
 * DiskFormatError naming it, listed by the caller like any unreadable volume.
 */
export async function logicalVolumes(
  pv: ByteSource,
): Promise<(LogicalVolume | DiskFormatError)[] | undefined> {
  const label = await readPvLabel(pv);
  if (!label) return undefined;
  const where = `LVM metadata of ${pv.name}`;
  const meta = parseLvmText(label.metadataText, where);
  const [vgName, vg] =
    Object.entries(meta).find(([, v]) => isSection(v) && isSection(v.physical_volumes)) ?? [];
  if (!vgName || !isSection(vg)) throw new DiskFormatError(`${where}: names no volume group`);
  const extentBytes = num(vg, "extent_size", where) * SECTOR;
  const pvs = vg.physical_volumes as LvmSection;
  const [pvName, pvSection] = Object.entries(pvs).find(([, p]) => isSection(p) && p.id === label.uuid) ?? [];
  if (!pvName || !isSection(pvSection)) {
    throw new DiskFormatError(`${where}: volume group ${vgName} does not list this PV (${label.uuid})`);
  }
  const peStart = num(pvSection, "pe_start", where) * SECTOR;
  const lvs = isSection(vg.logical_volumes) ? vg.logical_volumes : {};
  return Object.entries(lvs)
    .filter(([, lv]) => isSection(lv) && statusOf(lv).includes("VISIBLE"))
    .map(([lvName, lv]) => {
      const name = `${vgName}/${lvName}`;
      try {
        const extents = segmentsOf(lv as LvmSection, `logical volume ${name}`, {
          pvName,
          peStart,
          extentBytes,
        });
        return { name, size: extents.reduce((s, e) => s + e.length, 0), extents };
      } catch (err) {
        if (err instanceof DiskFormatError) return err;
        throw err;
      }
    });
}

interface Placement {
  readonly pvName: string;
  readonly peStart: number;
  readonly extentBytes: number;
}

/** The volume's segments in order of their first extent, each mapped onto the PV. */
function segmentsOf(lv: LvmSection, where: string, at: Placement): Extent[] {
  const segments = Object.values(lv)
    .filter(isSection)
    .sort((a, b) => num(a, "start_extent", where) - num(b, "start_extent", where));
  let next = 0;
  return segments.map((seg) => {
    const type = seg.type;
    const stripes = Array.isArray(seg.stripes) ? seg.stripes : [];
    if (type !== "striped" || seg.stripe_count !== 1 || stripes.length !== 2) {
      throw new DiskFormatError(
        `${where}: segment type ${String(type)} (${String(seg.stripe_count)} stripes) is not linear`,
      );
    }
    if (stripes[0] !== at.pvName)
      throw new DiskFormatError(`${where}: lies partly on ${String(stripes[0])}, another disk`);
    if (num(seg, "start_extent", where) !== next)
      throw new DiskFormatError(`${where}: its segments leave a gap`);
    const count = num(seg, "extent_count", where);
    next += count;
    return { offset: at.peStart + Number(stripes[1]) * at.extentBytes, length: count * at.extentBytes };
  });
}

function isSection(v: LvmValue | undefined): v is LvmSection {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function statusOf(s: LvmSection): string[] {
  return Array.isArray(s.status) ? s.status.filter((x): x is string => typeof x === "string") : [];
}

function num(s: LvmSection, key: string, where: string): number {
  const v = s[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new DiskFormatError(`${where}: ${key} is missing or not a whole number`);
  }
  return v;
}
