/**
 * VMDK (VMware) monolithicSparse and streamOptimized images read as the guest sees them: the
 * grain directory points at grain tables, whose entries give each grain's sector in the file,
 * or 0 (never written: zeros) or 1 (a zeroed grain). A stream-optimized image's grains are
 * deflate-compressed, each behind a grain marker that says its compressed size. Written from
 * VMware's Virtual Disk Format specification.
 */
import {
  Codec,
  type Extent,
  ExtentList,
  formatError,
  type HostFile,
  type ImageLayout,
} from "./image-layout.ts";
import { TableCache } from "./table-cache.ts";
import { readVmdkHeader, type VmdkHeader } from "./vmdk-header.ts";

export { VMDK_MAGIC } from "./vmdk-header.ts";

const SECTOR = 512;
/** The grain marker before compressed grain data: the grain's sector (8 bytes) and its size (4). */
const MARKER_BYTES = 12;

/**
 * Opens a VMDK sparse extent with an embedded descriptor for reading.
 *
 * @throws ValidationError naming the field of a bad header, descriptor or grain directory.
 */
export async function openVmdk(file: HostFile): Promise<ImageLayout> {
  const header = await readVmdkHeader(file);
  const gd = header.gdEntries > 0 ? await file.read(header.gdOffset, header.gdEntries * 4) : Buffer.alloc(0);
  return new VmdkLayout(file, header, gd);
}

class VmdkLayout implements ImageLayout {
  readonly format: string;
  readonly size: number;
  readonly #file: HostFile;
  readonly #header: VmdkHeader;
  readonly #gd: Buffer;
  readonly #tables: TableCache;

  constructor(file: HostFile, header: VmdkHeader, gd: Buffer) {
    this.#file = file;
    this.#header = header;
    this.#gd = gd;
    this.format = header.format;
    this.size = header.size;
    this.#tables = new TableCache(header.gtEntries * 4);
  }

  async map(offset: number, length: number): Promise<Extent[]> {
    const list = new ExtentList();
    const { grainBytes, gtEntries } = this.#header;
    const span = grainBytes * gtEntries;
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const gdIndex = Math.floor(at / span);
      const stop = Math.min(end, (gdIndex + 1) * span);
      const table = await this.#grainTable(gdIndex);
      if (!table) list.push({ kind: "zero", length: stop - at });
      else this.#mapTable(table, gdIndex * span, at, stop, list);
      at = stop;
    }
    return list.extents;
  }

  async #grainTable(index: number): Promise<Buffer | undefined> {
    const sector = this.#gd.readUInt32LE(index * 4);
    if (sector === 0) return undefined;
    const bytes = this.#header.gtEntries * 4;
    return this.#tables.get(sector, async () => {
      if (sector * SECTOR + bytes > this.#file.size) {
        throw formatError(
          "vmdk",
          "grain directory",
          `entry ${index} points at sector ${sector}, past the end of the file`,
        );
      }
      return this.#file.read(sector * SECTOR, bytes);
    });
  }

  #mapTable(table: Buffer, base: number, from: number, to: number, list: ExtentList): void {
    const { grainBytes, zeroGrains, compressed } = this.#header;
    for (let at = from; at < to; ) {
      const index = Math.floor((at - base) / grainBytes);
      const within = at - base - index * grainBytes;
      const take = Math.min(grainBytes - within, to - at);
      const sector = table.readUInt32LE(index * 4);
      if (sector === 0 || (sector === 1 && zeroGrains)) list.push({ kind: "zero", length: take });
      else if (compressed) list.push(this.#compressedGrain(sector * SECTOR, within, take));
      else list.push({ kind: "data", length: take, host: sector * SECTOR + within });
      at += take;
    }
  }

  /** A compressed grain: its marker and data, read up to the most deflate can take for a grain. */
  #compressedGrain(host: number, within: number, take: number): Extent {
    const { grainBytes } = this.#header;
    const bound = MARKER_BYTES + grainBytes + Math.ceil(grainBytes / 1000) + 64;
    return {
      kind: "compressed",
      length: take,
      host,
      stored: Math.max(0, Math.min(bound, this.#file.size - host)),
      unpacked: grainBytes,
      skip: within,
      codec: Codec.VmdkGrain,
    };
  }
}
