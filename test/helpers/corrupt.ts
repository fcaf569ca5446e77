import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import type { RestoreTarget } from "../../lib/ports/restore-target.ts";
import type { Vault } from "../../lib/vault.ts";

/**
 * XORs one bit of the byte at `position` of a file (the bit varies with the position, so every
 * bit lane gets exercised), runs `fn`, and puts the byte back even if `fn` throws.
 */
export async function withFlippedByte<T>(file: string, position: number, fn: () => Promise<T>): Promise<T> {
  const handle = await open(file, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    const original = byte[0]!;
    byte[0] = original ^ (1 << (position % 8));
    await handle.write(byte, 0, 1, position);
    try {
      return await fn();
    } finally {
      byte[0] = original;
      await handle.write(byte, 0, 1, position);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Restores a point into `outDir/restored.img` expecting a rejection of class `errorClass`, and
 * checks that nothing (no target, no partial file) was left in `outDir`. Returns the error.
 */
export async function expectRestoreRejects(
  vault: Vault,
  pointId: string,
  outDir: string,
  errorClass: new (...args: never[]) => Error,
  label: string,
): Promise<Error> {
  const error = await vault.restoreToFile(pointId, join(outDir, "restored.img")).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, `${label}: restore must fail`).toBeInstanceOf(errorClass);
  expect(await readdir(outDir), `${label}: nothing may be left behind`).toEqual([]);
  return error!;
}

/** A {@link RestoreTarget} in memory that records what the engine did with it. */
export interface RecordingTarget extends RestoreTarget {
  readonly bytesWritten: number;
  readonly committed: boolean;
  readonly aborted: boolean;
}

/** A fresh {@link RecordingTarget}: cheaper than a file when a test restores thousands of times. */
export function recordingTarget(): RecordingTarget {
  const state = { bytesWritten: 0, committed: false, aborted: false };
  return {
    description: "memory",
    get bytesWritten() {
      return state.bytesWritten;
    },
    get committed() {
      return state.committed;
    },
    get aborted() {
      return state.aborted;
    },
    async write(_offset, data) {
      state.bytesWritten += data.length;
    },
    async commit() {
      state.committed = true;
      return "memory";
    },
    async abort() {
      state.aborted = true;
    },
  };
}

/** Restores into a {@link recordingTarget} expecting `errorClass`; the target must be aborted. */
export async function expectRestoreToMemoryRejects(
  vault: Vault,
  pointId: string,
  errorClass: new (...args: never[]) => Error,
  label: string,
): Promise<void> {
  const target = recordingTarget();
  const error = await vault.restore(pointId, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${label}: restore must fail`).toBeInstanceOf(errorClass);
  expect(target.committed || !target.aborted, `${label}: target must be aborted, not committed`).toBe(false);
}
