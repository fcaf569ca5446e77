import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlignedAppender } from "../../../lib/engine/restore/aligned-appender.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

// Fault injection: the background writes go through node:fs's `write`, which fails on demand here
// (a full or failing device), and `close` is counted.
const fault = vi.hoisted(() => ({ failWrites: false, closes: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const write = (...args: unknown[]) => {
    if (!fault.failWrites) return (real.write as (...a: unknown[]) => void)(...args);
    const callback = args.at(-1) as (err: Error | null, n: number) => void;
    setImmediate(() =>
      callback(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }), 0),
    );
  };
  const close = (fd: number, callback: (err: Error | null) => void) => {
    fault.closes++;
    real.close(fd, callback);
  };
  return { ...real, default: { ...real, write, close }, write, close };
});

describe("AlignedAppender (fault injection: failing device writes)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir("aligned-appender-faults");
    fault.failWrites = false;
    fault.closes = 0;
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("a background write that fails fails the finish, after the file is closed", async () => {
    const appender = new AlignedAppender(path.join(dir, "full"), false);
    fault.failWrites = true;
    appender.append([seededBytes(1, 3 * 1024 * 1024)]);
    await expect(appender.finish(3 * 1024 * 1024)).rejects.toThrow(/ENOSPC/);
    expect(fault.closes).toBe(1);
  });

  it("a failure seen by a later append is reported there, and abort still closes the file", async () => {
    const appender = new AlignedAppender(path.join(dir, "failing"), false);
    fault.failWrites = true;
    appender.append([seededBytes(2, 1024 * 1024)]); // one full segment goes to the background
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => appender.append([Buffer.from("more")])).toThrow(/ENOSPC/);
    await appender.abort();
    expect(fault.closes).toBe(1);
    expect(await readdir(dir)).toEqual(["failing"]); // removing it is the caller's part
  });
});
