import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SnapshotWindowError, SourceError } from "../../../errors.ts";
import type {
  PreparedSnapshots,
  SnapshotDisk,
  SnapshotProvider,
  TakenSnapshots,
} from "../../../ports/snapshot-provider.ts";
import { sourceErrorFromFs } from "../../../util/source-fs-errors.ts";
import { blockDeviceSize, DEFAULT_SYSFS_ROOT } from "../sources/block-device.ts";

/** Bytes copied per read; also how often the deadline is checked. */
const CHUNK = 4 << 20;
/** Bytes of the first disk copied to measure this machine's copy rate before the freeze. */
const PROBE_BYTES = 16 << 20;
/** A copy fits a window when it is estimated to take at most this share of it. */
const WINDOW_SHARE = 0.5;

/** Options of {@link copySnapshots}. */
export interface CopySnapshotOptions {
  /** Where copies are made (a private directory is created in it); default the system's temp dir. */
  readonly directory?: string;
}

/**
 * Snapshots of image files (or block devices) by copying them: inside the freeze window when the
 * copy is estimated to fit it (the rate is measured on the first disk before the freeze), else
 * unfrozen, and then the point is crash-consistent and says why. Zero chunks are left as holes.
 * The copies live in a private directory (mode 0700: they hold the disks' data) until released.
 */
export function copySnapshots(options: CopySnapshotOptions = {}): SnapshotProvider {
  return {
    kind: "copy",
    prepare: async (disks) => {
      await removeDeadCopies(options.directory ?? tmpdir());
      const sizes = await Promise.all(disks.map((d) => bytesOf(d.source)));
      const rate = await measureRate(disks[0]!.source, Math.min(sizes[0]!, PROBE_BYTES), options.directory);
      const total = sizes.reduce((a, b) => a + b, 0);
      return new PreparedCopies(disks, sizes, total / rate, options.directory);
    },
  };
}

class PreparedCopies implements PreparedSnapshots {
  readonly #disks: readonly SnapshotDisk[];
  readonly #sizes: readonly number[];
  readonly #estimateMs: number;
  readonly #directory: string | undefined;

  constructor(
    disks: readonly SnapshotDisk[],
    sizes: readonly number[],
    estimateMs: number,
    directory?: string,
  ) {
    this.#disks = disks;
    this.#sizes = sizes;
    this.#estimateMs = estimateMs;
    this.#directory = directory;
  }

  fits(windowMs: number): true | string {
    if (this.#estimateMs <= windowMs * WINDOW_SHARE) return true;
    const mib = (this.#sizes.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(0);
    return `copying the ${mib} MiB of the VM's disks takes about ${Math.ceil(this.#estimateMs)} ms, more than the ${windowMs} ms freeze window allows`;
  }

  async take(deadline?: number): Promise<TakenSnapshots> {
    const dir = await privateDir(this.#directory);
    const release = () => rm(dir, { recursive: true, force: true });
    try {
      const sources: string[] = [];
      for (const [i, disk] of this.#disks.entries()) {
        const to = join(dir, `disk${i}.img`);
        await copyImage(disk.source, to, this.#sizes[i]!, deadline);
        sources.push(to);
      }
      return { sources, release };
    } catch (err) {
      await release();
      throw err;
    }
  }
}

/** The bytes to copy of `path`: a file's length, a block device's size. */
async function bytesOf(path: string): Promise<number> {
  const st = await stat(path).catch((err: unknown) => {
    throw sourceErrorFromFs(err, path);
  });
  if (st.isBlockDevice()) return blockDeviceSize(path, st.rdev, DEFAULT_SYSFS_ROOT);
  if (!st.isFile())
    throw new SourceError(`${path} is neither an image file nor a block device; it cannot be copied`);
  return st.size;
}

/** Bytes per millisecond this machine copies `path` at, from a copy of its first `bytes`. */
async function measureRate(path: string, bytes: number, directory?: string): Promise<number> {
  const dir = await privateDir(directory);
  try {
    const started = performance.now();
    await copyImage(path, join(dir, "probe"), Math.max(bytes, 1));
    return Math.max(bytes, 1) / Math.max(performance.now() - started, 0.1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const PREFIX = "blockvault-snapshot-";

/** A new private directory for copies, named after the process that owns it (atomically so). */
async function privateDir(directory?: string): Promise<string> {
  return mkdtemp(join(directory ?? tmpdir(), `${PREFIX}${process.pid}-`));
}

/**
 * Removes the copies of backups that died before releasing them (a SIGKILL inside the window):
 * directories whose owner process no longer exists. They hold the disks' data.
 */
async function removeDeadCopies(directory: string): Promise<void> {
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names) {
    const owner = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1] ?? Number.NaN);
    if (owner > 0 && !isAlive(owner)) await rm(join(directory, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Copies the first `size` bytes of `from` into a new sparse file `to`, checking `deadline`. */
async function copyImage(from: string, to: string, size: number, deadline?: number): Promise<void> {
  const source = await open(from, "r").catch((err: unknown) => {
    throw sourceErrorFromFs(err, from);
  });
  try {
    const target = await open(to, "wx", 0o600);
    try {
      await target.truncate(size);
      const buffer = Buffer.alloc(CHUNK);
      for (let at = 0; at < size; at += CHUNK) {
        if (deadline !== undefined && Date.now() > deadline) {
          throw new SnapshotWindowError(
            `copying ${from} ran past the end of the freeze window at byte ${at}`,
          );
        }
        const { bytesRead } = await source.read(buffer, 0, Math.min(CHUNK, size - at), at);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        if (!isZero(chunk)) await target.write(chunk, 0, bytesRead, at);
      }
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

const ZERO = Buffer.alloc(CHUNK);

function isZero(chunk: Buffer): boolean {
  return chunk.equals(ZERO.subarray(0, chunk.length));
}
