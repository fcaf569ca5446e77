import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/** Where the test harness keeps its Python virtualenv (git-ignored, reused by later runs). */
export const VENV_DIR = path.resolve(import.meta.dirname, "../../.venv");
const MOTO_REQUIREMENT = "moto[server]>=5.2.3";

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 600_000 });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`,
  };
}

/**
 * Makes sure `.venv` holds a moto server new enough for the suite, creating the virtualenv and
 * installing from PyPI on first use. Throws, saying what to install, when that is impossible.
 */
export function ensureMotoInstalled(options: { venvDir?: string; python?: string } = {}): string {
  const venvDir = options.venvDir ?? VENV_DIR;
  const venvBin = (name: string) => path.join(venvDir, "bin", name);
  const server = venvBin("moto_server");
  if (existsSync(server) && run(venvBin("python"), ["-c", versionCheck]).ok) return server;
  const python = options.python ?? process.env.PYTHON ?? "python3";
  if (!existsSync(venvBin("python"))) {
    const venv = run(python, ["-m", "venv", venvDir]);
    if (!venv.ok) throw missing(`could not create a virtualenv with ${python} -m venv:\n${venv.output}`);
  }
  const pip = run(venvBin("python"), ["-m", "pip", "install", "--quiet", MOTO_REQUIREMENT]);
  if (!pip.ok) throw missing(`pip could not install ${MOTO_REQUIREMENT}:\n${pip.output}`);
  return server;
}

// moto >= 5.2.3: older releases lack the S3 conditional writes the object store relies on.
const versionCheck = [
  "import importlib.metadata as m, sys",
  "v = tuple(int(x) for x in m.version('moto').split('.')[:3])",
  "sys.exit(0 if v >= (5, 2, 3) else 1)",
].join("\n");

function missing(detail: string): Error {
  return new Error(
    "The AWS emulator tier needs either AWS_ENDPOINT_URL pointing at a running emulator (for example " +
      "LocalStack on http://localhost:4566) or Python 3 with venv and pip so the tests can install " +
      `${MOTO_REQUIREMENT} into .venv. ${detail}`,
  );
}

/** A free loopback port, for an emulator to listen on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function waitUntilServing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto server exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto server did not answer on ${url} within 60 s:\n${log()}`);
}

/** A running moto server: its endpoint and how to stop it. */
export interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Installs (if needed) and starts moto server on a free loopback port. */
export async function startMoto(): Promise<RunningEmulator> {
  const server = ensureMotoInstalled();
  const port = await freePort();
  const child = spawn(server, ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(endpoint, child, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
