import type { BlockIndex } from "../index/block-index.ts";
import type { VaultContext } from "../store/vault-config.ts";

/**
 * Unwraps pack data keys on demand, each wrapped key once: a restore or a data check asks for a
 * pack's key per read, and the key service is a network call in the cloud. Only restore paths
 * use this (the backup path never unwraps a pack key).
 */
export function packDataKeys(ctx: VaultContext, index: BlockIndex): (packId: string) => Promise<Buffer> {
  const unwrapped = new Map<string, Promise<Buffer>>();
  return (packId) => {
    const wrapped = index.pack(packId)!.key.wrapped;
    let key = unwrapped.get(wrapped);
    if (!key) {
      key = ctx.deps.keys.decryptDataKey(Buffer.from(wrapped, "base64"), {
        vault: ctx.config.vaultId,
        purpose: "pack-data",
      });
      unwrapped.set(wrapped, key);
    }
    return key;
  };
}
