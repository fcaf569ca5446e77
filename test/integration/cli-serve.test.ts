import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));
let root: string;

beforeEach(async () => {
  root = await tempDir("cli-serve");
});
afterEach(async () => {
  await removeDir(root);
});

describe("blockvault serve", () => {
  it("serves the HTTP API on loopback until it is stopped, then exits cleanly", async () => {
    const vault = join(root, "vault");
    expect((await runCli(["init", "--vault", vault])).code).toBe(0);
    const child = spawn(process.execPath, [BIN, "serve", "--vault", vault, "--port", "0", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /"url":\s*"([^"]+)"/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`serve exited early with ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const points = await fetch(`${url}/recovery-points`);
    expect(points.status).toBe(200);
    expect(await points.json()).toEqual({ items: [] });
    const bad = await fetch(`${url}/restores`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(bad.status).toBe(400);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("refuses to listen beyond loopback while every caller would be the vault's owner", async () => {
    const vault = join(root, "vault");
    expect((await runCli(["init", "--vault", vault])).code).toBe(0);
    const r = await runCli(["serve", "--vault", vault, "--host", "0.0.0.0", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve on 0\.0\.0\.0.*principal add/);
  });

  it("refuses a bad port with exit code 2", async () => {
    const r = await runCli(["serve", "--vault", join(root, "none"), "--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port/);
  });
});
