import { readFile, realpath } from "node:fs/promises";
import { relative } from "node:path";
import { SourceError } from "../../../errors.ts";

/** Where Linux mounts sysfs; tests point this at a fake tree. */
export const DEFAULT_SYSFS_ROOT = "/sys";

/** sysfs reports block device sizes in 512-byte sectors whatever the device's sector size. */
const SYSFS_SECTOR = 512;

/**
 * Parses the content of a sysfs `size` attribute (a decimal count of 512-byte sectors) into
 * bytes.
 *
 * @throws SourceError when the text is not a non-negative integer or the size does not fit a
 *   JavaScript safe integer.
 */
export function parseSysfsSize(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new SourceError(`unreadable size for ${what}: ${JSON.stringify(text)}`);
  const bytes = BigInt(trimmed) * BigInt(SYSFS_SECTOR);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SourceError(`block device too large: ${what}`);
  return Number(bytes);
}

/** Splits a Linux `dev_t` (as `stat().rdev` reports it) into the numbers sysfs uses. */
export function devMajorMinor(rdev: number): { major: number; minor: number } {
  // glibc's encoding: 12 major bits at 8..19 plus high bits from 32, 8 minor bits plus 12..31.
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/**
 * Size in bytes of a block device. fstat reports 0 for block devices and Node exposes no ioctl,
 * so the size comes from sysfs: `<root>/class/block/<name>/size`, where `<name>` is the kernel
 * name found by resolving symlinks (`/dev/mapper/x` -> `/dev/dm-3`, `/dev/disk/by-id/…` ->
 * `/dev/sda`). When that name is not in sysfs (a device node with a custom name), the device
 * number is tried through `<root>/dev/block/<major>:<minor>/size`.
 *
 * @param devicePath - the path the user gave.
 * @param rdev - `stat().rdev` of the device, for the fallback lookup.
 * @param sysfsRoot - sysfs mount point, injectable for tests.
 * @throws SourceError naming the device when neither lookup works.
 */
export async function blockDeviceSize(
  devicePath: string,
  rdev: number | undefined,
  sysfsRoot: string = DEFAULT_SYSFS_ROOT,
): Promise<number> {
  const real = await realpath(devicePath);
  // Kernel names with a slash (`cciss/c0d0`) appear in sysfs with `!` in its place.
  const name = (real.startsWith("/dev/") ? relative("/dev", real) : real.slice(real.lastIndexOf("/") + 1))
    .split("/")
    .join("!");
  const candidates = [`${sysfsRoot}/class/block/${name}/size`];
  if (rdev !== undefined && rdev !== 0) {
    const { major, minor } = devMajorMinor(rdev);
    candidates.push(`${sysfsRoot}/dev/block/${major}:${minor}/size`);
  }
  let lastErr: unknown;
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      lastErr = err;
      continue;
    }
    return parseSysfsSize(text, devicePath);
  }
  throw new SourceError(
    `cannot determine the size of block device ${devicePath} (looked in ${candidates.join(", ")})`,
    {
      cause: lastErr,
    },
  );
}
