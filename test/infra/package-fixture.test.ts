import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, utimesSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { removeStaleCaches } from "./package-fixture.ts";

let parent: string;
beforeEach(async () => {
  parent = await tempDir("sls-caches");
});
afterEach(async () => {
  await removeDir(parent);
});

/** The pid of a process that has already ended. */
function endedPid(): number {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

describe("removeStaleCaches", () => {
  it("removes the caches of ended test runs and day-old ones, keeps live runs' and other files", () => {
    const dead = `blockvault-sls-package-${endedPid()}`;
    const live = `blockvault-sls-package-${process.pid}`;
    const old = `blockvault-sls-package-${process.ppid}`;
    const other = "something-else-1";
    for (const name of [dead, live, old, other])
      mkdirSync(path.join(parent, name, "dev"), { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    utimesSync(path.join(parent, old), twoDaysAgo, twoDaysAgo);

    removeStaleCaches(parent);

    expect(readdirSync(parent).sort()).toEqual([live, other].sort());
    expect(existsSync(path.join(parent, live, "dev"))).toBe(true);
  });
});
