import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileTarget } from "../../../lib/adapters/local/targets/file-target.ts";
import { AlreadyExistsError } from "../../../lib/errors.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir("file-target");
});
afterEach(async () => {
  await removeDir(dir);
});

describe("a file restore target without force", () => {
  it("replaces nothing that appeared at the target while the restore ran, and leaves no partial file", async () => {
    const path = join(dir, "out.img");
    const target = await openFileTarget(path, 4);
    await target.write(0, Buffer.from("new!"));
    await writeFile(path, "someone else's");
    await expect(target.commit()).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await readFile(path, "utf8")).toBe("someone else's");
    expect(await readdir(dir)).toEqual(["out.img"]);
  });

  it("puts the file in place, alone, when nothing is there", async () => {
    const path = join(dir, "out.img");
    const target = await openFileTarget(path, 4);
    await target.write(0, Buffer.from("new!"));
    await target.commit();
    expect(await readFile(path, "utf8")).toBe("new!");
    expect(await readdir(dir)).toEqual(["out.img"]);
  });

  it("replaces an existing file with force", async () => {
    const path = join(dir, "out.img");
    await writeFile(path, "old");
    const target = await openFileTarget(path, 4, { force: true });
    await target.write(0, Buffer.from("new!"));
    await target.commit();
    expect(await readFile(path, "utf8")).toBe("new!");
  });
});
