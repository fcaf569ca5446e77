import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { initLocalVault } from "../../lib/compose/local.ts";
import { BlockIndex } from "../../lib/engine/index/block-index.ts";
import { blockId, openBlock } from "../../lib/engine/pack/blob.ts";
import type { PackedBlob, WrappedKeyRef } from "../../lib/engine/pack/pack.ts";
import { DEFAULT_SEGMENT_BLOCKS, idFromKey, manifestKey } from "../../lib/engine/store/layout.ts";
import type { Vault } from "../../lib/vault.ts";
import { tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

export const BLOCK = 4096;

/** A vault holding one backup of a small image, and where each of its objects lies. */
export interface CorruptionFixture {
  readonly root: string;
  readonly vaultDir: string;
  /** An empty directory restores write into. */
  readonly outDir: string;
  readonly vault: Vault;
  readonly pointId: string;
  readonly image: Buffer;
  /** Every object as stored after the backup, by key. */
  readonly pristine: ReadonlyMap<string, Buffer>;
  readonly packKey: string;
  readonly packId: string;
  /** End of the sealed blobs in the pack: what lies beyond is its trailer and footer. */
  readonly blobsEnd: number;
  readonly rootKey: string;
  readonly segmentKeys: readonly string[];
  readonly indexKey: string;
}

/**
 * Two segments (a full one of 4 KiB blocks, then one partial block), two distinct non-zero blocks stored
 * once each (one of them used twice), the rest holes. Blocks of one repeated byte compress to a
 * few bytes, which keeps the pack tiny enough to corrupt every byte of it.
 */
function makeImage(): Buffer {
  const img = Buffer.alloc(DEFAULT_SEGMENT_BLOCKS * BLOCK + 1000);
  img.fill(0x41, 0, BLOCK);
  img.fill(0x41, 2 * BLOCK, 3 * BLOCK);
  img.fill(0x43, DEFAULT_SEGMENT_BLOCKS * BLOCK);
  return img;
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`);
  return items[0]!;
}

/** Builds the fixture; the caller closes `vault` and removes `root`. */
export async function makeCorruptionFixture(): Promise<CorruptionFixture> {
  const root = await tempDir("corrupt");
  const outDir = join(root, "out");
  await mkdir(outDir);
  const vaultDir = join(root, "vault");
  const image = makeImage();
  await writeFile(join(root, "disk.img"), image);
  const vault = await initLocalVault(vaultDir, { name: "corrupt", blockSize: BLOCK });
  const pointId = (await backupFile(vault, join(root, "disk.img"), "disk")).recoveryPointId;
  const { store } = vault.ctx.deps;
  const pristine = new Map<string, Buffer>();
  for await (const info of store.list("")) pristine.set(info.key, await store.get(info.key));
  // The tests play someone who can write the store: stored objects are read-only (0400), which
  // binds a process not running as root.
  for (const key of pristine.keys()) await chmod(join(vaultDir, "objects", key), 0o600);
  const keys = [...pristine.keys()];
  const packKey = only(
    keys.filter((k) => k.startsWith("packs/")),
    "pack",
  );
  const packId = idFromKey(packKey);
  const index = await BlockIndex.load(store, vault.ctx.secrets);
  const blobsEnd = Math.max(...index.pack(packId)!.blobs.map((b) => b.offset + b.length));
  const rootKey = manifestKey((await vault.getPoint(pointId)).manifest);
  const segmentKeys = keys.filter((k) => k.startsWith("manifests/") && k !== rootKey);
  if (segmentKeys.length !== 2) throw new Error(`expected two segments, found ${segmentKeys.length}`);
  const indexKey = only(
    keys.filter((k) => k.startsWith("index/")),
    "index object",
  );
  return {
    root,
    vaultDir,
    outDir,
    vault,
    pointId,
    image,
    pristine,
    packKey,
    packId,
    blobsEnd,
    rootKey,
    segmentKeys,
    indexKey,
  };
}

/** The image's distinct non-zero blocks by ID (hex), as the vault's block-ID key names them. */
export function storedBlocks(fx: CorruptionFixture): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let at = 0; at < fx.image.length; at += BLOCK) {
    const block = fx.image.subarray(at, at + BLOCK);
    out.set(blockId(fx.vault.ctx.secrets.blockIdKey, block).toString("hex"), block);
  }
  return out;
}

/**
 * Opens a blob where a (possibly corrupted) pack trailer says it is, the way an index rebuild
 * would: unwraps the trailer's data key, then opens and verifies the blob.
 */
export async function openDescribedBlob(
  fx: CorruptionFixture,
  pack: Buffer,
  key: WrappedKeyRef,
  blob: PackedBlob,
): Promise<Buffer> {
  const dataKey = await fx.vault.ctx.deps.keys.decryptDataKey(Buffer.from(key.wrapped, "base64"), {
    vault: fx.vault.id,
    purpose: "pack-data",
  });
  const sealed = pack.subarray(blob.offset, blob.offset + blob.length);
  return openBlock(
    dataKey,
    fx.vault.ctx.secrets.blockIdKey,
    Buffer.from(blob.id, "hex"),
    sealed,
    blob.rawLength,
  );
}
