import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { ensureSchemathesisInstalled } from "../helpers/schemathesis.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

const BIN = fileURLToPath(new URL("../../bin/blockvault.mjs", import.meta.url));
const CONFIG = fileURLToPath(new URL("./schemathesis.toml", import.meta.url));
/** The fuzzer's time budget: enough for every phase on every operation, bounded for CI. */
const BUDGET_SECONDS = Number(process.env.BLOCKVAULT_FUZZ_SECONDS ?? 75);
const SEED = process.env.BLOCKVAULT_FUZZ_SEED ?? "20261206";

let root: string;
let vault: string;
let server: ReturnType<typeof spawn>;
let url: string;

async function cli(args: string[]): Promise<string> {
  const r = await runCli([...args, "--vault", vault]);
  if (r.code !== 0) throw new Error(`blockvault ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  root = await tempDir("fuzz");
  vault = join(root, "vault");
  await cli(["init", "--block-size", "4096"]);
  // A few points, a policy protecting a disk, and a directory restores may write into.
  const image = join(root, "web.img");
  await writeFile(image, seededBytes(9, 200_000));
  await cli(["backup", image, "--disk", "web"]);
  await cli(["backup", image, "--disk", "db"]);
  const policy = join(root, "daily.json");
  await writeFile(
    policy,
    JSON.stringify({
      name: "daily",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 30 } },
      snapshotRetentionDays: 2,
    }),
  );
  await cli(["policy", "create", "--file", policy]);
  await cli(["protect", image, "--disk", "web", "--policy", "daily"]);
  await mkdir(join(root, "restores"));
  await cli(["vault", "restore-dirs", "add", join(root, "restores")]);
  server = spawn(
    process.execPath,
    [BIN, "serve", "--vault", vault, "--port", "0", "--tick-seconds", "0", "--json"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once("exit", (code) => reject(new Error(`serve exited early with ${code}`)));
  });
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  await removeDir(root);
});

describe("the served OpenAPI document against the server (schemathesis)", () => {
  it(
    "finds no 5xx and no disagreement between the document and the server in a bounded run",
    async () => {
      const st = ensureSchemathesisInstalled();
      const token = (await readFile(join(vault, "serve-token"), "utf8")).trim();
      const started = Date.now();
      const args = [
        "--config-file",
        CONFIG,
        "run",
        `${url}/openapi.json`,
        "--url",
        url,
        "--header",
        `Authorization: Bearer ${token}`,
        "--max-examples",
        "10",
        "--max-time",
        String(BUDGET_SECONDS),
        "--workers",
        "1",
        "--seed",
        SEED,
        "--request-timeout",
        "10",
      ];
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(st, args, { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
        let output = "";
        child.stdout.on("data", (c: Buffer) => (output += c.toString()));
        child.stderr.on("data", (c: Buffer) => (output += c.toString()));
        child.once("exit", (code) => resolve({ code, output }));
      });
      const seconds = (Date.now() - started) / 1000;
      expect(result.code, `schemathesis failed after ${seconds.toFixed(0)} s:\n${result.output}`).toBe(0);
      expect(result.output).toMatch(/passed/);
      // What the fuzzer did must leave the vault whole.
      expect((await runCli(["check", "--vault", vault])).code).toBe(0);
    },
    (BUDGET_SECONDS + 90) * 1000,
  );
});
