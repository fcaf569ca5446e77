import { DiskFormatError } from "../../errors.ts";
import type { ByteSource } from "../byte-source.ts";

/** FAT's width, from the count of clusters as the specification decides it. */
export type FatBits = 12 | 16 | 32;

/** A FAT volume's geometry and its allocation table, read on demand. */
export interface FatVolume {
  readonly bits: FatBits;
  readonly bytesPerSector: number;
  readonly clusterBytes: number;
  /** Clusters 2 … clusterCount + 1 exist. */
  readonly clusterCount: number;
  /** FAT12/16: the fixed root directory region; FAT32: absent (the root is a chain). */
  readonly rootRegion?: { readonly offset: number; readonly length: number };
  readonly rootCluster: number;
  /** Byte offset of cluster `n` in the source. */
  clusterOffset(n: number): number;
  /**
   * The clusters of the chain starting at `first`, at most `max` of them (a file needs no more
   * than its size covers), links outside the volume and loops refused.
   */
  chain(first: number, where: string, max: number): Promise<number[]>;
}

const PAGE = 4096;

/**
 * Reads the BIOS parameter block of the FAT boot sector `boot` and checks it describes a volume
 * inside `source`; the table's width follows from the count of clusters, as the specification
 * says (fewer than 4085: FAT12; fewer than 65525: FAT16; else FAT32).
 */
export function fatVolume(source: ByteSource, boot: Buffer): FatVolume {
  const where = `FAT boot sector of ${source.name}`;
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot[13]!;
  const reserved = boot.readUInt16LE(14);
  const fats = boot[16]!;
  const rootEntries = boot.readUInt16LE(17);
  const totalSectors = boot.readUInt16LE(19) || boot.readUInt32LE(32);
  const fatSectors = boot.readUInt16LE(22) || boot.readUInt32LE(36);
  const good =
    [512, 1024, 2048, 4096].includes(bytesPerSector) &&
    [1, 2, 4, 8, 16, 32, 64, 128].includes(sectorsPerCluster) &&
    reserved > 0 &&
    fats > 0 &&
    fatSectors > 0;
  if (!good) throw new DiskFormatError(`${where}: its BIOS parameter block is not a FAT one`);
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const fatOffset = reserved * bytesPerSector;
  const dataSector = reserved + fats * fatSectors + rootSectors;
  const clusterCount = Math.floor((totalSectors - dataSector) / sectorsPerCluster);
  if (totalSectors * bytesPerSector > source.size || clusterCount < 1) {
    throw new DiskFormatError(`${where}: ${totalSectors} sectors do not fit in ${source.size} bytes`);
  }
  const bits: FatBits = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  const clusterBytes = sectorsPerCluster * bytesPerSector;
  const pages = new Map<number, Promise<Buffer>>();
  const fatBytes = fatSectors * bytesPerSector;
  const page = (n: number) => {
    let p = pages.get(n);
    if (!p) {
      p = source.read(fatOffset + n * PAGE, Math.min(PAGE + 4, fatBytes - n * PAGE));
      pages.set(n, p);
    }
    return p;
  };
  const entry = async (n: number): Promise<number> => {
    const at = bits === 12 ? n + (n >> 1) : (n * bits) / 8;
    const bytes = await page(Math.floor(at / PAGE));
    const i = at % PAGE;
    if (bits === 32) return bytes.readUInt32LE(i) & 0x0fffffff;
    const v = bytes.readUInt16LE(i);
    return bits === 16 ? v : n & 1 ? v >> 4 : v & 0xfff;
  };
  const endOfChain = bits === 12 ? 0xff8 : bits === 16 ? 0xfff8 : 0x0ffffff8;
  return {
    bits,
    bytesPerSector,
    clusterBytes,
    clusterCount,
    ...(bits === 32
      ? {}
      : {
          rootRegion: {
            offset: (reserved + fats * fatSectors) * bytesPerSector,
            length: rootSectors * bytesPerSector,
          },
        }),
    rootCluster: bits === 32 ? boot.readUInt32LE(44) : 0,
    clusterOffset: (n) => (dataSector + (n - 2) * sectorsPerCluster) * bytesPerSector,
    async chain(first, chainWhere, max) {
      const clusters: number[] = [];
      const seen = new Set<number>();
      for (let n = first; n < endOfChain && clusters.length < max; n = await entry(n)) {
        if (n < 2 || n > clusterCount + 1) {
          throw new DiskFormatError(`${chainWhere}: cluster chain links to cluster ${n}, outside the volume`);
        }
        if (seen.has(n)) throw new DiskFormatError(`${chainWhere}: cluster chain loops at cluster ${n}`);
        seen.add(n);
        clusters.push(n);
      }
      return clusters;
    },
  };
}
