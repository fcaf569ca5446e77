/**
 * Dynamic VHD (Azure's, Hyper-V's and Virtual PC's sparse disk) read as the guest sees it: the
 * footer's data offset leads to the dynamic disk header, whose block allocation table (BAT) maps
 * each block of the disk to a place in the file, or to nothing (zeros). Each stored block starts
 * with a sector bitmap saying which of its sectors were written; unwritten ones read as zeros
 * and are holes. Written from the VHD specification.
 */
import {
  type Extent,
  ExtentList,
  formatError,
  type HostFile,
  type ImageLayout,
  readStructure,
} from "./image-layout.ts";
import { TableCache } from "./table-cache.ts";
import type { VhdFooter } from "./vhd.ts";

const FORMAT = "vhd";
const HEADER_COOKIE = "cxsparse";
const HEADER_SIZE = 1024;
const UNALLOCATED = 0xffffffff;
const SECTOR = 512;
/** Blocks larger than this are not something any VHD writer makes; refusing them bounds memory. */
const MAX_BLOCK_SIZE = 256 * 1024 * 1024;

const fail = (message: string) => formatError(FORMAT, "dynamic header", message);

/**
 * Opens a dynamic VHD whose footer (already checked) is `footer` and says `dataOffset`.
 *
 * @throws ValidationError naming the field of a bad dynamic header or BAT.
 */
export async function openDynamicVhd(
  file: HostFile,
  footer: VhdFooter,
  dataOffset: number,
): Promise<ImageLayout> {
  const header = await readStructure(file, dataOffset, HEADER_SIZE, FORMAT, "dynamic header");
  if (header.toString("latin1", 0, 8) !== HEADER_COOKIE)
    throw fail(`cookie at ${dataOffset} is not "cxsparse"`);
  const stored = header.readUInt32BE(36);
  const computed = headerChecksum(header);
  if (stored !== computed) throw fail(`checksum 0x${hex(stored)} does not match 0x${hex(computed)}`);
  const version = header.readUInt32BE(24);
  if (version !== 0x00010000) throw fail(`header_version 0x${hex(version)} is not 0x00010000`);
  const blockSize = header.readUInt32BE(32);
  if (blockSize < SECTOR || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw fail(`block_size ${blockSize} is not a power of two from 512 to ${MAX_BLOCK_SIZE}`);
  }
  const size = Number(footer.currentSize);
  if (!Number.isSafeInteger(size))
    throw formatError(FORMAT, "footer", `current_size ${footer.currentSize} is beyond 2^53`);
  const entries = header.readUInt32BE(28);
  const needed = Math.ceil(size / blockSize);
  if (entries < needed)
    throw fail(`max_table_entries ${entries} is too few for ${size} bytes (needs ${needed})`);
  const tableOffset = Number(header.readBigUInt64BE(16));
  const bat = await readStructure(file, tableOffset, needed * 4, FORMAT, "block allocation table");
  return new DynamicVhdLayout(file, size, blockSize, bat);
}

/** Ones' complement of the byte sum of the header, its checksum field counted as zero. */
function headerChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < HEADER_SIZE; i++) if (i < 36 || i >= 40) sum += header[i]!;
  return ~sum >>> 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

class DynamicVhdLayout implements ImageLayout {
  readonly format = "vhd-dynamic";
  readonly size: number;
  readonly #file: HostFile;
  readonly #blockSize: number;
  readonly #bat: Buffer;
  /** Bytes of a block's sector bitmap: a bit per sector, padded to whole sectors. */
  readonly #bitmapBytes: number;
  readonly #bitmaps: TableCache;

  constructor(file: HostFile, size: number, blockSize: number, bat: Buffer) {
    this.#file = file;
    this.size = size;
    this.#blockSize = blockSize;
    this.#bat = bat;
    this.#bitmapBytes = Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR;
    this.#bitmaps = new TableCache(this.#bitmapBytes);
  }

  async map(offset: number, length: number): Promise<Extent[]> {
    const list = new ExtentList();
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const block = Math.floor(at / this.#blockSize);
      const stop = Math.min(end, (block + 1) * this.#blockSize);
      const sector = this.#bat.readUInt32BE(block * 4);
      if (sector === UNALLOCATED) list.push({ kind: "zero", length: stop - at });
      else await this.#mapBlock(block, sector * SECTOR, at, stop, list);
      at = stop;
    }
    return list.extents;
  }

  /** Maps `[from, to)` within `block`, stored from host offset `start` (its bitmap first). */
  async #mapBlock(block: number, start: number, from: number, to: number, list: ExtentList): Promise<void> {
    const bitmap = await this.#bitmaps.get(start, () =>
      readStructure(this.#file, start, this.#bitmapBytes, FORMAT, `sector bitmap of block ${block}`),
    );
    const base = block * this.#blockSize;
    const data = start + this.#bitmapBytes;
    for (let at = from; at < to; ) {
      const index = Math.floor((at - base) / SECTOR);
      const byte = bitmap[index >>> 3]!;
      // A byte all set or all clear covers its eight sectors at once.
      const run = (index & 7) === 0 && (byte === 0 || byte === 0xff) ? 8 : 1;
      const take = Math.min(to, base + (index + run) * SECTOR) - at;
      // The first sector is the most significant bit of the first byte.
      const written = (byte >> (7 - (index & 7))) & 1;
      list.push(
        written ? { kind: "data", length: take, host: data + (at - base) } : { kind: "zero", length: take },
      );
      at += take;
    }
  }
}
