import { type ChildProcess, spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const WRITER = fileURLToPath(new URL("../helpers/principals-writer.ts", import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await tempDir("principals-crash");
});
afterEach(async () => {
  await removeDir(dir);
});

/** A writer process; `acked` collects the adds it reported done. */
function writer(file: string, prefix: string, acked: Set<string>): ChildProcess {
  const child = spawn(process.execPath, [WRITER, file, prefix], { stdio: ["ignore", "pipe", "inherit"] });
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) acked.add(line);
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise((resolve) => child.once("exit", resolve));

describe("principals.json under SIGKILL and concurrent writers", () => {
  it("keeps every acknowledged add, stays valid, and recovers the lock a killed writer held", async () => {
    const file = join(dir, "principals.json");
    const acked = new Set<string>();
    const steady = writer(file, "steady", acked);
    for (let round = 0; round < 8; round++) {
      const victim = writer(file, `victim${round}`, acked);
      await sleep(150 + Math.random() * 250);
      victim.kill("SIGKILL");
      await exited(victim);
    }
    steady.kill("SIGKILL");
    await exited(steady);
    const { revision, principals } = await filePrincipalStore(file).list();
    const names = new Set(principals.map((p) => p.name));
    expect(acked.size).toBeGreaterThan(8);
    for (const name of acked) expect(names.has(name), name).toBe(true);
    expect(revision).toBe(principals.length);
    // Whatever lock or temporary file a killed writer left, the next change goes through.
    const after = await filePrincipalStore(file).add(
      [{ name: "after", roles: ["reader"], created: 1, createdBy: "owner", rolesSince: 1, lineage: [] }],
      revision,
    );
    expect(after).toBe(revision + 1);
    const leftovers = (await readdir(dir)).filter((n) => n !== "principals.json" && !n.endsWith(".tmp"));
    expect(leftovers).toEqual([]);
  }, 30_000);
});
