import { SourceError, ValidationError } from "../../../errors.ts";
import { type Extent, type HostFile, type ImageLayout, namingImage } from "../../../formats/image-layout.ts";
import { inflateUnit } from "../../../formats/inflate.ts";
import type { VolumeRange, VolumeSource } from "../../../ports/volume-source.ts";

/** Guest bytes mapped at a time when listing what is allocated: bounds the extents held at once. */
const MAP_WINDOW = 1024 * 1024 * 1024;
/** Decompressed units kept for reads that ask for the same unit again. */
const INFLATED_KEPT = 8;

/**
 * A disk image in a format with its own layout (qcow2, VHDX, VMDK, dynamic VHD), read as the
 * guest sees it through the format's map. It offers no local file to the engine's workers: the
 * file's bytes are not the disk's. Its allocation map is the format's own, so what the image
 * does not store is recorded as holes without being read.
 */
export class LayoutSource implements VolumeSource {
  readonly description: string;
  readonly size: number;
  readonly format: string;
  /** The backing chain's files, nearest first (their paths as opened). */
  readonly backingFiles: readonly string[];
  readonly #layout: ImageLayout;
  readonly #host: HostFile;
  readonly #backing: VolumeSource | undefined;
  readonly #closeHost: () => Promise<void>;
  readonly #inflated = new Map<number, Buffer>();
  #closing: Promise<void> | undefined;

  /**
   * @param backing - the image the layout's `backing` extents read from (owned: closed with this
   *   source); zeros without one.
   * @param closeHost - releases the host file.
   */
  constructor(
    description: string,
    layout: ImageLayout,
    host: HostFile,
    backing: VolumeSource | undefined,
    closeHost: () => Promise<void>,
  ) {
    this.description = description;
    this.#layout = layout;
    this.#host = host;
    this.#backing = backing;
    this.#closeHost = closeHost;
    this.size = layout.size;
    this.format = layout.format;
    const further = backing && "backingFiles" in backing ? (backing.backingFiles as readonly string[]) : [];
    this.backingFiles = backing ? [backing.description, ...further] : [];
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new ValidationError(`invalid read of ${this.description}: offset ${offset}, length ${length}`);
    }
    if (this.#closing) throw new SourceError(`image ${this.description} is closed`);
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (into && into.length < n)
      throw new ValidationError(`read buffer of ${into.length} bytes is smaller than ${n}`);
    const buf = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    if (n === 0) return buf;
    try {
      let at = 0;
      for (const extent of await this.#layout.map(offset, n)) {
        await this.#fill(extent, offset + at, buf.subarray(at, at + extent.length));
        at += extent.length;
      }
    } catch (err) {
      throw namingImage(err, this.description);
    }
    return buf;
  }

  async #fill(extent: Extent, guest: number, out: Buffer): Promise<void> {
    switch (extent.kind) {
      case "zero":
        out.fill(0);
        return;
      case "backing":
        await this.#fromBacking(guest, out);
        return;
      case "data": {
        // Past the end of the host file an image reads as zeros, as qemu reads it.
        const stored = Math.max(0, Math.min(out.length, this.#host.size - extent.host));
        if (stored > 0) await this.#host.read(extent.host, stored, out);
        out.fill(0, stored);
        return;
      }
      case "compressed": {
        const unit = await this.#unit(extent);
        unit.copy(out, 0, extent.skip, extent.skip + extent.length);
        return;
      }
    }
  }

  async #fromBacking(guest: number, out: Buffer): Promise<void> {
    const got = this.#backing ? await this.#backing.read(guest, out.length, out) : out.subarray(0, 0);
    out.fill(0, got.length);
  }

  async #unit(extent: Extent & { kind: "compressed" }): Promise<Buffer> {
    const kept = this.#inflated.get(extent.host);
    if (kept) return kept;
    const stored = extent.stored > 0 ? await this.#host.read(extent.host, extent.stored) : Buffer.alloc(0);
    const unit = inflateUnit(this.format, extent.codec, stored, extent.unpacked, extent.host);
    this.#inflated.set(extent.host, unit);
    if (this.#inflated.size > INFLATED_KEPT) this.#inflated.delete(this.#inflated.keys().next().value!);
    return unit;
  }

  /**
   * What the image stores, from its own tables: stored and compressed extents, and the backing
   * file's allocated ranges where the image leaves a range to it. Zero extents are holes.
   */
  async allocatedRanges(): Promise<readonly VolumeRange[] | undefined> {
    if (this.#closing) return undefined;
    const backing = this.#backing ? await backingAllocation(this.#backing, this.size) : [];
    const ranges = new RangeList();
    try {
      await this.#collect(ranges, backing);
    } catch (err) {
      throw namingImage(err, this.description);
    }
    return ranges.ranges;
  }

  async #collect(ranges: RangeList, backing: readonly VolumeRange[]): Promise<void> {
    for (let offset = 0; offset < this.size; offset += MAP_WINDOW) {
      let at = offset;
      for (const extent of await this.#layout.map(offset, Math.min(MAP_WINDOW, this.size - offset))) {
        if (extent.kind === "data" || extent.kind === "compressed") ranges.add(at, extent.length);
        else if (extent.kind === "backing") ranges.addClipped(backing, at, extent.length);
        at += extent.length;
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#closeHost(), this.#backing?.close()]).then(() => undefined);
    return this.#closing;
  }
}

/** The backing image's allocated ranges within `size`; all of it when it cannot tell. */
async function backingAllocation(backing: VolumeSource, size: number): Promise<readonly VolumeRange[]> {
  const within = Math.min(size, backing.size);
  const ranges = (await backing.allocatedRanges?.()) ?? [{ offset: 0, length: within }];
  return ranges
    .filter((r) => r.offset < within)
    .map((r) => ({ offset: r.offset, length: Math.min(r.length, within - r.offset) }));
}

/** Sorted, merged ranges, built in ascending order. */
class RangeList {
  readonly ranges: { offset: number; length: number }[] = [];
  #cursor = 0;

  add(offset: number, length: number): void {
    if (length <= 0) return;
    const last = this.ranges.at(-1);
    if (last && last.offset + last.length === offset) last.length += length;
    else this.ranges.push({ offset, length });
  }

  /** Adds the parts of `from` (sorted) that fall in `[offset, offset + length)`. */
  addClipped(from: readonly VolumeRange[], offset: number, length: number): void {
    const end = offset + length;
    // Calls come in ascending order, so the search resumes where the last one stopped.
    while (this.#cursor < from.length && from[this.#cursor]!.offset + from[this.#cursor]!.length <= offset) {
      this.#cursor++;
    }
    for (let i = this.#cursor; i < from.length && from[i]!.offset < end; i++) {
      const r = from[i]!;
      const start = Math.max(r.offset, offset);
      this.add(start, Math.min(r.offset + r.length, end) - start);
    }
  }
}
