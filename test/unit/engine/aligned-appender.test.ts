import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlignedAppender, uncachedWritesWork } from "../../../lib/engine/restore/aligned-appender.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

/** Pieces of awkward sizes: tiny, unaligned, exactly a segment, and across segment boundaries. */
function assortedPieces(total: number): Buffer[] {
  const sizes = [1, 4095, 4097, 1 << 20, 333_333, 7, 3 << 20];
  const pieces: Buffer[] = [];
  let made = 0;
  for (let i = 0; made < total; i++) {
    const size = Math.min(sizes[i % sizes.length]!, total - made);
    pieces.push(seededBytes(i + 1, size));
    made += size;
  }
  return pieces;
}

describe("AlignedAppender", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir("aligned-appender");
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("probes a directory once and leaves no probe file behind", async () => {
    const works = uncachedWritesWork(dir);
    expect(typeof works).toBe("boolean");
    expect(uncachedWritesWork(dir)).toBe(works);
    expect(await readdir(dir)).toEqual([]);
  });

  // Uncached where this filesystem allows it (O_DIRECT), and through the page cache: same bytes.
  for (const mode of ["cached", "uncached if supported"] as const) {
    it(`writes every byte in order and cuts the padding (${mode}), with more segments than it keeps in flight`, async () => {
      const uncached = mode === "cached" ? false : uncachedWritesWork(dir);
      const file = path.join(dir, "out");
      const pieces = assortedPieces(21 * 1024 * 1024 + 123);
      const appender = new AlignedAppender(file, uncached);
      for (let i = 0; i < pieces.length; i += 3) appender.append(pieces.slice(i, i + 3));
      const length = pieces.reduce((n, p) => n + p.length, 0);
      await appender.finish(length);
      expect(readFileSync(file).equals(Buffer.concat(pieces))).toBe(true);
    });
  }

  it("writes a file shorter than one alignment unit exactly", async () => {
    const file = path.join(dir, "short");
    const appender = new AlignedAppender(file, uncachedWritesWork(dir));
    appender.append([Buffer.from("short pack")]);
    await appender.finish(10);
    expect(readFileSync(file, "utf8")).toBe("short pack");
  });

  it("creates its file exclusively: an existing file is left alone", () => {
    const file = path.join(dir, "taken");
    writeFileSync(file, "keep me");
    expect(() => new AlignedAppender(file, false)).toThrow(/EEXIST/);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });

  it("refuses appends and a second finish once finished", async () => {
    const appender = new AlignedAppender(path.join(dir, "done"), false);
    appender.append([Buffer.from("x")]);
    await appender.finish(1);
    expect(() => appender.append([Buffer.from("y")])).toThrow(/already closed/);
    await expect(appender.finish(1)).rejects.toThrow(/already closed/);
  });

  it("abort waits for the writes in flight and closes the file, leaving its removal to the caller", async () => {
    const file = path.join(dir, "aborted");
    const appender = new AlignedAppender(file, uncachedWritesWork(dir));
    appender.append(assortedPieces(5 * 1024 * 1024));
    await appender.abort();
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file).length).toBe(5 * 1024 * 1024); // five full segments were written
    expect(() => appender.append([Buffer.from("late")])).toThrow(/already closed/);
  });
});
