import { AlreadyExistsError } from "../../errors.ts";
import type { StagingArea } from "../../ports/local-files.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import { type IndexedPack, writeIndex } from "../index/block-index.ts";
import type { VaultSecrets } from "../keys/keys.ts";
import { packKey } from "../store/layout.ts";
import type { PooledPack } from "../workers/worker-pool.ts";
import type { WrappedKeyRef } from "./pack.ts";

/** Tuning of a {@link PackSink}. */
export interface PackSinkOptions {
  /** Pack uploads in flight before `accept` waits: bounds memory. */
  readonly maxInFlight?: number;
  /** Write an index object after this many packs, so a crash loses little finished work. */
  readonly indexEvery?: number;
  /**
   * Garbage collection's bookkeeping around each index object: `beforeIndex` runs after the packs
   * are stored and before the index naming them is written (it registers their reference
   * records, so every indexed pack has one); `afterIndex` runs once the index object exists.
   */
  readonly beforeIndex?: (packIds: string[]) => Promise<void>;
  readonly afterIndex?: (packIds: string[], indexId: string) => Promise<void>;
  /** Where the workers write packs that come without a buffer (see `WorkerPack`). */
  readonly staging?: StagingArea;
}

/**
 * Uploads the packs the workers fill, then describes them in index objects. It keeps the first
 * write-ordering rule: an index object is written only after every pack it names is stored.
 */
export class PackSink {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly unindexed: IndexedPack[] = [];
  private readonly indexing: Promise<void>[] = [];
  private readonly keyRefs = new Map<number, WrappedKeyRef>();
  private failure: unknown;
  /** Bytes of packs and index objects written so far. */
  bytesStored = 0;
  private readonly maxInFlight: number;
  private readonly indexEvery: number;
  private readonly options: PackSinkOptions;
  /** Every pack this sink has indexed, in the order their index objects were written. */
  readonly indexed: IndexedPack[] = [];
  private readonly store: ObjectStore;
  private readonly secrets: VaultSecrets;
  private readonly recycle: (pack: PooledPack) => void;

  constructor(
    store: ObjectStore,
    secrets: VaultSecrets,
    recycle: (pack: PooledPack) => void,
    options: PackSinkOptions = {},
  ) {
    this.store = store;
    this.secrets = secrets;
    this.recycle = recycle;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.indexEvery = options.indexEvery ?? 64;
    this.options = options;
  }

  /** Records which wrapped key a data-key generation stands for. */
  registerKey(generation: number, ref: WrappedKeyRef): void {
    this.keyRefs.set(generation, ref);
  }

  /** Starts uploading finished packs; waits while too many uploads are in flight. */
  async accept(packs: readonly PooledPack[]): Promise<void> {
    for (const pack of packs) {
      while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
      this.throwIfFailed();
      const upload = this.upload(pack).catch((err) => {
        this.failure ??= err;
      });
      this.inFlight.add(upload);
      void upload.finally(() => this.inFlight.delete(upload));
    }
  }

  private async upload(pack: PooledPack): Promise<void> {
    try {
      if (pack.buffer) await this.store.put(packKey(pack.id), new Uint8Array(pack.buffer, 0, pack.length));
      else if (this.options.staging) await this.options.staging.put(packKey(pack.id), pack.id);
      else throw new Error(`pack ${pack.id} was written to a staging area this backup does not have`);
    } catch (err) {
      // Same name means same bytes: a pack an earlier, interrupted run already stored.
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    this.recycle(pack);
    this.bytesStored += pack.length;
    this.unindexed.push({
      id: pack.id,
      size: pack.length,
      key: this.keyRefs.get(pack.generation)!,
      blobs: pack.blobs,
    });
    if (this.unindexed.length >= this.indexEvery)
      this.indexing.push(this.writeIndex(this.unindexed.splice(0)));
  }

  private async writeIndex(packs: IndexedPack[]): Promise<void> {
    try {
      const ids = packs.map((p) => p.id);
      await this.options.beforeIndex?.(ids);
      const { id, size } = await writeIndex(this.store, this.secrets, packs);
      this.bytesStored += size;
      this.indexed.push(...packs);
      await this.options.afterIndex?.(ids, id);
    } catch (err) {
      this.failure ??= err;
    }
  }

  /** Waits for every upload, then indexes what is not yet indexed. */
  async finish(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    if (this.unindexed.length > 0) this.indexing.push(this.writeIndex(this.unindexed.splice(0)));
    await Promise.all(this.indexing);
    this.throwIfFailed();
  }

  /** Waits for uploads already started, without writing anything new (used after a failure). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight, ...this.indexing]);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
