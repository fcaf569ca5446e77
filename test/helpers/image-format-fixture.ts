import { join } from "node:path";
import { expect } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import type { VolumeRange, VolumeSource } from "../../lib/ports/volume-source.ts";
import type { Vault } from "../../lib/vault.ts";
import { type QemuWrite, qemuCompare, qemuImg, qemuWrite } from "./qemu.ts";

/** Writes at scattered offsets of a 64 MiB disk: unaligned, across cluster and table boundaries. */
export const SCATTERED: readonly QemuWrite[] = [
  { offset: 0, length: 4096, pattern: 0x11 },
  { offset: 70_000 * 512, length: 200 * 1024, pattern: 0x22 },
  { offset: 9 * 1024 * 1024 + 512, length: 3 * 1024, pattern: 0x33 },
  { offset: 33 * 1024 * 1024 - 4096, length: 8192, pattern: 0x44 },
  { offset: 63 * 1024 * 1024, length: 1024 * 1024, pattern: 0x55 },
];

export const DISK_SIZE = 64 * 1024 * 1024;

/** What a backup read of the source, in guest bytes. */
export interface ReadLog {
  readonly reads: VolumeRange[];
  allocated: readonly VolumeRange[] | undefined;
}

/** The source with every guest read it serves logged (its allocation map passes through). */
export function loggingReads(source: VolumeSource, log: ReadLog): VolumeSource {
  return {
    description: source.description,
    size: source.size,
    format: source.format,
    read: (offset, length, into) => {
      log.reads.push({ offset, length });
      return source.read(offset, length, into);
    },
    allocatedRanges: async () => {
      log.allocated = await source.allocatedRanges?.();
      return log.allocated;
    },
    close: () => source.close(),
  };
}

/** Bytes of `ranges` in total. */
export function totalBytes(ranges: readonly VolumeRange[]): number {
  return ranges.reduce((sum, r) => sum + r.length, 0);
}

/** Whether every read lies inside one of the allocated ranges. */
export function readsInside(reads: readonly VolumeRange[], allocated: readonly VolumeRange[]): boolean {
  return reads.every((r) =>
    allocated.some((a) => r.offset >= a.offset && r.offset + r.length <= a.offset + a.length),
  );
}

/** The outcome of backing an image up and restoring it as raw. */
export interface RoundTrip {
  readonly format: string;
  readonly recordedFormat: string;
  readonly log: ReadLog;
  /** "identical", or qemu-img compare's account of the difference. */
  readonly compared: string;
  readonly restored: string;
}

/**
 * Backs `image` up as disk `disk`, logging the guest reads, restores the point as a raw file and
 * has qemu-img compare it with the image (read by qemu in `qemuFormat`).
 */
export async function roundTrip(
  vault: Vault,
  dir: string,
  image: string,
  qemuFormat: string,
  disk: string,
): Promise<RoundTrip> {
  const log: ReadLog = { reads: [], allocated: undefined };
  const source = await openFileSource(image);
  const format = source.format;
  const backup = await vault.backup(loggingReads(source, log), { disk }).finally(() => source.close());
  const restored = join(dir, `${disk}.restored.raw`);
  await vault.restoreToFile(backup.recoveryPointId, restored);
  const reader = await vault.openPointReader(backup.recoveryPointId);
  const recordedFormat = reader.sourceFormat;
  reader.close();
  return { format, recordedFormat, log, compared: qemuCompare(image, qemuFormat, restored, "raw"), restored };
}

/** A fresh image made by `qemu-img create -f FORMAT -o OPTIONS`, holding {@link SCATTERED}. */
export function scatteredImage(path: string, format: string, options: string): string {
  qemuImg("create", "-q", "-f", format, ...(options ? ["-o", options] : []), path, String(DISK_SIZE));
  qemuWrite(path, format, SCATTERED);
  return path;
}

/**
 * Checks a round trip: qemu-img finds the restore identical to the image, the format was
 * detected and recorded, and the backup read only what the image's own map says is stored.
 */
export function expectFaithful(trip: RoundTrip, format: string, maxAllocated = DISK_SIZE / 4): void {
  expect(trip.compared).toBe("identical");
  expect(trip.format).toBe(format);
  expect(trip.recordedFormat).toBe(format);
  const allocated = trip.log.allocated ?? [];
  expect(allocated.length).toBeGreaterThan(0);
  expect(totalBytes(allocated)).toBeLessThan(maxAllocated);
  expect(readsInside(trip.log.reads, allocated)).toBe(true);
  expect(totalBytes(trip.log.reads)).toBeLessThanOrEqual(totalBytes(allocated));
}
