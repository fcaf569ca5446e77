import { IntegrityError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import { mapLimit } from "../../util/concurrency.ts";
import { condemnedPacks, trackedReferences } from "../gc/chain.ts";
import { BlockIndex, decodeIndex } from "../index/block-index.ts";
import { CONFIG_KEY, idFromKey, indexKey, manifestKey, packKey } from "../store/layout.ts";
import { getMetadataIfPresent } from "../store/metadata-object.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { HOLE_ID, loadRoot, loadSegmentIds } from "./manifest.ts";

/** Segment manifests and index objects read at once. */
const READS = 16;

/**
 * The vault's index read once, for finding the objects many points need: where every block is
 * stored (every copy, condemned packs left out) and which index objects name each pack.
 */
export class VaultObjects {
  readonly #ctx: VaultContext;
  readonly #index: BlockIndex;
  /** Index object id → the ids of the packs it names. */
  readonly #indexObjects: Map<string, readonly string[]>;
  readonly #segmentPacks = new Map<string, Promise<readonly string[]>>();

  private constructor(ctx: VaultContext, index: BlockIndex, indexObjects: Map<string, readonly string[]>) {
    this.#ctx = ctx;
    this.#index = index;
    this.#indexObjects = indexObjects;
  }

  /**
   * Reads every index object. Garbage collection replaces one by writing its successor first,
   * so one that vanishes between the listing and the read is found again by listing again.
   */
  static async load(ctx: VaultContext): Promise<VaultObjects> {
    const { store } = ctx.deps;
    const index = new BlockIndex();
    const indexObjects = new Map<string, readonly string[]>();
    for (;;) {
      const keys: string[] = [];
      for await (const info of store.list("index/")) {
        if (!indexObjects.has(idFromKey(info.key))) keys.push(info.key);
      }
      const read = await mapLimit(keys, READS, (key) =>
        getMetadataIfPresent(store, ctx.secrets, key, idFromKey(key)),
      );
      keys.forEach((key, i) => {
        const bytes = read[i];
        if (!bytes) return;
        const packs = decodeIndex(key, bytes);
        for (const pack of packs) index.addPack(pack);
        indexObjects.set(
          idFromKey(key),
          packs.map((p) => p.id),
        );
      });
      if (read.every((bytes) => bytes !== undefined)) break;
    }
    for (const p of await condemnedPacks(ctx)()) index.removePack(p.id);
    return new VaultObjects(ctx, index, indexObjects);
  }

  /**
   * Every object key `point` needs to be restored: the vault config, its root and segment
   * manifests, every live pack holding one of its blocks (each copy, and the packs garbage
   * collection's segment records hold for it), and every index object naming one of those packs.
   * A block no live pack holds is an `IntegrityError` (the point is already damaged).
   */
  async of(point: RecoveryPointRecord): Promise<string[]> {
    const root = await loadRoot(this.#ctx.deps.store, this.#ctx.secrets, point.manifest);
    const segments = [...new Set(root.segments.filter((s): s is string => s !== null))];
    const packs = new Set<string>();
    for (const found of await mapLimit(segments, READS, (s) => this.#packsOfSegment(s))) {
      for (const p of found) packs.add(p);
    }
    const indexObjects = [...this.#indexObjects]
      .filter(([, named]) => named.some((p) => packs.has(p)))
      .map(([id]) => indexKey(id));
    return [
      CONFIG_KEY,
      manifestKey(point.manifest),
      ...segments.map(manifestKey),
      ...indexObjects,
      ...[...packs].map(packKey),
    ];
  }

  #packsOfSegment(segmentId: string): Promise<readonly string[]> {
    let packs = this.#segmentPacks.get(segmentId);
    if (!packs) {
      packs = this.#loadSegmentPacks(segmentId);
      this.#segmentPacks.set(segmentId, packs);
    }
    return packs;
  }

  async #loadSegmentPacks(segmentId: string): Promise<readonly string[]> {
    const ctx = this.#ctx;
    const [ids, record] = await Promise.all([
      loadSegmentIds(ctx.deps.store, ctx.secrets, segmentId),
      trackedReferences(ctx).then((refs) => refs?.getSegment(ctx.config.vaultId, segmentId)),
    ]);
    const packs = new Set<string>(record?.packs ?? []);
    for (let at = 0; at < ids.length; at += HOLE_ID.length) {
      const id = ids.subarray(at, at + HOLE_ID.length);
      if (id.equals(HOLE_ID)) continue;
      const locations = this.#index.locations(id.toString("hex"));
      if (locations.length === 0) {
        throw new IntegrityError(`segment manifest ${segmentId} names a block no live pack holds`);
      }
      for (const l of locations) packs.add(l.pack);
    }
    // A pack the segment record names but garbage collection condemned is not needed.
    return [...packs].filter((p) => this.#index.pack(p) !== undefined);
  }
}
