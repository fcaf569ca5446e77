import { spawnSync } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));
const OURS = "glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=268435456";
let root: string;

beforeEach(async () => {
  root = await tempDir("cli-launcher");
});
afterEach(async () => {
  await removeDir(root);
});

/** Runs the CLI file as a program (as `npx blockvault` does), with `path` first on the PATH. */
function runAsProgram(path: string, env: NodeJS.ProcessEnv = {}) {
  const { GLIBC_TUNABLES: _, ...inherited } = process.env;
  return spawnSync(BIN, ["--help"], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...inherited, ...env, PATH: `${path}${delimiter}${process.env.PATH ?? ""}` },
  });
}

describe("bin/blockvault.mjs run as a program", () => {
  it("starts on the Node first on the PATH", () => {
    const run = runAsProgram(dirname(process.execPath));
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^Usage: blockvault <command>/m);
    expect(run.status).toBe(0);
  });

  it("hands Node the allocator settings, with the caller's own settings after them", async () => {
    // A stand-in `node` that reports what it was started with.
    const fake = join(root, "node");
    await writeFile(fake, '#!/bin/sh\nprintf "%s\\n" "$GLIBC_TUNABLES" "$@"\n');
    await chmod(fake, 0o755);
    const plain = runAsProgram(root);
    expect(plain.stdout.split("\n").slice(0, 3)).toEqual([OURS, BIN, "--help"]);
    const withOwn = runAsProgram(root, { GLIBC_TUNABLES: "glibc.malloc.arena_max=2" });
    expect(withOwn.stdout.split("\n")[0]).toBe(`${OURS}:glibc.malloc.arena_max=2`);
  });
});
