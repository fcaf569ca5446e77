import { spawnSync } from "node:child_process";
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Qcow2Writer } from "../../../lib/formats/qcow2-writer.ts";
import { qemuCompare } from "../../helpers/qemu.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;

beforeAll(async () => {
  dir = await tempDir("qcow2-writer");
});

afterAll(() => removeDir(dir));

const write = fc.record({
  offset: fc.integer({ min: 0, max: 6 * 1024 * 1024 }),
  length: fc.integer({ min: 1, max: 300_000 }),
  byte: fc.integer({ min: 0, max: 255 }),
});

describe("the qcow2 writer, checked by qemu-img", () => {
  it("writes in any order and any alignment give an image qemu-img check finds clean and compare finds equal", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { minLength: 0, maxLength: 12 }),
        fc.integer({ min: 1, max: 8 * 1024 * 1024 }),
        async (writes, size) => {
          const raw = Buffer.alloc(size);
          const image = join(dir, `w-${run}.qcow2`);
          const expected = join(dir, `w-${run++}.raw`);
          const file = await open(image, "w+");
          const writer = new Qcow2Writer(size, async (offset, data) => {
            await file.write(data, 0, data.length, offset);
          });
          // Disjoint pieces, as the engine writes them: later writes win in the model, so each
          // byte range is written once, all at once (concurrently).
          const pieces: Promise<void>[] = [];
          for (const w of writes) {
            const from = Math.min(w.offset, size);
            const to = Math.min(from + w.length, size);
            raw.fill(w.byte, from, to);
          }
          const chunk = 65_536 + 4096;
          for (let at = 0; at < size; at += chunk) {
            const piece = raw.subarray(at, Math.min(size, at + chunk));
            if (piece.some((b) => b !== 0) || at % (3 * chunk) === 0) pieces.push(writer.write(at, piece));
          }
          await Promise.all(pieces.reverse());
          await writer.finish();
          await file.close();
          await writeFile(expected, raw);
          const check = spawnSync("qemu-img", ["check", "-f", "qcow2", image], { encoding: "utf8" });
          expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
          expect(qemuCompare(image, "qcow2", expected, "raw")).toBe("identical");
        },
      ),
      { numRuns: 15 },
    );
  });
});
