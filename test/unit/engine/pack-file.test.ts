import { createSecretKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockId, openBlock, sealPieces } from "../../../lib/engine/pack/blob.ts";
import { BlockCompressor } from "../../../lib/engine/pack/block-compressor.ts";
import { PackBuilder, readPackTrailer } from "../../../lib/engine/pack/pack.ts";
import { PackFile } from "../../../lib/engine/pack/pack-file.ts";
import { uncachedWritesWork } from "../../../lib/engine/restore/aligned-appender.ts";
import { seededBytes, seededText } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

const KEY = { wrapped: Buffer.from("a wrapped data key").toString("base64"), masterKeyId: "master-1" };
const dataKey = createSecretKey(Buffer.alloc(32, 7));
const idKey = createSecretKey(Buffer.alloc(32, 9));

describe("PackFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir("pack-file");
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  // Through the page cache, and uncached where this filesystem allows it: the same bytes.
  for (const mode of ["cached", "uncached if supported"] as const) {
    it(`writes sealed pieces into the same bytes a PackBuilder makes, and every blob opens (${mode})`, async () => {
      const compressor = new BlockCompressor(3, 65536);
      // Random (stored as is), text (compressed) and a short last block; then enough random blocks
      // that the file spans several of the appender's segments.
      const blocks = [seededBytes(1, 65536), seededText(2, 65536), seededText(3, 1000)];
      for (let i = 0; i < 40; i++) blocks.push(seededBytes(10 + i, 65536));
      const file = new PackFile(dir, mode === "cached" ? false : uncachedWritesWork(dir));
      const builder = new PackBuilder(Buffer.alloc(16));
      for (const block of blocks) {
        const id = blockId(idKey, block);
        const pieces = sealPieces(dataKey, id, block, compressor);
        file.append(id.toString("hex"), pieces, block.length);
        builder.add(id.toString("hex"), Buffer.concat(pieces), block.length);
      }
      expect(file.count).toBe(blocks.length);
      const finished = file.finish(KEY);
      await finished.written;
      const bytes = readFileSync(path.join(dir, file.id));
      expect(finished.id).toBe(file.id);
      expect(finished.length).toBe(bytes.length);
      expect(bytes).toEqual(Buffer.from(builder.finish(KEY).bytes));
      const trailer = readPackTrailer(file.id, bytes);
      expect(trailer.key).toEqual(KEY);
      expect(trailer.blobs).toEqual(finished.blobs);
      trailer.blobs.forEach((b, i) => {
        const sealed = bytes.subarray(b.offset, b.offset + b.length);
        expect(openBlock(dataKey, idKey, Buffer.from(b.id, "hex"), sealed, b.rawLength)).toEqual(blocks[i]);
      });
    });
  }

  it("is created exclusively under its random name, and discarding it removes the file", async () => {
    const file = new PackFile(dir);
    expect(file.id).toMatch(/^[0-9a-f]{64}$/);
    file.append("ab".repeat(32), [Buffer.from("x")], 1);
    expect(await readdir(dir)).toEqual([file.id]);
    await file.discard();
    await file.discard();
    expect(existsSync(path.join(dir, file.id))).toBe(false);
    expect(() => file.finish(KEY)).toThrow(/already closed/);
  });
});
