import { once } from "node:events";
import { open, rm } from "node:fs/promises";
import type { Writable } from "node:stream";
import { checkReadRange, type PointReader } from "../../engine/read/point-reader.ts";
import { AlreadyExistsError } from "../../errors.ts";
import { type CommandContext, integerOption, onePositional, withVault } from "../context.ts";
import { formatBytes } from "../format.ts";

/** Bytes asked of the reader at a time: a few blocks' worth of output in memory. */
const STEP = 4 * 1024 * 1024;

/** `blockvault read POINT [--offset N] [--length N] [--out FILE]`: bytes of a point, verified. */
export async function readCommand(ctx: CommandContext): Promise<void> {
  const pointId = onePositional(ctx, "RECOVERY_POINT_ID");
  const offset = integerOption(ctx, "offset") ?? 0;
  const asked = integerOption(ctx, "length");
  const out = typeof ctx.values.out === "string" ? ctx.values.out : undefined;
  await withVault(ctx.global, async (vault) => {
    const reader = await vault.openPointReader(pointId);
    try {
      const length = asked ?? Math.max(0, reader.size - offset);
      // Checked before any output, so a bad range writes nothing.
      checkReadRange(reader, offset, length);
      if (out === undefined) {
        await copyRange(reader, offset, length, (bytes) => writeTo(process.stdout, bytes));
        return;
      }
      await copyToNewFile(reader, offset, length, out);
      ctx.print(
        { recoveryPointId: pointId, offset, length, out, packReads: reader.stats.packReads },
        `Read ${formatBytes(length)} of ${pointId} at offset ${offset} into ${out}`,
      );
    } finally {
      reader.close();
    }
  });
}

/** Reads `[offset, offset + length)` a step at a time, handing each piece to `sink` in order. */
async function copyRange(
  reader: PointReader,
  offset: number,
  length: number,
  sink: (bytes: Buffer) => Promise<void>,
): Promise<void> {
  for (let done = 0; done < length; ) {
    const bytes = await reader.read(offset + done, Math.min(STEP, length - done));
    await sink(bytes);
    done += bytes.length;
  }
}

/** Writes into a file that must not exist yet; a failed read leaves no partial file behind. */
async function copyToNewFile(
  reader: PointReader,
  offset: number,
  length: number,
  path: string,
): Promise<void> {
  const file = await open(path, "wx", 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EEXIST")
      throw new AlreadyExistsError(`${path} already exists; read writes only new files`);
    throw err;
  });
  try {
    let at = 0;
    await copyRange(reader, offset, length, async (bytes) => {
      await file.write(bytes, 0, bytes.length, at);
      at += bytes.length;
    });
    await file.sync();
    await file.close();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(path, { force: true });
    throw err;
  }
}

/** Writes to a stream, waiting for it to drain when its buffer is full. */
async function writeTo(stream: Writable, bytes: Buffer): Promise<void> {
  if (!stream.write(bytes)) await once(stream, "drain");
}
