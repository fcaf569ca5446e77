import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors.ts";
import {
  createSampleImage,
  ExtentKind,
  mutateImage,
  planSampleImage,
  SAMPLE_EXTENT_SIZE,
  SAMPLE_PAGE_SIZE,
} from "../../lib/sample-image.ts";

const MiB = 1024 * 1024;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bv-sample-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

const LINE =
  /^((kernel|systemd|journal|GET|\/index\.html|200|user|ERROR|INFO|postgres|checkpoint|vacuum|nginx|upstream|ssh|cron) ){12}\d+$/;

/** Classifies an extent by what it actually holds. */
function classify(extent: Buffer): ExtentKind | "other" {
  if (extent.every((b) => b === 0)) return ExtentKind.Hole;
  const lines = extent.toString("latin1").split("\n");
  // The last line may be cut by the extent boundary; every complete one must be well formed.
  if (lines.slice(0, -1).every((l) => LINE.test(l))) return ExtentKind.Text;
  const counts = new Uint32Array(256);
  for (const b of extent) counts[b]!++;
  const expected = extent.length / 256;
  const flat = counts.every((c) => Math.abs(c - expected) < expected * 0.1);
  return flat ? ExtentKind.Random : "other";
}

describe("createSampleImage", () => {
  it("is deterministic per seed and differs across seeds, with a partial last extent", async () => {
    const size = 3 * SAMPLE_EXTENT_SIZE + 12_345;
    const [a, b, c] = [join(dir, "a.img"), join(dir, "b.img"), join(dir, "c.img")];
    await createSampleImage(a, size, 1);
    await createSampleImage(b, size, 1);
    await createSampleImage(c, size, 2);
    expect((await stat(a)).size).toBe(size);
    expect(await sha256(a)).toBe(await sha256(b));
    expect(await sha256(a)).not.toBe(await sha256(c));
  });

  it("replaces an existing file rather than leaving old bytes in holes", async () => {
    const p = join(dir, "reused.img");
    await writeFile(p, Buffer.alloc(2 * SAMPLE_EXTENT_SIZE, 0xee));
    await createSampleImage(p, SAMPLE_EXTENT_SIZE, 5);
    const fresh = join(dir, "fresh.img");
    await createSampleImage(fresh, SAMPLE_EXTENT_SIZE, 5);
    expect(await sha256(p)).toBe(await sha256(fresh));
  });

  it("lays out a 64 MiB image as planned: holes, random and text extents, sparse holes", async () => {
    const size = 64 * MiB;
    const p = join(dir, "64m.img");
    await createSampleImage(p, size, 42);
    const plan = planSampleImage(size, 42);
    expect(plan).toHaveLength(16);
    const data = await readFile(p);
    const actual = plan.map((_, i) =>
      classify(data.subarray(i * SAMPLE_EXTENT_SIZE, (i + 1) * SAMPLE_EXTENT_SIZE)),
    );
    expect(actual).toEqual(plan);
    const holes = plan.filter((k) => k === ExtentKind.Hole).length;
    expect(holes / plan.length).toBeGreaterThan(0.2);
    expect(holes / plan.length).toBeLessThan(0.6);
    expect(plan).toContain(ExtentKind.Random);
    expect(plan).toContain(ExtentKind.Text);
    // Holes were never written, so they take no space on disk.
    const allocated = (await stat(p)).blocks * 512;
    expect(allocated).toBeLessThanOrEqual((plan.length - holes) * SAMPLE_EXTENT_SIZE + MiB);
  });

  it("plans 40 % holes, 30 % random, 30 % text over many extents", () => {
    const plan = planSampleImage(20_000 * SAMPLE_EXTENT_SIZE, 7);
    const share = (k: ExtentKind) => plan.filter((x) => x === k).length / plan.length;
    // 20 000 draws: the standard deviation of each share is under 0.004.
    expect(Math.abs(share(ExtentKind.Hole) - 0.4)).toBeLessThan(0.02);
    expect(Math.abs(share(ExtentKind.Random) - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(share(ExtentKind.Text) - 0.3)).toBeLessThan(0.02);
  });

  it("refuses invalid sizes and seeds", async () => {
    await expect(createSampleImage(join(dir, "x.img"), -1, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(createSampleImage(join(dir, "x.img"), 1.5, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(createSampleImage(join(dir, "x.img"), 10, Number.NaN)).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

/** Indices of the pages that differ between two equally sized buffers. */
function changedPages(before: Buffer, after: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0, i = 0; off < before.length; off += SAMPLE_PAGE_SIZE, i++) {
    const end = Math.min(off + SAMPLE_PAGE_SIZE, before.length);
    if (!before.subarray(off, end).equals(after.subarray(off, end))) out.push(i);
  }
  return out;
}

describe("mutateImage", () => {
  it("rewrites the requested fraction of pages, deterministically", async () => {
    const base = join(dir, "m-base.img");
    await createSampleImage(base, 64 * MiB, 3);
    const [x, y] = [join(dir, "m-x.img"), join(dir, "m-y.img")];
    await copyFile(base, x);
    await copyFile(base, y);
    const pages = (64 * MiB) / SAMPLE_PAGE_SIZE;
    const { pagesChanged } = await mutateImage(x, 5, 99);
    expect(pagesChanged).toBe(Math.round(pages * 0.05));
    const before = await readFile(base);
    const after = await readFile(x);
    expect(after.length).toBe(before.length);
    expect(changedPages(before, after)).toHaveLength(pagesChanged);
    await mutateImage(y, 5, 99);
    expect(await sha256(y)).toBe(await sha256(x));
  });

  it("writes in runs, not scattered single pages", async () => {
    const p = join(dir, "runs.img");
    await writeFile(p, Buffer.alloc(16 * MiB));
    const { pagesChanged } = await mutateImage(p, 10, 4);
    const changed = changedPages(Buffer.alloc(16 * MiB), await readFile(p));
    expect(changed).toHaveLength(pagesChanged);
    let runs = 0;
    for (const [i, page] of changed.entries()) if (i === 0 || changed[i - 1] !== page - 1) runs++;
    // Runs average ~32 pages; scattered single pages would give as many runs as pages.
    expect(runs).toBeLessThan(pagesChanged / 8);
  });

  it("reaches every page at 100 %, including a partial last page, without growing the file", async () => {
    const size = MiB + 100;
    const p = join(dir, "all.img");
    await writeFile(p, Buffer.alloc(size));
    const { pagesChanged } = await mutateImage(p, 100, 1);
    expect(pagesChanged).toBe(Math.ceil(size / SAMPLE_PAGE_SIZE));
    const after = await readFile(p);
    expect(after.length).toBe(size);
    expect(changedPages(Buffer.alloc(size), after)).toHaveLength(pagesChanged);
  });

  it("changes nothing at 0 % and refuses out-of-range percentages", async () => {
    const p = join(dir, "none.img");
    const content = Buffer.alloc(64 * 1024, 9);
    await writeFile(p, content);
    expect(await mutateImage(p, 0, 1)).toEqual({ pagesChanged: 0 });
    expect(await readFile(p)).toEqual(content);
    await expect(mutateImage(p, 101, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(mutateImage(p, -1, 1)).rejects.toBeInstanceOf(ValidationError);
  });
});
