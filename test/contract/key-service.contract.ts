import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyError } from "../../lib/errors.ts";
import type { EncryptionContext, KeyService } from "../../lib/ports/key-service.ts";

/** What a contract run needs: two key services with different master keys, and a cleanup. */
export interface KeyServiceFixture {
  /** The key service under test. */
  readonly keys: KeyService;
  /** Same implementation, a different master key: what it wraps, `keys` must refuse, and back. */
  readonly other: KeyService;
  cleanup(): Promise<void>;
}

const ctx: EncryptionContext = { vault: "v1", purpose: "pack-data" };

/** The wrapped key with one bit flipped at `bit` (counted over the whole buffer). */
function flipBit(wrapped: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(wrapped);
  const i = Math.floor(bit / 8) % copy.length;
  copy[i] = copy[i]! ^ (1 << (bit % 8));
  return copy;
}

/**
 * The {@link KeyService} contract, clause by clause, against the services `makeKeys` returns.
 */
export function describeKeyServiceContract(name: string, makeKeys: () => Promise<KeyServiceFixture>): void {
  describe(`KeyService contract: ${name}`, () => {
    let fixture: KeyServiceFixture;
    let keys: KeyService;
    beforeEach(async () => {
      fixture = await makeKeys();
      keys = fixture.keys;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("generates a 32-byte data key, its wrapped form and the master key id", async () => {
      const key = await keys.generateDataKey(ctx);
      expect(Buffer.isBuffer(key.plaintext)).toBe(true);
      expect(key.plaintext.length).toBe(32);
      expect(key.wrapped.length).toBeGreaterThan(0);
      expect(key.wrapped.includes(key.plaintext)).toBe(false);
      expect(typeof key.masterKeyId).toBe("string");
      expect(key.masterKeyId.length).toBeGreaterThan(0);
    });

    it("generates a new random key on every call", async () => {
      const generated = await Promise.all(Array.from({ length: 8 }, () => keys.generateDataKey(ctx)));
      expect(new Set(generated.map((k) => k.plaintext.toString("hex"))).size).toBe(8);
      expect(new Set(generated.map((k) => k.wrapped.toString("hex"))).size).toBe(8);
    });

    it("unwraps to the same plaintext with an identical context, whatever the key order", async () => {
      const context = { vault: "v1", purpose: "dedup-key", disk: "d1" } as const;
      const key = await keys.generateDataKey(context);
      expect(await keys.decryptDataKey(key.wrapped, context)).toStrictEqual(key.plaintext);
      const reordered: EncryptionContext = { disk: "d1", purpose: "dedup-key", vault: "v1" };
      expect(await keys.decryptDataKey(key.wrapped, reordered)).toStrictEqual(key.plaintext);
    });

    it("accepts the wrapped key as a plain Uint8Array", async () => {
      const key = await keys.generateDataKey(ctx);
      expect(await keys.decryptDataKey(new Uint8Array(key.wrapped), ctx)).toStrictEqual(key.plaintext);
    });

    it("rejects any different context with a KeyError", async () => {
      const context: EncryptionContext = { vault: "v1", purpose: "pack-data", disk: "d1" };
      const key = await keys.generateDataKey(context);
      const different: EncryptionContext[] = [
        { vault: "v2", purpose: "pack-data", disk: "d1" },
        { vault: "v1", purpose: "dedup-key", disk: "d1" },
        { vault: "v1", purpose: "pack-data", disk: "d2" },
        { vault: "v1", purpose: "pack-data" },
        { vault: "v1", purpose: "pack-data", disk: "d1", extra: "x" },
        { vault: "v1", purpose: "pack-data", Disk: "d1" },
        { vault: "v1", purpose: "pack-data", disk: "" },
      ];
      for (const wrong of different) {
        const err = await keys.decryptDataKey(key.wrapped, wrong).catch((e: unknown) => e);
        expect(err, JSON.stringify(wrong)).toBeInstanceOf(KeyError);
        expect((err as Error).message.length).toBeGreaterThan(0);
      }
    });

    it("rejects a key wrapped under a different master key, both ways", async () => {
      const mine = await keys.generateDataKey(ctx);
      const theirs = await fixture.other.generateDataKey(ctx);
      expect(mine.masterKeyId).not.toBe(theirs.masterKeyId);
      await expect(fixture.other.decryptDataKey(mine.wrapped, ctx)).rejects.toBeInstanceOf(KeyError);
      await expect(keys.decryptDataKey(theirs.wrapped, ctx)).rejects.toBeInstanceOf(KeyError);
      expect(await fixture.other.decryptDataKey(theirs.wrapped, ctx)).toStrictEqual(theirs.plaintext);
    });

    it("rejects truncated, extended, empty and garbage wrapped keys with a KeyError", async () => {
      const { wrapped } = await keys.generateDataKey(ctx);
      const bad = [
        wrapped.subarray(0, wrapped.length - 1),
        wrapped.subarray(1),
        Buffer.concat([wrapped, Buffer.of(0)]),
        Buffer.alloc(0),
        Buffer.alloc(wrapped.length, 0xab),
      ];
      for (const candidate of bad) {
        await expect(keys.decryptDataKey(candidate, ctx)).rejects.toBeInstanceOf(KeyError);
      }
    });

    it("rejects a wrapped key with any single bit flipped (property)", async () => {
      const { wrapped } = await keys.generateDataKey(ctx);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: wrapped.length * 8 - 1 }), async (bit) => {
          await expect(keys.decryptDataKey(flipBit(wrapped, bit), ctx)).rejects.toBeInstanceOf(KeyError);
        }),
        { numRuns: Math.min(200, wrapped.length * 8) },
      );
    });

    it("round-trips under arbitrary extra context entries, and refuses any change to one (property)", async () => {
      const entry = fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }));
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(entry, { selector: ([k]) => k, maxLength: 4 }), async (extras) => {
          const filtered = extras.filter(([k]) => k !== "vault" && k !== "purpose" && k !== "__proto__");
          const context: EncryptionContext = {
            ...Object.fromEntries(filtered),
            vault: "v",
            purpose: "dedup-key",
          };
          const key = await keys.generateDataKey(context);
          expect(await keys.decryptDataKey(key.wrapped, context)).toStrictEqual(key.plaintext);
          const changed: EncryptionContext = { ...context, vault: "v-other" };
          await expect(keys.decryptDataKey(key.wrapped, changed)).rejects.toBeInstanceOf(KeyError);
          for (const [k, v] of filtered) {
            const altered: EncryptionContext = { ...context, [k]: `${v}!` };
            await expect(keys.decryptDataKey(key.wrapped, altered)).rejects.toBeInstanceOf(KeyError);
          }
        }),
        { numRuns: 30 },
      );
    });
  });
}
