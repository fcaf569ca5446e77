import { spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileLock } from "../../../lib/adapters/local/file-lock.ts";
import { ConflictError } from "../../../lib/errors.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await tempDir("file-lock");
  lockPath = join(dir, ".x.lock");
});
afterEach(async () => {
  await removeDir(dir);
});

/** The pid of a process that has exited (and so cannot hold a lock). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("FileLock", () => {
  it("writes its holder into the lock file and removes only that on release", async () => {
    const lock = new FileLock(lockPath, 200);
    await lock.acquire("x");
    expect(await readFile(lockPath, "utf8")).toMatch(new RegExp(`^${process.pid} [0-9a-f]{16}\\n$`));
    expect(await lock.stillHeld()).toBe(true);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses, retryably and naming the lock file, while a live holder keeps it", async () => {
    const first = new FileLock(lockPath, 200);
    await first.acquire("x");
    const err = await new FileLock(lockPath, 200).acquire("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).retryable).toBe(true);
    expect((err as Error).message).toContain(lockPath);
    expect(await first.stillHeld()).toBe(true);
  });

  it("takes over the lock of a process that is gone, and an empty lock an old writer left", async () => {
    await writeFile(lockPath, `${deadPid()} 0123456789abcdef\n`);
    const lock = new FileLock(lockPath, 200);
    await lock.acquire("x");
    expect(await lock.stillHeld()).toBe(true);
    await lock.release();
    await writeFile(lockPath, "");
    await lock.acquire("x");
    expect(await lock.stillHeld()).toBe(true);
  });

  it("lets exactly one of many racing takers over a stale lock hold it at a time", async () => {
    await writeFile(lockPath, `${deadPid()} 0123456789abcdef\n`);
    let holders = 0;
    let most = 0;
    const takers = Array.from({ length: 12 }, async () => {
      const lock = new FileLock(lockPath, 5_000);
      await lock.acquire("x");
      holders++;
      most = Math.max(most, holders);
      await new Promise((r) => setTimeout(r, 5));
      const held = await lock.stillHeld();
      holders--;
      await lock.release();
      return held;
    });
    const held = await Promise.all(takers);
    expect(most).toBe(1);
    expect(held.every(Boolean)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a holder whose lock was moved away learns it before committing", async () => {
    const lock = new FileLock(lockPath, 200);
    await lock.acquire("x");
    await writeFile(lockPath, `${process.pid} ffffffffffffffff\n`);
    expect(await lock.stillHeld()).toBe(false);
    await lock.release();
    expect(await readFile(lockPath, "utf8")).toBe(`${process.pid} ffffffffffffffff\n`);
  });
});
