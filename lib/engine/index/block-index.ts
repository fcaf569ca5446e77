import type { ObjectStore } from "../../ports/object-store.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { VaultSecrets } from "../keys/keys.ts";
import type { PackedBlob, WrappedKeyRef } from "../pack/pack.ts";
import { idFromKey, indexKey } from "../store/layout.ts";
import { getMetadataIfPresent, putMetadata } from "../store/metadata-object.ts";
import { decodeIndex, encodeIndex } from "./index-codec.ts";

export { decodeIndex, encodeIndex };

/** Where a stored block lives. */
export interface BlockLocation {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** One pack as an index object describes it. */
export interface IndexedPack {
  readonly id: string;
  readonly size: number;
  readonly key: WrappedKeyRef;
  readonly blobs: readonly PackedBlob[];
}

/**
 * The in-memory view of every index object in the vault: which blocks are stored and where.
 * Backup uses it to skip blocks the vault already has (dedup across points and disks); restore
 * uses it to find each block's pack.
 */
export class BlockIndex {
  private readonly blocks = new Map<string, BlockLocation>();
  /** Further copies of blocks stored more than once (concurrent backups of the same data). */
  private readonly copies = new Map<string, BlockLocation[]>();
  private readonly packs = new Map<string, IndexedPack>();

  /**
   * Loads every index object under `index/`, verifying each against its name. Garbage collection
   * replaces an index object by writing its successor and then deleting it, so one that vanishes
   * between the listing and the read has a successor that a fresh listing shows: the load lists
   * again until a listing reads whole. (A pack met twice, in an object and its successor, is
   * added once.)
   */
  static async load(store: ObjectStore, secrets: VaultSecrets): Promise<BlockIndex> {
    const index = new BlockIndex();
    const loaded = new Set<string>();
    for (;;) {
      const keys: string[] = [];
      for await (const info of store.list("index/")) if (!loaded.has(info.key)) keys.push(info.key);
      const read = await mapLimit(keys, 8, (key) =>
        getMetadataIfPresent(store, secrets, key, idFromKey(key)),
      );
      keys.forEach((key, i) => {
        const bytes = read[i];
        if (!bytes) return;
        loaded.add(key);
        for (const pack of decodeIndex(key, bytes)) index.addPack(pack);
      });
      if (read.every((bytes) => bytes !== undefined)) return index;
    }
  }

  addPack(pack: IndexedPack): void {
    this.packs.set(pack.id, pack);
    for (const b of pack.blobs) {
      const location = { pack: pack.id, offset: b.offset, length: b.length, rawLength: b.rawLength };
      const first = this.blocks.get(b.id);
      if (!first) this.blocks.set(b.id, location);
      else if (first.pack !== pack.id) {
        const copies = this.copies.get(b.id);
        if (copies) copies.push(location);
        else this.copies.set(b.id, [location]);
      }
    }
  }

  /**
   * Forgets a pack and the blocks located in it: garbage collection condemned it, so nothing may
   * deduplicate against it any more.
   */
  removePack(id: string): void {
    const pack = this.packs.get(id);
    if (!pack) return;
    this.packs.delete(id);
    for (const b of pack.blobs) {
      const copies = this.copies.get(b.id)?.filter((c) => c.pack !== id);
      if (this.blocks.get(b.id)?.pack === id) {
        const next = copies?.shift();
        if (next) this.blocks.set(b.id, next);
        else this.blocks.delete(b.id);
      }
      if (copies && copies.length > 0) this.copies.set(b.id, copies);
      else this.copies.delete(b.id);
    }
  }

  has(id: string): boolean {
    return this.blocks.has(id);
  }

  locate(id: string): BlockLocation | undefined {
    return this.blocks.get(id);
  }

  /** Every place block `id` is stored: where {@link locate} finds it, then its further copies. */
  locations(id: string): BlockLocation[] {
    const first = this.blocks.get(id);
    return first ? [first, ...(this.copies.get(id) ?? [])] : [];
  }

  pack(id: string): IndexedPack | undefined {
    return this.packs.get(id);
  }

  get blockCount(): number {
    return this.blocks.size;
  }

  /** Ids of every indexed pack. */
  packIds(): string[] {
    return [...this.packs.keys()];
  }

  get packCount(): number {
    return this.packs.size;
  }
}

/** Writes one index object describing `packs`; returns its id and size. */
export async function writeIndex(
  store: ObjectStore,
  secrets: VaultSecrets,
  packs: readonly IndexedPack[],
): Promise<{ id: string; size: number }> {
  const bytes = encodeIndex(packs);
  return { id: await putMetadata(store, secrets, indexKey, bytes), size: bytes.length };
}

/**
 * Loads the index without the packs garbage collection has condemned: they may be deleted at any
 * moment, so neither a backup (deduplicating) nor a restore (reading) may rely on them. Blocks
 * also stored elsewhere are then located in their other copy.
 */
export async function loadLiveIndex(
  store: ObjectStore,
  secrets: VaultSecrets,
  condemned: () => Promise<readonly { readonly id: string }[]>,
): Promise<BlockIndex> {
  const [index, packs] = await Promise.all([BlockIndex.load(store, secrets), condemned()]);
  for (const p of packs) index.removePack(p.id);
  return index;
}
