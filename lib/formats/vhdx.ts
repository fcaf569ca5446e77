/**
 * VHDX (Hyper-V) read as the guest sees it: the block allocation table gives each payload block
 * a state and, when present, its place in the file (in MiB). Blocks not present, zero, unmapped
 * or undefined read as zeros and are holes. Written from the MS-VHDX specification.
 */
import {
  type Extent,
  ExtentList,
  formatError,
  type HostFile,
  type ImageLayout,
  readStructure,
} from "./image-layout.ts";
import { readVhdxHeader, type VhdxHeader } from "./vhdx-header.ts";

export { VHDX_SIGNATURE } from "./vhdx-header.ts";

const MiB = 1024 * 1024;
/** Payload block states (the BAT entry's low three bits). */
const State = {
  notPresent: 0,
  undefined: 1,
  zero: 2,
  unmapped: 3,
  fullyPresent: 6,
  partiallyPresent: 7,
} as const;
/** Sectors one sector bitmap block describes: 2^23. */
const SECTORS_PER_BITMAP = 2 ** 23;

/**
 * Opens a VHDX image for reading.
 *
 * @throws ValidationError naming the structure and field of a bad header, region table, metadata
 *   or BAT; differencing VHDX images are refused (their parent chain is not followed).
 */
export async function openVhdx(file: HostFile): Promise<ImageLayout> {
  const header = await readVhdxHeader(file);
  if (header.hasParent) {
    throw formatError(
      "vhdx",
      "metadata",
      "has_parent is set: differencing VHDX images are not supported; merge them first",
    );
  }
  const chunkRatio = (SECTORS_PER_BITMAP * header.logicalSectorSize) / header.blockSize;
  const blocks = Math.ceil(header.size / header.blockSize);
  // Every chunk of payload entries is followed by one sector bitmap entry.
  const entries = blocks + Math.floor((blocks - 1) / chunkRatio);
  if (entries * 8 > header.batBytes) {
    throw formatError(
      "vhdx",
      "BAT",
      `region of ${header.batBytes} bytes holds fewer than the ${entries} entries needed`,
    );
  }
  const bat = await readStructure(file, header.batOffset, entries * 8, "vhdx", "BAT");
  return new VhdxLayout(file, header, bat, chunkRatio);
}

class VhdxLayout implements ImageLayout {
  readonly format = "vhdx";
  readonly size: number;
  readonly #file: HostFile;
  readonly #blockSize: number;
  readonly #bat: Buffer;
  readonly #chunkRatio: number;

  constructor(file: HostFile, header: VhdxHeader, bat: Buffer, chunkRatio: number) {
    this.#file = file;
    this.size = header.size;
    this.#blockSize = header.blockSize;
    this.#bat = bat;
    this.#chunkRatio = chunkRatio;
  }

  async map(offset: number, length: number): Promise<Extent[]> {
    const list = new ExtentList();
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const block = Math.floor(at / this.#blockSize);
      const within = at - block * this.#blockSize;
      const take = Math.min(this.#blockSize - within, end - at);
      list.push(this.#blockExtent(block, within, take));
      at += take;
    }
    return list.extents;
  }

  #blockExtent(block: number, within: number, length: number): Extent {
    const at = (block + Math.floor(block / this.#chunkRatio)) * 8;
    const low = this.#bat.readUInt32LE(at);
    const state = low & 7;
    switch (state) {
      case State.notPresent:
      case State.undefined:
      case State.zero:
      case State.unmapped:
        return { kind: "zero", length };
      case State.fullyPresent: {
        // FileOffsetMB is bits 20..63.
        const mib = (low >>> 20) + this.#bat.readUInt32LE(at + 4) * 4096;
        const host = mib * MiB;
        if (host < MiB || host >= this.#file.size) {
          throw formatError("vhdx", "BAT", `block ${block} is at ${host}, outside the file`);
        }
        return { kind: "data", length, host: host + within };
      }
      default:
        throw formatError(
          "vhdx",
          "BAT",
          `block ${block} has state ${state}, which a disk without a parent cannot have`,
        );
    }
  }
}
