import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { blockId, Codec, openBlock, SEAL_OVERHEAD, sealBlock } from "../../../lib/engine/pack/blob.ts";
import { BlockCompressor } from "../../../lib/engine/pack/block-compressor.ts";
import { IntegrityError } from "../../../lib/errors.ts";
import { seededBytes, seededText } from "../../helpers/image-bytes.ts";

const dataKey = randomBytes(32);
const compressor = new BlockCompressor(3, 65536);
const idKey = randomBytes(32);
const AAD_PREFIX = Buffer.from("blockvault/blob/v1");

/** Decrypts a sealed blob by its documented format, to look at the codec byte and payload. */
function unseal(sealed: Buffer, id: Buffer): { codec: number; payload: Buffer } {
  const decipher = createDecipheriv("aes-256-gcm", dataKey, id.subarray(0, 12));
  decipher.setAAD(Buffer.concat([AAD_PREFIX, id]));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  return { codec: plain[0]!, payload: plain.subarray(1) };
}

/** Seals a codec byte and payload by the documented format: authentic, whatever it says. */
function sealRaw(id: Buffer, codec: number, payload: Buffer): Buffer {
  // The nonce is the first 96 bits of the block ID and is not stored.
  const cipher = createCipheriv("aes-256-gcm", dataKey, id.subarray(0, 12));
  cipher.setAAD(Buffer.concat([AAD_PREFIX, id]));
  const body = Buffer.concat([cipher.update(Buffer.of(codec)), cipher.update(payload), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]);
}

function seal(data: Buffer): { id: Buffer; sealed: Buffer } {
  const id = blockId(idKey, data);
  return { id, sealed: sealBlock(dataKey, id, data, compressor) };
}

describe("sealBlock / openBlock", () => {
  const blocks: [string, Buffer][] = [
    ["one byte", Buffer.of(7)],
    ["4 KiB of text", seededText(1, 4096)],
    ["64 KiB of random bytes", seededBytes(2, 65536)],
    ["an odd-sized tail of text", seededText(3, 1001)],
    ["zeros with one byte set", Buffer.alloc(65536).fill(1, 30000, 30001)],
  ];

  it.each(blocks)("round-trips %s", (_name, data) => {
    const { id, sealed } = seal(data);
    expect(openBlock(dataKey, idKey, id, sealed, data.length)).toEqual(data);
  });

  it("compresses text (zstd codec) and stores random bytes as they are (no codec)", () => {
    for (const size of [1000, 4096, 65536]) {
      const text = seal(seededText(4, size));
      expect(unseal(text.sealed, text.id).codec, `text ${size}`).toBe(Codec.Zstd);
      expect(text.sealed.length, `text ${size}`).toBeLessThan(size / 4);
      const random = seededBytes(5, size);
      const sealed = seal(random);
      const { codec, payload } = unseal(sealed.sealed, sealed.id);
      expect(codec, `random ${size}`).toBe(Codec.None);
      expect(payload).toEqual(random);
      expect(sealed.sealed.length).toBe(size + SEAL_OVERHEAD);
    }
  });

  it("derives the nonce from the block ID: same block, same key, same bytes; another key, other bytes", () => {
    const data = seededText(6, 4096);
    const id = blockId(idKey, data);
    expect(sealBlock(dataKey, id, data, compressor)).toEqual(sealBlock(dataKey, id, data, compressor));
    expect(sealBlock(randomBytes(32), id, data, compressor)).not.toEqual(
      sealBlock(dataKey, id, data, compressor),
    );
    const other = seededText(7, 4096);
    const otherId = blockId(idKey, other);
    expect(otherId.subarray(0, 12)).not.toEqual(id.subarray(0, 12));
  });

  it("seals straight into the buffer the caller allocates", () => {
    const data = seededBytes(7, 5000);
    const id = blockId(idKey, data);
    const pack = Buffer.alloc(10_000);
    const sealed = sealBlock(dataKey, id, data, compressor, (n) => pack.subarray(100, 100 + n));
    expect(sealed.buffer).toBe(pack.buffer);
    expect(openBlock(dataKey, idKey, id, pack.subarray(100, 100 + sealed.length), data.length)).toEqual(data);
  });
});

describe("openBlock refuses anything unverified with an IntegrityError", () => {
  const data = seededText(8, 4096);
  const { id, sealed } = seal(data);

  it("a wrong data key, a wrong block-ID key, another block's ID, a wrong length", () => {
    expect(() => openBlock(randomBytes(32), idKey, id, sealed, data.length)).toThrow(/authentication failed/);
    expect(() => openBlock(dataKey, randomBytes(32), id, sealed, data.length)).toThrow(
      /does not match its ID/,
    );
    const other = blockId(idKey, seededText(9, 4096));
    expect(() => openBlock(dataKey, idKey, other, sealed, data.length)).toThrow(/authentication failed/);
    expect(() => openBlock(dataKey, idKey, id, sealed, data.length - 1)).toThrow(IntegrityError);
    expect(() => openBlock(dataKey, idKey, id, sealed, data.length + 1)).toThrow(
      /length 4096, expected 4097/,
    );
  });

  it("every flipped bit, and every truncation", () => {
    for (let at = 0; at < sealed.length; at++) {
      const copy = Buffer.from(sealed);
      copy[at]! ^= 1 << (at % 8);
      expect(() => openBlock(dataKey, idKey, id, copy, data.length), `byte ${at}`).toThrow(IntegrityError);
      expect(() => openBlock(dataKey, idKey, id, sealed.subarray(0, at), data.length), `cut ${at}`).toThrow(
        IntegrityError,
      );
    }
  });

  it("an authentic blob with an unknown codec, a bad zstd frame, or content not matching its ID", () => {
    expect(() => openBlock(dataKey, idKey, id, sealRaw(id, 7, data), data.length)).toThrow(/unknown codec 7/);
    const garbage = sealRaw(id, Codec.Zstd, Buffer.from("not a zstd frame"));
    expect(() => openBlock(dataKey, idKey, id, garbage, data.length)).toThrow(/decompression failed/);
    const swapped = sealRaw(id, Codec.None, seededText(10, 4096));
    expect(() => openBlock(dataKey, idKey, id, swapped, data.length)).toThrow(/does not match its ID/);
    // A frame that inflates past the expected length is cut off, never allocated in full.
    const bomb = sealRaw(id, Codec.Zstd, zstdCompressSync(Buffer.alloc(64 * 1024 * 1024)));
    expect(() => openBlock(dataKey, idKey, id, bomb, data.length)).toThrow(IntegrityError);
  });
});

describe("blockId", () => {
  it("is a keyed hash: the same bytes get the same ID under one key and another under another key", () => {
    const data = seededBytes(11, 100);
    expect(blockId(idKey, data)).toEqual(blockId(idKey, Buffer.from(data)));
    expect(blockId(idKey, data)).toHaveLength(32);
    expect(blockId(randomBytes(32), data)).not.toEqual(blockId(idKey, data));
    expect(blockId(idKey, data.subarray(0, 99))).not.toEqual(blockId(idKey, data));
  });
});
