import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { remainingPieces, writePieces } from "../../../lib/engine/restore/write-pieces.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

describe("writePieces", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir("write-pieces");
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("writes the pieces back to back at the position, skipping empty ones", () => {
    const file = path.join(dir, "f");
    const fd = openSync(file, "w+");
    try {
      writePieces(fd, [Buffer.from("abc"), Buffer.alloc(0), Buffer.from("de")], 4);
      writePieces(fd, [Buffer.alloc(0)], 0);
      writePieces(fd, [], 0);
      writePieces(fd, [Buffer.from("XY")], 0);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file)).toEqual(Buffer.from("XY\0\0abcde"));
  });

  it("resumes a short write from the exact byte it stopped at, leaving no empty piece", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), fc.nat(), (arrays, k) => {
        const pieces = arrays.map((a) => Buffer.from(a));
        const whole = Buffer.concat(pieces);
        const n = k % (whole.length + 1);
        const rest = remainingPieces(pieces, n);
        expect(Buffer.concat(rest)).toEqual(whole.subarray(n));
        expect(rest.every((p) => p.length > 0)).toBe(true);
      }),
    );
  });
});
