import { crc32 } from "node:zlib";
import { DiskFormatError } from "../../errors.ts";
import { type ByteSource, readUpTo } from "../byte-source.ts";

const SECTOR = 512;
const LABEL_ID = "LABELONE";
const LABEL_TYPE = "LVM2 001";
const MDA_MAGIC = Buffer.from(" LVM2 x[5A%r0N*>", "latin1");
/** LVM's CRC: the CRC32 polynomial from this seed, without the final inversion. */
const LVM_CRC_SEED = 0xf597a6cf;
/** Metadata text a volume group may carry: real ones are a few KiB. */
const MAX_TEXT = 4 * 1024 * 1024;

/** What an LVM2 physical volume's label says: its UUID and its newest metadata text. */
export interface PhysicalVolumeLabel {
  /** The PV's UUID as the metadata writes it (`xxxxxx-xxxx-…`). */
  readonly uuid: string;
  readonly metadataText: string;
}

/** LVM's checksum of `bytes`. */
export function lvmCrc(bytes: Buffer): number {
  return ~crc32(bytes, ~LVM_CRC_SEED >>> 0) >>> 0;
}

/**
 * The label of the physical volume `source` holds, or undefined when its first four sectors carry
 * none. A label, PV header or metadata area whose checksum or bounds fail is a DiskFormatError
 * naming the structure.
 */
export async function readPvLabel(source: ByteSource): Promise<PhysicalVolumeLabel | undefined> {
  const head = await readUpTo(source, 0, 4 * SECTOR);
  for (let s = 0; s + SECTOR <= head.length; s += SECTOR) {
    const sector = head.subarray(s, s + SECTOR);
    if (sector.toString("latin1", 0, 8) !== LABEL_ID || sector.toString("latin1", 24, 32) !== LABEL_TYPE)
      continue;
    const where = `LVM label (sector ${s / SECTOR}) of ${source.name}`;
    if (lvmCrc(sector.subarray(20)) !== sector.readUInt32LE(16)) {
      throw new DiskFormatError(`${where}: label checksum does not match`);
    }
    return pvHeader(source, sector, where);
  }
  return undefined;
}

async function pvHeader(source: ByteSource, label: Buffer, where: string): Promise<PhysicalVolumeLabel> {
  const offset = label.readUInt32LE(20);
  if (offset < 32 || offset + 40 > SECTOR)
    throw new DiskFormatError(`${where}: PV header offset ${offset} is bad`);
  const raw = label.toString("latin1", offset, offset + 32);
  const uuid = [6, 4, 4, 4, 4, 4, 6]
    .reduce<{ at: number; parts: string[] }>(
      (acc, n) => ({ at: acc.at + n, parts: [...acc.parts, raw.slice(acc.at, acc.at + n)] }),
      { at: 0, parts: [] },
    )
    .parts.join("-");
  // After the UUID and the device size: data areas, then metadata areas, each list ending in 0,0.
  let at = offset + 40;
  const lists: { offset: number; size: number }[][] = [[], []];
  for (const list of lists) {
    while (true) {
      if (at + 16 > SECTOR) throw new DiskFormatError(`${where}: PV header's area lists run past the sector`);
      const areaOffset = Number(label.readBigUInt64LE(at));
      const areaSize = Number(label.readBigUInt64LE(at + 8));
      at += 16;
      if (areaOffset === 0 && areaSize === 0) break;
      list.push({ offset: areaOffset, size: areaSize });
    }
  }
  const [metadataArea] = lists[1]!;
  if (!metadataArea) throw new DiskFormatError(`${where}: the PV has no metadata area on this disk`);
  return { uuid, metadataText: await metadataText(source, metadataArea, where) };
}

/** The newest committed metadata text of the area at `area`, following its ring buffer. */
async function metadataText(
  source: ByteSource,
  area: { offset: number; size: number },
  where: string,
): Promise<string> {
  const mdaWhere = `LVM metadata area at byte ${area.offset} of ${source.name}`;
  if (area.offset + area.size > source.size || area.size < SECTOR) {
    throw new DiskFormatError(`${mdaWhere}: lies outside the device (${where})`);
  }
  const header = await source.read(area.offset, SECTOR);
  if (!header.subarray(4, 20).equals(MDA_MAGIC)) throw new DiskFormatError(`${mdaWhere}: bad magic`);
  if (lvmCrc(header.subarray(4)) !== header.readUInt32LE(0)) {
    throw new DiskFormatError(`${mdaWhere}: header checksum does not match`);
  }
  const textOffset = Number(header.readBigUInt64LE(40));
  const textSize = Number(header.readBigUInt64LE(48));
  const textCrc = header.readUInt32LE(56);
  if (textSize === 0) throw new DiskFormatError(`${mdaWhere}: holds no committed metadata`);
  if (textSize > MAX_TEXT || textOffset >= area.size || textOffset < SECTOR) {
    throw new DiskFormatError(`${mdaWhere}: metadata text ${textOffset}+${textSize} lies outside the area`);
  }
  // The text may wrap around the end of the ring to just after the area's header.
  const first = Math.min(textSize, area.size - textOffset);
  const parts = [await source.read(area.offset + textOffset, first)];
  if (first < textSize) parts.push(await source.read(area.offset + SECTOR, textSize - first));
  const text = Buffer.concat(parts);
  if (lvmCrc(text) !== textCrc)
    throw new DiskFormatError(`${mdaWhere}: metadata text checksum does not match`);
  return text.toString("utf8").replace(/\0+$/, "");
}
