import { Readable } from "node:stream";
import {
  CompleteSnapshotCommand,
  type EBSClient,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
} from "@aws-sdk/client-ebs";
import type { S3Client } from "@aws-sdk/client-s3";
import { sha256Base64 } from "../../lib/adapters/aws/ebs-blocks.ts";

/** A snapshot written on the emulator, and the block size it reported. */
export interface TestSnapshot {
  readonly id: string;
  readonly blockSize: number;
  readonly volumeBytes: number;
}

/**
 * Writes a snapshot with StartSnapshot, PutSnapshotBlock and CompleteSnapshot: `blocks` maps a
 * block index to its bytes (one block long, in the block size StartSnapshot reports).
 * `badChecksum` blocks are sent with a wrong checksum, which moto stores without checking.
 */
export async function writeSnapshot(
  ebs: EBSClient,
  blocks: ReadonlyMap<number, Buffer>,
  options: { volumeGiB?: number; parent?: string; badChecksum?: readonly number[] } = {},
): Promise<TestSnapshot> {
  const started = await ebs.send(
    new StartSnapshotCommand({
      VolumeSize: options.volumeGiB ?? 1,
      ...(options.parent ? { ParentSnapshotId: options.parent } : {}),
    }),
  );
  const id = started.SnapshotId!;
  const blockSize = started.BlockSize!;
  for (const [index, data] of blocks) {
    if (data.length !== blockSize) throw new Error(`test block ${index} must be ${blockSize} bytes`);
    const checksum = options.badChecksum?.includes(index)
      ? sha256Base64(Buffer.from("other"))
      : sha256Base64(data);
    await ebs.send(
      new PutSnapshotBlockCommand({
        SnapshotId: id,
        BlockIndex: index,
        BlockData: data,
        DataLength: blockSize,
        Checksum: checksum,
        ChecksumAlgorithm: "SHA256",
      }),
    );
  }
  await ebs.send(new CompleteSnapshotCommand({ SnapshotId: id, ChangedBlocksCount: blocks.size }));
  return { id, blockSize, volumeBytes: started.VolumeSize! * 1024 ** 3 };
}

/** The disk bytes `[0, length)` a snapshot with these blocks holds (unwritten blocks are zeros). */
export function expectedBytes(
  blocks: ReadonlyMap<number, Buffer>,
  blockSize: number,
  length: number,
): Buffer {
  const out = Buffer.alloc(length);
  for (const [index, data] of blocks) {
    if (index * blockSize < length) data.copy(out, index * blockSize);
  }
  return out;
}

/** Both clients' stacks take the same middleware; TypeScript cannot call a union of them. */
function stackOf(client: EBSClient | S3Client): S3Client["middlewareStack"] {
  return client.middlewareStack as S3Client["middlewareStack"];
}

/** Names of the commands a real client sends, in order (a middleware sees every one). */
export function recordCommands(client: EBSClient | S3Client): string[] {
  const seen: string[] = [];
  stackOf(client).add(
    (next, context) => (args) => {
      seen.push(String(context.commandName));
      return next(args);
    },
    { step: "initialize" },
  );
  return seen;
}

/** Tracks the most requests a real client had in flight at once (from send to response headers). */
export function trackConcurrency(client: EBSClient | S3Client, commandName: string): { max: number } {
  const stats = { max: 0 };
  let active = 0;
  stackOf(client).add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      active++;
      stats.max = Math.max(stats.max, active);
      try {
        return await next(args);
      } finally {
        active--;
      }
    },
    { step: "finalizeRequest" },
  );
  return stats;
}

/** A streamed body, as the SDK returns one, for a mocked response. */
export function body(data: Buffer): never {
  return Readable.from([data]) as never;
}
