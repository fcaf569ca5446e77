import { rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openLocalVault } from "../../lib/compose/local.ts";
import { type PackedBlob, readPackTrailer, type WrappedKeyRef } from "../../lib/engine/pack/pack.ts";
import { IntegrityError, KeyError, NotFoundError } from "../../lib/errors.ts";
import { expectRestoreRejects, expectRestoreToMemoryRejects, withFlippedByte } from "../helpers/corrupt.ts";
import {
  type CorruptionFixture,
  makeCorruptionFixture,
  openDescribedBlob,
  storedBlocks,
} from "../helpers/corruption-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";
import { restoreBytes } from "../helpers/vault-ops.ts";

// Every restore of pack data starts a worker pool; one worker starts fastest.
process.env.BLOCKVAULT_WORKERS = "1";

let fx: CorruptionFixture;
const fileOf = (key: string) => join(fx.vaultDir, "objects", key);

beforeAll(async () => {
  fx = await makeCorruptionFixture();
});

afterEach(async () => {
  for (const [key, bytes] of fx.pristine) await writeFile(fileOf(key), bytes);
});

afterAll(async () => {
  await fx?.vault.close();
  if (fx) await removeDir(fx.root);
});

describe("every flipped byte is detected on restore", () => {
  it("restores byte-identical while nothing is corrupted", async () => {
    expect((await restoreBytes(fx.vault, fx.pointId, fx.outDir)).equals(fx.image)).toBe(true);
  });

  it("in the sealed blobs of the pack, and the restore target never appears", async () => {
    // Tiny blobs keep this loop short; a bigger pack would only repeat the same AEAD check.
    expect(fx.blobsEnd).toBeLessThan(200);
    for (let at = 0; at < fx.blobsEnd; at++) {
      await withFlippedByte(fileOf(fx.packKey), at, () =>
        expectRestoreRejects(fx.vault, fx.pointId, fx.outDir, IntegrityError, `pack byte ${at}`),
      );
    }
  }, 120_000);

  it("in the root manifest and in each segment manifest", async () => {
    for (const key of [fx.rootKey, ...fx.segmentKeys]) {
      const size = fx.pristine.get(key)!.length;
      for (let at = 0; at < size; at++) {
        await withFlippedByte(fileOf(key), at, () =>
          expectRestoreToMemoryRejects(fx.vault, fx.pointId, IntegrityError, `${key} byte ${at}`),
        );
      }
      // The same through a file target, at the ends: no target and no partial file appear.
      for (const at of [0, size - 1]) {
        await withFlippedByte(fileOf(key), at, () =>
          expectRestoreRejects(fx.vault, fx.pointId, fx.outDir, IntegrityError, `${key} byte ${at}`),
        );
      }
    }
    // Thousands of restores, one per byte: minutes on a loaded two-core machine.
  }, 300_000);

  it("in the index object", async () => {
    const size = fx.pristine.get(fx.indexKey)!.length;
    for (let at = 0; at < size; at++) {
      await withFlippedByte(fileOf(fx.indexKey), at, () =>
        expectRestoreToMemoryRejects(fx.vault, fx.pointId, IntegrityError, `${fx.indexKey} byte ${at}`),
      );
    }
  }, 180_000);

  // Restore locates blobs through the index objects (named by their HMAC, so verified) and reads
  // only the blobs' byte ranges: the pack's trailer and footer exist to rebuild a lost index and
  // are never read by a restore, so a flipped byte there cannot change what a restore writes.
  // What matters is that a reader of the trailer (an index rebuild, a check) cannot be fooled.
  it("in the pack's trailer and footer: restore ignores them, and their readers are never fooled", async () => {
    const pack = fx.pristine.get(fx.packKey)!;
    const mangled = Buffer.from(pack);
    for (let at = fx.blobsEnd; at < pack.length; at++) mangled[at]! ^= 0xff;
    await writeFile(fileOf(fx.packKey), mangled);
    expect((await restoreBytes(fx.vault, fx.pointId, fx.outDir)).equals(fx.image)).toBe(true);

    const stored = storedBlocks(fx);
    for (let at = fx.blobsEnd; at < pack.length; at++) {
      const copy = Buffer.from(pack);
      copy[at]! ^= 1 << (at % 8);
      let trailer: { key: WrappedKeyRef; blobs: PackedBlob[] };
      try {
        trailer = readPackTrailer(fx.packId, copy);
      } catch (err) {
        expect(err, `trailer byte ${at}`).toBeInstanceOf(IntegrityError);
        continue;
      }
      for (const blob of trailer.blobs) {
        const opened = await openDescribedBlob(fx, copy, trailer.key, blob).catch((e: unknown) => e);
        const label = `trailer byte ${at}, blob ${JSON.stringify(blob)}`;
        if (Buffer.isBuffer(opened)) expect(opened.equals(stored.get(blob.id)!), label).toBe(true);
        else
          expect(opened instanceof IntegrityError || opened instanceof KeyError, `${label}: ${opened}`).toBe(
            true,
          );
      }
    }
  });
});

describe("missing and truncated objects fail the restore with a clear IntegrityError", () => {
  /** Restores expecting an IntegrityError whose message names `what`. */
  async function expectNamed(what: string, label: string): Promise<void> {
    const error = await expectRestoreRejects(fx.vault, fx.pointId, fx.outDir, IntegrityError, label);
    expect(error.message, label).toContain(what);
  }

  it("a pack truncated inside its blobs", async () => {
    await truncate(fileOf(fx.packKey), Math.floor(fx.blobsEnd / 2));
    await expectNamed(fx.packId, "truncated pack");
  });

  it("a pack that lost only its trailer still restores, and its readers refuse it", async () => {
    await truncate(fileOf(fx.packKey), fx.blobsEnd + 3);
    expect((await restoreBytes(fx.vault, fx.pointId, fx.outDir)).equals(fx.image)).toBe(true);
    const cut = fx.pristine.get(fx.packKey)!.subarray(0, fx.blobsEnd + 3);
    expect(() => readPackTrailer(fx.packId, cut)).toThrow(IntegrityError);
  });

  it("a deleted pack", async () => {
    await rm(fileOf(fx.packKey));
    await expectNamed(fx.packId, "deleted pack");
  });

  it("a truncated or deleted root or segment manifest", async () => {
    for (const key of [fx.rootKey, ...fx.segmentKeys]) {
      await truncate(fileOf(key), fx.pristine.get(key)!.length - 1);
      await expectNamed(key, `truncated ${key}`);
      await rm(fileOf(key));
      await expectNamed(key, `deleted ${key}`);
      await writeFile(fileOf(key), fx.pristine.get(key)!);
    }
  });

  it("a truncated or deleted index object", async () => {
    await truncate(fileOf(fx.indexKey), 10);
    await expectNamed(fx.indexKey, "truncated index");
    await rm(fileOf(fx.indexKey));
    // With its index gone, the vault no longer knows where the blocks are.
    await expectNamed("not in any index object", "deleted index");
  });
});

describe("a corrupted or missing config makes opening the vault fail clearly", () => {
  const configFile = () => fileOf("config");
  const config = () => JSON.parse(fx.pristine.get("config")!.toString("utf8"));

  async function expectOpenRejects(errorClass: new (...args: never[]) => Error, message: RegExp) {
    const error = await openLocalVault(fx.vaultDir).then(
      async (v) => {
        await v.close();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(errorClass);
    expect(error!.message).toMatch(message);
  }

  it("truncated", async () => {
    await truncate(configFile(), 20);
    await expectOpenRejects(IntegrityError, /not valid JSON/);
  });

  it("not a blockvault configuration, another format version, an invalid block size", async () => {
    await writeFile(configFile(), JSON.stringify({ ...config(), format: "other" }));
    await expectOpenRejects(IntegrityError, /not a blockvault configuration/);
    await writeFile(configFile(), JSON.stringify({ ...config(), version: 99 }));
    await expectOpenRejects(IntegrityError, /format version 99/);
    await writeFile(configFile(), JSON.stringify({ ...config(), blockSize: 1000 }));
    await expectOpenRejects(IntegrityError, /block size/);
  });

  it("a damaged wrapped dedup key, or another vault id, is a KeyError naming the vault", async () => {
    const original = config();
    const wrapped = Buffer.from(original.dedupKey.wrapped, "base64");
    wrapped[wrapped.length - 1]! ^= 1;
    const dedupKey = { ...original.dedupKey, wrapped: wrapped.toString("base64") };
    await writeFile(configFile(), JSON.stringify({ ...original, dedupKey }));
    await expectOpenRejects(KeyError, new RegExp(original.vaultId));
    const vaultId = "00000000-0000-4000-8000-000000000000";
    await writeFile(configFile(), JSON.stringify({ ...original, vaultId }));
    await expectOpenRejects(KeyError, new RegExp(vaultId));
  });

  it("any other altered field (name, compression level, its code) fails its authentication", async () => {
    const original = config();
    for (const altered of [
      { name: "renamed" },
      { zstdLevel: 19 },
      { segmentBlocks: 128 },
      { mac: "0".repeat(64) },
    ]) {
      await writeFile(configFile(), JSON.stringify({ ...original, ...altered }));
      await expectOpenRejects(IntegrityError, /configuration was altered/);
    }
    const { mac: _, ...unsealed } = original;
    await writeFile(configFile(), JSON.stringify(unsealed));
    await expectOpenRejects(IntegrityError, /configuration was altered/);
  });

  it("deleted", async () => {
    await rm(configFile());
    await expectOpenRejects(NotFoundError, /is not a blockvault vault/);
  });
});
