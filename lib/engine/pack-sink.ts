import { webcrypto } from "node:crypto";
import { AlreadyExistsError } from "../errors.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { type IndexedPack, writeIndex } from "./block-index.ts";
import type { ActiveDataKey } from "./data-keys.ts";
import type { VaultSecrets } from "./keys.ts";
import { PACK_TARGET_BYTES, packKey } from "./layout.ts";
import { PackBuilder } from "./pack.ts";

/** Tuning of a {@link PackSink}. */
export interface PackSinkOptions {
  readonly targetBytes?: number;
  /** Pack uploads in flight before `add` waits: bounds memory. */
  readonly maxInFlight?: number;
  /** Write an index object after this many packs, so a crash loses little finished work. */
  readonly indexEvery?: number;
}

/**
 * Turns a stream of sealed blobs into packs in the object store, then into index objects. It
 * keeps the first write-ordering rule: an index object is written only after every pack it
 * names is durably stored. One open pack per data-key generation, since a pack has one key.
 */
export class PackSink {
  private readonly builders = new Map<number, { key: ActiveDataKey; builder: PackBuilder }>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly unindexed: IndexedPack[] = [];
  private readonly indexing: Promise<void>[] = [];
  private failure: unknown;
  /** Bytes of packs and index objects written so far. */
  bytesStored = 0;
  packsWritten = 0;
  private readonly targetBytes: number;
  private readonly maxInFlight: number;
  private readonly indexEvery: number;
  private readonly store: ObjectStore;
  private readonly secrets: VaultSecrets;

  constructor(store: ObjectStore, secrets: VaultSecrets, options: PackSinkOptions = {}) {
    this.store = store;
    this.secrets = secrets;
    this.targetBytes = options.targetBytes ?? PACK_TARGET_BYTES;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.indexEvery = options.indexEvery ?? 64;
  }

  /** Adds one sealed blob; waits when too many packs are being uploaded. */
  async add(key: ActiveDataKey, id: string, sealed: Buffer, rawLength: number): Promise<void> {
    this.throwIfFailed();
    let open = this.builders.get(key.generation);
    if (!open) {
      open = { key, builder: new PackBuilder() };
      this.builders.set(key.generation, open);
    }
    open.builder.add(id, sealed, rawLength);
    if (open.builder.size >= this.targetBytes) {
      this.builders.delete(key.generation);
      await this.flush(open.key, open.builder);
    }
  }

  private async flush(key: ActiveDataKey, builder: PackBuilder): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const upload = this.upload(key, builder).catch((err) => {
      this.failure ??= err;
    });
    this.inFlight.add(upload);
    void upload.finally(() => this.inFlight.delete(upload));
  }

  private async upload(key: ActiveDataKey, builder: PackBuilder): Promise<void> {
    const { bytes, blobs } = builder.finish(key.ref);
    const id = Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("hex");
    try {
      await this.store.put(packKey(id), bytes);
    } catch (err) {
      // Same name means same bytes: a pack an earlier, interrupted run already stored.
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    this.bytesStored += bytes.length;
    this.packsWritten++;
    this.unindexed.push({ id, size: bytes.length, key: key.ref, blobs });
    if (this.unindexed.length >= this.indexEvery) this.indexing.push(this.writeIndex(this.unindexed.splice(0)));
  }

  private writeIndex(packs: IndexedPack[]): Promise<void> {
    return writeIndex(this.store, this.secrets, packs).then(
      ({ size }) => {
        this.bytesStored += size;
      },
      (err) => {
        this.failure ??= err;
      },
    );
  }

  /** Flushes every open pack, waits for all uploads, and indexes what is not yet indexed. */
  async finish(): Promise<void> {
    for (const { key, builder } of this.builders.values()) if (builder.count > 0) await this.flush(key, builder);
    this.builders.clear();
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
