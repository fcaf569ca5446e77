import { spawn } from "node:child_process";
import { mkdir, readFile, realpath, stat } from "node:fs/promises";
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
    const tokenFile = join(vault, "serve-token");
    expect(JSON.parse(stdout).tokenFile).toBe(tokenFile);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(stdout).not.toContain((await readFile(tokenFile, "utf8")).trim());
    const auth = { authorization: `Bearer ${(await readFile(tokenFile, "utf8")).trim()}` };
    expect((await fetch(`${url}/recovery-points`)).status).toBe(401);
    const points = await fetch(`${url}/recovery-points`, { headers: auth });
    expect(points.status).toBe(200);
    expect(await points.json()).toEqual({ items: [] });
    const bad = await fetch(`${url}/restores`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", ...auth },
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
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

  it("refuses a bad port with exit code 2 and one line naming the range", async () => {
    for (const port of ["http", "70000"]) {
      const r = await runCli(["serve", "--vault", join(root, "none"), "--port", port]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/--port must be an integer from 1 to 65535/);
    }
  });

  it("tells the terminal how to pass the token, without printing it", async () => {
    const vault = join(root, "vault");
    expect((await runCli(["init", "--vault", vault])).code).toBe(0);
    const child = spawn(process.execPath, [BIN, "serve", "--vault", vault, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("Bearer")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`serve exited early with ${code}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout).toContain(`-H "Authorization: Bearer $(cat ${join(vault, "serve-token")})"`);
    expect(stdout).not.toContain((await readFile(join(vault, "serve-token"), "utf8")).trim());
  });

  it("lets a security admin allow restore directories, shown by vault show and audited", async () => {
    const vault = join(root, "vault");
    expect((await runCli(["init", "--vault", vault])).code).toBe(0);
    const dir = join(root, "restores");
    await mkdir(dir);
    expect((await runCli(["vault", "restore-dirs", "add", "relative", "--vault", vault])).code).toBe(2);
    expect(
      (await runCli(["vault", "restore-dirs", "add", join(root, "missing"), "--vault", vault])).code,
    ).toBe(3);
    const added = await runCli(["vault", "restore-dirs", "add", dir, "--vault", vault]);
    expect(added.code, added.stderr).toBe(0);
    const shown = await runCli(["vault", "show", "--vault", vault, "--json"]);
    expect(JSON.parse(shown.stdout).restoreDirectories).toEqual([await realpath(dir)]);
    const audit = await runCli(["audit", "--vault", vault, "--json", "--action", "restore-directories.add"]);
    expect(audit.stdout).toContain(await realpath(dir));
    expect((await runCli(["vault", "restore-dirs", "remove", dir, "--vault", vault])).code).toBe(0);
    const after = await runCli(["vault", "show", "--vault", vault]);
    expect(after.stdout).toMatch(/restore directories.*none/);
  });
});
