import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { BlockvaultError, SourceError, ValidationError } from "../../../errors.ts";
import { hasVhdCookie, parseVhdFooter, VHD_FOOTER_SIZE, VhdDiskType } from "../../../formats/vhd.ts";
import { LOCAL_FILE, type LocalFile, type WithLocalFile } from "../../../ports/local-files.ts";
import type { VolumeRange, VolumeSource } from "../../../ports/volume-source.ts";
import { sourceErrorFromFs } from "../../../util/source-fs-errors.ts";
import { blockDeviceSize, DEFAULT_SYSFS_ROOT } from "./block-device.ts";
import { allocatedExtents } from "./extent-map.ts";

/** Formats a local image can be detected as. */
export const FileSourceFormat = { Raw: "raw", BlockDevice: "block-device", VhdFixed: "vhd-fixed" } as const;
export type FileSourceFormat = (typeof FileSourceFormat)[keyof typeof FileSourceFormat];

/** Knobs for {@link openFileSource}; only tests need them. */
export interface FileSourceOptions {
  /** sysfs mount point used to size block devices (default `/sys`). */
  readonly sysfsRoot?: string;
}

/**
 * Opens a local disk image (raw file, block device or fixed VHD) as a {@link VolumeSource},
 * detecting its format. A VHD's footer is hidden: `size` and `read` cover the disk only.
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
    const { size, format } = st.isBlockDevice()
      ? {
          size: await blockDeviceSize(path, st.rdev, options.sysfsRoot ?? DEFAULT_SYSFS_ROOT),
          format: FileSourceFormat.BlockDevice,
        }
      : await detectFileLayout(handle, path);
    if (size === 0) throw new SourceError(`image is empty (0 bytes): ${path}`);
    return new FileSource(path, handle, size, format);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof BlockvaultError ? err : sourceErrorFromFs(err, path);
  }
}

/** Works out whether a regular file is a raw image or a fixed VHD, and the disk size. */
async function detectFileLayout(handle: FileHandle, path: string): Promise<{ size: number; format: string }> {
  // fstat on the open handle, so the size matches the file actually being read.
  const fileSize = (await handle.stat()).size;
  if (fileSize < VHD_FOOTER_SIZE) return { size: fileSize, format: FileSourceFormat.Raw };
  const tail = Buffer.alloc(VHD_FOOTER_SIZE);
  await readFully(handle, tail, fileSize - VHD_FOOTER_SIZE, path);
  if (!hasVhdCookie(tail)) return { size: fileSize, format: FileSourceFormat.Raw };

  const footer = parseVhdFooter(tail);
  if (footer.checksum !== footer.computedChecksum) {
    throw new SourceError(
      `corrupt VHD footer in ${path}: checksum ${hex(footer.checksum)} does not match ${hex(footer.computedChecksum)}`,
    );
  }
  if (footer.diskType !== VhdDiskType.Fixed) {
    const kind =
      footer.diskType === VhdDiskType.Dynamic
        ? "dynamic"
        : footer.diskType === VhdDiskType.Differencing
          ? "differencing"
          : `type ${footer.diskType}`;
    throw new SourceError(
      `${kind} VHD is not supported: ${path}; convert it to a fixed VHD first ` +
        "(qemu-img convert -O vpc -o subformat=fixed, or Azure's Convert-VHD / azcopy tooling)",
    );
  }
  const diskSize = fileSize - VHD_FOOTER_SIZE;
  if (footer.currentSize !== BigInt(diskSize)) {
    throw new SourceError(
      `fixed VHD ${path} is inconsistent: footer says ${footer.currentSize} bytes but the file holds ${diskSize}`,
    );
  }
  return { size: diskSize, format: FileSourceFormat.VhdFixed };
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

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
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
