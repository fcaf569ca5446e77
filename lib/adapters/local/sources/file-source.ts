import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { BlockvaultError, SourceError, ValidationError } from "../../../errors.ts";
import type { HostFile } from "../../../formats/image-layout.ts";
import { LOCAL_FILE, type LocalFile, type WithLocalFile } from "../../../ports/local-files.ts";
import type { VolumeRange, VolumeSource } from "../../../ports/volume-source.ts";
import { sourceErrorFromFs } from "../../../util/source-fs-errors.ts";
import { openBacking } from "./backing-chain.ts";
import { blockDeviceSize, DEFAULT_SYSFS_ROOT } from "./block-device.ts";
import { detectImage } from "./detect-image.ts";
import { allocatedExtents } from "./extent-map.ts";
import { LayoutSource } from "./layout-source.ts";

/** Formats a local image can be detected as. */
export const FileSourceFormat = { Raw: "raw", BlockDevice: "block-device", VhdFixed: "vhd-fixed" } as const;
export type FileSourceFormat = (typeof FileSourceFormat)[keyof typeof FileSourceFormat];

/** Knobs for {@link openFileSource}. */
export interface FileSourceOptions {
  /** sysfs mount point used to size block devices (default `/sys`); only tests need it. */
  readonly sysfsRoot?: string;
  /** Read the file as raw bytes whatever it holds (a backing file its image declares raw). */
  readonly raw?: boolean;
  /** The images whose backing chain this one is part of (real paths), to refuse loops. */
  readonly chain?: readonly string[];
}

/**
 * Opens a local disk image as a {@link VolumeSource}, detecting its format by its content: a raw
 * file, a block device, a fixed VHD (its footer hidden: `size` and `read` cover the disk only),
 * or a format read as the guest sees it (qcow2 with its backing chain, and the others
 * `detectImage` knows), whose holes are known from its own tables.
 *
 * @param path - file or device path; used as the source's `description`.
 * @throws SourceError naming the path when the image is missing, unreadable, a directory, empty,
 *   a corrupt or non-fixed VHD, or a block device whose size cannot be found.
 */
export async function openFileSource(path: string, options: FileSourceOptions = {}): Promise<VolumeSource> {
  // stat before open: opening a FIFO for reading would block until a writer appears.
  const st = await stat(path).catch((err: unknown) => {
    throw sourceErrorFromFs(err, path);
  });
  if (st.isDirectory()) throw new SourceError(`image path is a directory, not a disk image: ${path}`);
  if (!st.isFile() && !st.isBlockDevice()) {
    throw new SourceError(`image is neither a regular file nor a block device: ${path}`);
  }
  const handle = await open(path, "r").catch((err: unknown) => {
    throw sourceErrorFromFs(err, path);
  });
  try {
    if (st.isBlockDevice()) {
      const size = await blockDeviceSize(path, st.rdev, options.sysfsRoot ?? DEFAULT_SYSFS_ROOT);
      if (size === 0) throw new SourceError(`image is empty (0 bytes): ${path}`);
      return new FileSource(path, handle, size, FileSourceFormat.BlockDevice);
    }
    // fstat on the open handle, so the size matches the file actually being read.
    const host = hostFile(handle, (await handle.stat()).size, path);
    const detected = await detectImage(host, path, options.raw === true);
    if (detected.kind === "plain") {
      if (detected.size === 0) throw new SourceError(`image is empty (0 bytes): ${path}`);
      return new FileSource(path, handle, detected.size, detected.format);
    }
    const { layout } = detected;
    if (layout.size === 0) throw new SourceError(`image is empty (0 bytes): ${path}`);
    const backing = layout.backing
      ? await openBacking(path, layout.format, layout.backing, options.chain ?? [], (p, o) =>
          openFileSource(p, { ...options, ...o }),
        )
      : undefined;
    return new LayoutSource(path, layout, host, backing, () => handle.close());
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof BlockvaultError ? err : sourceErrorFromFs(err, path);
  }
}

/** The open image file as a format reader sees it. */
function hostFile(handle: FileHandle, size: number, path: string): HostFile {
  return {
    size,
    async read(offset, length, into) {
      const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      try {
        await readFully(handle, buf, offset, path);
      } catch (err) {
        throw err instanceof BlockvaultError ? err : sourceErrorFromFs(err, path, "read image");
      }
      return buf;
    },
  };
}

/** Reads exactly `buf.length` bytes at `position`, looping on short reads. */
async function readFully(handle: FileHandle, buf: Buffer, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) {
      // The size was fixed at open; hitting EOF before it means the image was truncated under us.
      throw new SourceError(`image ${path} ended at ${position + done} bytes: it shrank while open`);
    }
    done += bytesRead;
  }
}

/** A local image opened for positional reads. */
class FileSource implements VolumeSource, WithLocalFile {
  readonly description: string;
  readonly size: number;
  readonly format: string;
  readonly #handle: FileHandle;
  #closing: Promise<void> | undefined;

  constructor(description: string, handle: FileHandle, size: number, format: string) {
    this.description = description;
    this.#handle = handle;
    this.size = size;
    this.format = format;
  }

  /** The open image file, for the engine's worker threads (see `LocalFile`); none once closing. */
  get [LOCAL_FILE](): LocalFile | undefined {
    return this.#closing ? undefined : { fd: this.#handle.fd };
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new ValidationError(`invalid read of ${this.description}: offset ${offset}, length ${length}`);
    }
    if (this.#closing) throw new SourceError(`image ${this.description} is closed`);
    // Clipping at `size` is also what keeps a VHD's footer out of the data.
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (into && into.length < n)
      throw new ValidationError(`read buffer of ${into.length} bytes is smaller than ${n}`);
    const buf = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    try {
      await readFully(this.#handle, buf, offset, this.description);
    } catch (err) {
      throw err instanceof BlockvaultError ? err : sourceErrorFromFs(err, this.description, "read image");
    }
    return buf;
  }

  /**
   * Where an image file holds data, from the filesystem's extent map (see extent-map.ts); a VHD's
   * footer is left out. Undefined for a block device, or when the map is not known for certain.
   */
  async allocatedRanges(): Promise<readonly VolumeRange[] | undefined> {
    if (this.#closing || this.format === FileSourceFormat.BlockDevice) return undefined;
    return allocatedExtents(this.#handle.fd, this.size);
  }

  close(): Promise<void> {
    this.#closing ??= this.#handle.close();
    return this.#closing;
  }
}
