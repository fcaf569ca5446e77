import { execFile } from "node:child_process";
import { open } from "node:fs/promises";
import { promisify } from "node:util";
import { blockId } from "../../engine/pack/blob.ts";
import { HOLE_ID, streamManifest } from "../../engine/points/manifest.ts";
import { rootOf } from "../../engine/points/point-binding.ts";
import { BLOCK_ID_BYTES } from "../../engine/store/layout.ts";
import type { VaultContext } from "../../engine/store/vault-config.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import type { DrillCheck } from "../../policy/policy.ts";

/** What re-hashing a restored image found. */
export interface ImageHashes {
  readonly blocks: number;
  /** Data blocks whose keyed hash matched the manifest's block ID. */
  readonly dataBlocks: number;
  /** Blocks whose bytes do not hash to the manifest's ID (or a hole that is not zeros). */
  readonly mismatches: number;
  /** Byte offset of the first mismatch, if any. */
  readonly firstMismatch?: number;
}

/**
 * Reads a restored image block by block and checks each against the point's manifest: a data
 * block's HMAC under the vault's block-ID key must be its ID, a hole must be zeros. This checks
 * the image as it landed on disk, after the restore's own per-block checks, end to end.
 */
export async function verifyImageHashes(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  path: string,
): Promise<ImageHashes> {
  const manifest = await streamManifest(ctx.deps.store, ctx.secrets, point.manifest, rootOf(ctx, point));
  await manifest.complete;
  const { blockSize } = ctx.config;
  const file = await open(path, "r");
  const buffer = Buffer.alloc(blockSize);
  let dataBlocks = 0;
  let mismatches = 0;
  let firstMismatch: number | undefined;
  const blocks = manifest.ids.length / BLOCK_ID_BYTES;
  try {
    for (let b = 0; b < blocks; b++) {
      const offset = b * blockSize;
      const length = Math.min(blockSize, point.logicalSize - offset);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      const data = buffer.subarray(0, bytesRead);
      const id = manifest.ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      const hole = id.equals(HOLE_ID);
      const ok =
        bytesRead === length &&
        (hole ? data.every((byte) => byte === 0) : blockId(ctx.secrets.blockIdKey, data).equals(id));
      if (!hole) dataBlocks++;
      if (!ok) {
        mismatches++;
        firstMismatch ??= offset;
      }
    }
  } finally {
    await file.close();
  }
  return { blocks, dataBlocks, mismatches, ...(firstMismatch !== undefined ? { firstMismatch } : {}) };
}

/** The fixed, read-only command of each drill check, and the package that brings it. */
export const DRILL_COMMANDS: Readonly<
  Record<DrillCheck, { command: string; args: readonly string[]; pkg: string }>
> = {
  ext4: { command: "e2fsck", args: ["-fn"], pkg: "e2fsprogs" },
  vfat: { command: "fsck.vfat", args: ["-n"], pkg: "dosfstools" },
};

/** How long a check command may run. */
export const DRILL_CHECK_TIMEOUT_MS = 30 * 60_000;

/** What a check command said: passed or not, and its last lines of output. */
export interface CheckOutcome {
  readonly command: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly output: string;
}

/**
 * Runs `check` on the image at `path` (no shell, the image's path the last argument), passing
 * when it exits 0. A command that is not installed fails the check naming the package.
 */
export async function runDrillCheck(check: DrillCheck, path: string): Promise<CheckOutcome> {
  const { command, args, pkg } = DRILL_COMMANDS[check];
  const line = `${command} ${args.join(" ")}`;
  try {
    const { stdout, stderr } = await promisify(execFile)(command, [...args, path], {
      timeout: DRILL_CHECK_TIMEOUT_MS,
      maxBuffer: 4 * 1024 * 1024,
    });
    return { command: line, ok: true, exitCode: 0, output: tail(`${stdout}${stderr}`) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") {
      return {
        command: line,
        ok: false,
        exitCode: null,
        output: `${command} is not installed (install ${pkg})`,
      };
    }
    const exitCode = typeof e.code === "number" ? e.code : null;
    return {
      command: line,
      ok: false,
      exitCode,
      output: tail(`${e.stdout ?? ""}${e.stderr ?? ""}`) || e.message,
    };
  }
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-5).join("\n").slice(-1000);
}
