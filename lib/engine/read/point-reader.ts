import { ValidationError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import { condemnedPacks } from "../gc/chain.ts";
import { loadLiveIndex } from "../index/block-index.ts";
import { packDataKeys } from "../keys/pack-data-keys.ts";
import { HOLE_ID, loadManifest } from "../points/manifest.ts";
import { rootOf } from "../points/point-binding.ts";
import { BLOCK_ID_BYTES } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { BlockCache } from "./block-cache.ts";
import { type FetchContext, fetchBlocks, type WantedBlock } from "./block-fetch.ts";

/** Options of {@link openPointReader}. */
export interface PointReaderOptions {
  /** Bytes of opened blocks kept for later reads (default 32 MiB; 0 keeps none). */
  readonly cacheBytes?: number;
}

/** What a reader has cost so far. */
export interface PointReaderStats {
  /** Ranged reads of packs from the object store. */
  readonly packReads: number;
  /** Bytes those reads fetched. */
  readonly bytesFetched: number;
  /** Blocks served from the cache or from a fetch another read had started. */
  readonly blocksShared: number;
  /** Bytes the cache holds now. */
  readonly cachedBytes: number;
}

/**
 * Random access to one recovery point's bytes, without restoring it: file-level recovery and
 * block exports read through this. Every block is verified before its bytes are returned.
 */
export interface PointReader {
  readonly pointId: string;
  /** The disk's size in bytes. */
  readonly size: number;
  readonly blockSize: number;
  /** The format the disk was read from when the point was taken (`raw`, `qcow2`, `vhd-fixed`, …). */
  readonly sourceFormat: string;
  /**
   * The point's block map: one block id of `BLOCK_ID_BYTES` per block, `HOLE_ID` for a hole. Ids
   * are keyed per vault, so two maps compare only within one vault (equal id, equal bytes).
   * Read-only.
   */
  readonly blockMap: Buffer;
  /**
   * The `length` bytes at `offset`. Holes read as zeros without I/O; a range past the end of the
   * disk is a ValidationError naming the point and the range; a zero-length read returns an empty
   * buffer. A damaged block is an IntegrityError: wrong bytes are never returned. Reads may run
   * concurrently; a block two of them need is fetched once.
   */
  read(offset: number, length: number): Promise<Buffer>;
  readonly stats: PointReaderStats;
  /** Drops the cache; later reads are refused. */
  close(): void;
}

/**
 * Refuses a byte range that is not whole numbers inside the point's disk, naming the point; a
 * caller that streams a range in pieces checks the whole range first with it.
 */
export function checkReadRange(
  reader: Pick<PointReader, "pointId" | "size">,
  offset: number,
  length: number,
): void {
  const whole = Number.isSafeInteger(offset) && Number.isSafeInteger(length);
  if (!whole || offset < 0 || length < 0 || offset + length > reader.size) {
    throw new ValidationError(
      `read of recovery point ${reader.pointId}: bytes ${offset}+${length} are outside the disk (0-${reader.size})`,
    );
  }
}

/** Bytes one read may ask for: reads hold their result in memory. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Opens a reader of `point`: loads and verifies its block map (bound to the point's catalog
 * record) and the vault's index. Packs are read only as blocks are asked for, by byte range, so an
 * archived point's reads fail as its restore would until it is rehydrated.
 */
export async function openPointReader(
  ctx: VaultContext,
  point: RecoveryPointRecord,
  options: PointReaderOptions = {},
): Promise<PointReader> {
  const { store } = ctx.deps;
  const [manifest, index] = await Promise.all([
    loadPointManifest(ctx, point),
    loadLiveIndex(store, ctx.secrets, condemnedPacks(ctx)),
  ]);
  const counters = { packReads: 0, bytesFetched: 0, blocksShared: 0 };
  const fetch: FetchContext = {
    store,
    index,
    blockIdKey: ctx.secrets.blockIdKey,
    dataKey: packDataKeys(ctx, index),
    onRead: (bytes) => {
      counters.packReads++;
      counters.bytesFetched += bytes;
    },
  };
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
    throw new ValidationError(`reader cache must be a whole number of bytes >= 0, got ${cacheBytes}`);
  }
  const { root } = manifest;
  return new BlockMapReader(point.id, root.logicalSize, root.blockSize, root.sourceFormat, manifest.ids, {
    fetch,
    cache: new BlockCache(cacheBytes),
    counters,
  });
}

/** The point's root manifest and block map, verified against its catalog record. */
export function loadPointManifest(ctx: VaultContext, point: RecoveryPointRecord) {
  return loadManifest(ctx.deps.store, ctx.secrets, point.manifest, rootOf(ctx, point));
}

interface ReaderParts {
  readonly fetch: FetchContext;
  readonly cache: BlockCache;
  readonly counters: { packReads: number; bytesFetched: number; blocksShared: number };
}

/** A {@link PointReader} over a loaded block map. */
class BlockMapReader implements PointReader {
  readonly #ids: Buffer;
  readonly #parts: ReaderParts;
  /** Blocks being fetched, by hex ID: a second read waits for the first's fetch. */
  readonly #inFlight = new Map<string, Promise<Buffer>>();
  #closed = false;

  readonly pointId: string;
  readonly size: number;
  readonly blockSize: number;
  readonly blockMap: Buffer;
  readonly sourceFormat: string;

  constructor(
    pointId: string,
    size: number,
    blockSize: number,
    sourceFormat: string,
    ids: Buffer,
    parts: ReaderParts,
  ) {
    this.blockMap = ids;
    this.sourceFormat = sourceFormat;
    this.pointId = pointId;
    this.size = size;
    this.blockSize = blockSize;
    this.#ids = ids;
    this.#parts = parts;
  }

  get stats(): PointReaderStats {
    return { ...this.#parts.counters, cachedBytes: this.#parts.cache.bytes };
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.#check(offset, length);
    const out = Buffer.alloc(length);
    const first = Math.floor(offset / this.blockSize);
    const end = Math.ceil((offset + length) / this.blockSize);
    const blocks = await this.#blocks(first, end);
    for (const [b, block] of blocks) {
      const at = b * this.blockSize;
      const from = Math.max(at, offset);
      const to = Math.min(at + block.length, offset + length);
      block.copy(out, from - offset, from - at, to - at);
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    this.#parts.cache.clear();
  }

  #check(offset: number, length: number): void {
    if (this.#closed) throw new ValidationError(`reader of recovery point ${this.pointId} is closed`);
    checkReadRange(this, offset, length);
    if (length > MAX_READ_BYTES) {
      throw new ValidationError(
        `read of recovery point ${this.pointId}: ${length} bytes at once is more than ${MAX_READ_BYTES}`,
      );
    }
  }

  /** The opened blocks `[first, end)` that are not holes, by block number. */
  async #blocks(first: number, end: number): Promise<Map<number, Buffer>> {
    const found = new Map<number, Buffer>();
    const waits: Promise<void>[] = [];
    const wanted = new Map<string, { id: Buffer; length: number; blocks: number[] }>();
    for (let b = first; b < end; b++) {
      const id = this.#ids.subarray(b * BLOCK_ID_BYTES, (b + 1) * BLOCK_ID_BYTES);
      if (id.equals(HOLE_ID)) continue;
      const hex = id.toString("hex");
      const shared = this.#parts.cache.get(hex) ?? this.#inFlight.get(hex);
      if (shared) {
        this.#parts.counters.blocksShared++;
        if (Buffer.isBuffer(shared)) found.set(b, shared);
        else waits.push(shared.then((block) => void found.set(b, block)));
        continue;
      }
      const entry = wanted.get(hex) ?? { id, length: this.#blockLength(b), blocks: [] };
      entry.blocks.push(b);
      wanted.set(hex, entry);
    }
    if (wanted.size > 0) waits.push(this.#fetch([...wanted.values()], found));
    await Promise.all(waits);
    return found;
  }

  /** Fetches blocks no one has, registering each as in flight until it is opened or failed. */
  async #fetch(
    wanted: { id: Buffer; length: number; blocks: number[] }[],
    found: Map<number, Buffer>,
  ): Promise<void> {
    const settle = wanted.map(() => Promise.withResolvers<Buffer>());
    wanted.forEach((w, i) => {
      const hex = w.id.toString("hex");
      settle[i]!.promise.catch(() => {}); // a waiter observes it; the fetch's own failure is thrown below
      this.#inFlight.set(hex, settle[i]!.promise);
    });
    try {
      await fetchBlocks(this.#parts.fetch, wanted as WantedBlock[], (i, block) => {
        const w = wanted[i]!;
        for (const b of w.blocks) found.set(b, block);
        this.#parts.cache.set(w.id.toString("hex"), block);
        settle[i]!.resolve(block);
      });
    } catch (err) {
      for (const s of settle) s.reject(err);
      throw err;
    } finally {
      for (const w of wanted) this.#inFlight.delete(w.id.toString("hex"));
    }
  }

  #blockLength(b: number): number {
    return Math.min(this.blockSize, this.size - b * this.blockSize);
  }
}
