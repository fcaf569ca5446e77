import { SourceError } from "../../errors.ts";
import type { RecoveryPointRecord } from "../../model.ts";
import type { StagingArea } from "../../ports/local-files.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import type { ChangedRange, VolumeRange, VolumeSource } from "../../ports/volume-source.ts";
import { condemnedPacks, trackedReferences } from "../gc/chain.ts";
import { type BlockIndex, loadLiveIndex } from "../index/block-index.ts";
import { DataKeyRotation } from "../keys/data-keys.ts";
import { PackSink } from "../pack/pack-sink.ts";
import { type StreamedManifest, streamManifest } from "../points/manifest.ts";
import { rootOf } from "../points/point-binding.ts";
import { PACK_TARGET_BYTES } from "../store/layout.ts";
import type { VaultContext } from "../store/vault-config.ts";
import { WorkerPool } from "../workers/worker-pool.ts";

/** What one backup attempt has set up before its scan starts. */
export interface PreparedRun {
  readonly source: VolumeSource;
  readonly parent: RecoveryPointRecord | undefined;
  readonly pool: WorkerPool;
  /** Where the workers write packs as files, when the store takes them so. */
  readonly staging: StagingArea | undefined;
  /** The parent's block map, its segments still arriving. */
  readonly parentManifest: StreamedManifest | undefined;
  /** The ranges change tracking says may have changed since the parent. */
  readonly hints: ChangedRange[] | undefined;
  readonly refs: ReferenceStore | undefined;
  /** The vault's index, loading while the scan starts (it needs it only to decide). */
  readonly indexLoading: Promise<BlockIndex>;
  readonly indexLoadedAt: number;
  /** Where the source may hold data; undefined when it cannot say. */
  readonly allocating: Promise<readonly VolumeRange[] | undefined>;
}

/**
 * Starts everything a backup needs at once, so that it overlaps: the worker threads boot while
 * the index loads, the source's allocation map is asked for, and the parent's block map streams
 * in. A failure of any step closes the workers and the staging area before it is rethrown.
 */
export async function prepareRun(
  ctx: VaultContext,
  source: VolumeSource,
  parent: RecoveryPointRecord | undefined,
): Promise<PreparedRun> {
  const pool = startWorkers(ctx);
  const indexLoadedAt = ctx.deps.clock.now();
  const indexLoading = loadLiveIndex(ctx.deps.store, ctx.secrets, condemnedPacks(ctx));
  indexLoading.catch(() => {}); // awaited by the scan and after it
  // Asked early (mapping a file runs a program): only where the source may hold data is read.
  // Not knowing is no failure, just a backup that reads everything.
  const allocating = Promise.resolve()
    .then(() => source.allocatedRanges?.())
    .catch(() => undefined);
  let staging: StagingArea | undefined;
  try {
    // Packs go straight from the workers into the store's files when it can take them so.
    staging = await ctx.deps.localFiles?.objects?.stage();
    if (staging) pool.stageInto(staging.directory);
    const parentManifest = await parentBlockMap(ctx, parent);
    const hints =
      parent?.sourceRef && source.changedRanges ? await source.changedRanges(parent.sourceRef) : undefined;
    const refs = await trackedReferences(ctx);
    return {
      source,
      parent,
      pool,
      staging,
      parentManifest,
      hints,
      refs,
      indexLoading,
      indexLoadedAt,
      allocating,
    };
  } catch (err) {
    await closeWorkers(pool, staging);
    throw err;
  }
}

function startWorkers(ctx: VaultContext): WorkerPool {
  return new WorkerPool({
    blockIdKey: ctx.secrets.blockIdKey,
    fingerprintKeys: ctx.secrets.fingerprintKeys,
    zstdLevel: ctx.config.zstdLevel,
    blockSize: ctx.config.blockSize,
    packTarget: PACK_TARGET_BYTES,
  });
}

/** The parent's block map, which must be the parent's: it decides what this point reuses. */
async function parentBlockMap(
  ctx: VaultContext,
  parent: RecoveryPointRecord | undefined,
): Promise<StreamedManifest | undefined> {
  if (!parent) return undefined;
  const manifest = await streamManifest(ctx.deps.store, ctx.secrets, parent.manifest, rootOf(ctx, parent));
  if (manifest.root.blockSize !== ctx.config.blockSize) {
    throw new SourceError(
      `recovery point ${parent.id} uses block size ${manifest.root.blockSize}, the vault ${ctx.config.blockSize}`,
    );
  }
  return manifest;
}

/** Where finished packs go: stored (staged or put), indexed, and registered for collection. */
export function packSinkFor(ctx: VaultContext, run: PreparedRun): PackSink {
  const { refs, staging, pool } = run;
  const { vaultId } = ctx.config;
  const { clock } = ctx.deps;
  return new PackSink(ctx.deps.store, ctx.secrets, (pack) => pool.recycle(pack), {
    ...(staging ? { staging } : {}),
    ...(refs
      ? {
          beforeIndex: (ids) => refs.registerPacks(vaultId, ids, clock.now()),
          afterIndex: (ids, indexId) => refs.setPackIndex(vaultId, ids, indexId),
        }
      : {}),
  });
}

/** The run's data keys, each new one handed to the sink (for the index) and the workers. */
export function dataKeysFor(ctx: VaultContext, pool: WorkerPool, sink: PackSink): DataKeyRotation {
  return new DataKeyRotation({
    keys: ctx.deps.keys,
    vaultId: ctx.config.vaultId,
    clock: ctx.deps.clock,
    onNewKey: (k) => {
      sink.registerKey(k.generation, k.ref);
      pool.setDataKey(k.generation, k.plaintext, k.ref.wrapped, k.ref.masterKeyId);
    },
  });
}

/**
 * Closes a backup's worker threads, then its staging area. Every staged pack is stored by then, or
 * dropped with the backup; a directory left behind is only litter (never an object), and must not
 * hide how the backup itself ended.
 */
export async function closeWorkers(pool: WorkerPool, staging: StagingArea | undefined): Promise<void> {
  await pool.close();
  await staging?.close().catch(() => undefined);
}
