import { IntegrityError, NotFoundError } from "../../errors.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { BlockIndex } from "../index/block-index.ts";
import { openBlock } from "../pack/blob.ts";
import { type PlannedRead, planReads } from "../restore/restore-plan.ts";
import { packKey } from "../store/layout.ts";
import type { OpenItem } from "../workers/worker-protocol.ts";

/** One block to fetch: its ID and the length its place on the disk gives it. */
export interface WantedBlock {
  readonly id: Buffer;
  readonly length: number;
}

/** What fetching needs: the store, the index, the keys. */
export interface FetchContext {
  readonly store: ObjectStore;
  readonly index: BlockIndex;
  readonly blockIdKey: Buffer;
  /** The plaintext data key of a pack (unwrapped once per wrapped key). */
  readonly dataKey: (packId: string) => Promise<Buffer>;
  /** Counts every ranged read of a pack and its bytes. */
  readonly onRead?: (bytes: number) => void;
  /**
   * Opens the sealed blobs of one read off the main thread (a worker pool's `open`, which checks
   * them as {@link openBlock} does); without it they are opened here, one after the other.
   */
  readonly openBlobs?: (key: Buffer, bytes: Buffer, items: OpenItem[]) => Promise<Buffer[]>;
}

/** Ranged pack reads in flight at once: enough to hide a cloud store's latency. */
const READS_IN_FLIGHT = 4;

/**
 * Fetches, verifies and decrypts `wanted` blocks: each is located through the index, blobs close
 * together in a pack are fetched in one ranged read, and every block is checked (AEAD tag, then
 * its keyed hash against its ID, then its length) before it is handed to `deliver`. A block the
 * index does not know, or a pack missing from the store, is an IntegrityError: the vault lost
 * data it had promised.
 */
export async function fetchBlocks(
  ctx: FetchContext,
  wanted: readonly WantedBlock[],
  deliver: (wantedIndex: number, block: Buffer) => void,
): Promise<void> {
  const reads = planReads(Buffer.concat(wanted.map((w) => w.id)), 0, wanted.length, ctx.index);
  await mapLimit(reads, READS_IN_FLIGHT, async (read) => {
    const [bytes, key] = await Promise.all([readPackRange(ctx, read), ctx.dataKey(read.pack)]);
    const opened = ctx.openBlobs
      ? await ctx.openBlobs(
          key,
          bytes,
          read.blobs.map((b) => ({
            id: b.id,
            offset: b.offset - read.offset,
            length: b.length,
            rawLength: b.rawLength,
          })),
        )
      : undefined;
    for (const [i, blob] of read.blobs.entries()) {
      // With workers the read's bytes were moved to one of them: only the fallback reads them here.
      const block =
        opened?.[i] ??
        openBlock(
          key,
          ctx.blockIdKey,
          Buffer.from(blob.id, "hex"),
          bytes.subarray(blob.offset - read.offset, blob.offset - read.offset + blob.length),
          blob.rawLength,
        );
      for (const w of blob.blocks) {
        const expected = wanted[w]!.length;
        if (block.length !== expected) {
          throw new IntegrityError(`block ${blob.id}: length ${block.length}, expected ${expected}`);
        }
        deliver(w, block);
      }
    }
  });
}

async function readPackRange(ctx: FetchContext, read: PlannedRead): Promise<Buffer> {
  const key = packKey(read.pack);
  const bytes = await ctx.store
    .get(key, { offset: read.offset, length: read.length })
    .catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
      throw new IntegrityError(`${key} is missing from the vault`, { cause: err });
    });
  if (bytes.length !== read.length) {
    throw new IntegrityError(`${key}: read ${bytes.length} bytes at ${read.offset}, expected ${read.length}`);
  }
  ctx.onRead?.(bytes.length);
  return bytes;
}
