import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readObjectRange, readSource } from "../../../lib/engine/workers/worker-reads.ts";
import { IntegrityError, SourceError } from "../../../lib/errors.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
let path: string;
const bytes = seededBytes(1, 10_000);
beforeEach(async () => {
  dir = await tempDir("worker-reads");
  path = join(dir, "object");
  writeFileSync(path, bytes);
});
afterEach(async () => {
  await removeDir(dir);
});

describe("readObjectRange", () => {
  it("reads exactly the range, into a buffer reused from one call to the next", () => {
    const first = Buffer.from(readObjectRange({ path, key: "packs/aa/x", offset: 100, length: 5000 }));
    expect(first).toEqual(bytes.subarray(100, 5100));
    expect(readObjectRange({ path, key: "packs/aa/x", offset: 9000, length: 1000 })).toEqual(
      bytes.subarray(9000),
    );
  });

  it("calls a missing file a missing object and a short one corruption, naming the object", () => {
    const missing = { path: join(dir, "gone"), key: "packs/aa/gone", offset: 0, length: 10 };
    expect(() => readObjectRange(missing)).toThrow(IntegrityError);
    expect(() => readObjectRange(missing)).toThrow("packs/aa/gone is missing from the vault");
    expect(() => readObjectRange({ path, key: "packs/aa/x", offset: 9990, length: 20 })).toThrow(
      /packs\/aa\/x: object ended after 10000 bytes/,
    );
  });
});

describe("readSource", () => {
  it("fills the buffer from the image, and calls an image that ends early a SourceError naming it", () => {
    const fd = openSync(path, "r");
    try {
      const into = Buffer.alloc(3000);
      readSource({ fd, offset: 7000, source: "disk.img" }, into);
      expect(into).toEqual(bytes.subarray(7000));
      expect(() => readSource({ fd, offset: 8000, source: "disk.img" }, Buffer.alloc(3000))).toThrow(
        SourceError,
      );
      expect(() => readSource({ fd, offset: 8000, source: "disk.img" }, Buffer.alloc(3000))).toThrow(
        "image disk.img ended at 10000 bytes: it shrank while open",
      );
    } finally {
      closeSync(fd);
    }
  });

  it("reads only the parts it is given, and zeros the rest of a dirty buffer", () => {
    const fd = openSync(path, "r");
    try {
      const into = Buffer.alloc(4000, 0xee);
      const parts = [
        { offset: 10, length: 100 },
        { offset: 3000, length: 1000 },
      ];
      readSource({ fd, offset: 2000, source: "disk.img", parts }, into);
      const want = Buffer.alloc(4000);
      for (const p of parts) bytes.copy(want, p.offset, 2000 + p.offset, 2000 + p.offset + p.length);
      expect(into).toEqual(want);
      // A part past the end of the image is an image that shrank, as for a whole read.
      expect(() =>
        readSource({ fd, offset: 8000, source: "disk.img", parts: [{ offset: 1900, length: 200 }] }, into),
      ).toThrow("image disk.img ended at 10000 bytes");
    } finally {
      closeSync(fd);
    }
  });
});
