import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../emulator/moto.ts";
import { withLock } from "../infra/package-fixture.ts";

/** Where the LocalStack tier keeps its virtualenv (git-ignored, reused by later runs). */
export const LOCALSTACK_VENV = path.resolve(import.meta.dirname, "../../.venv-localstack");

/**
 * LocalStack's runtime from PyPI, which runs without Docker, and the pins under which its
 * dependencies agree with each other (without them it fails to start).
 */
export const LOCALSTACK_REQUIREMENTS = [
  "localstack-core[runtime]==2026.3.0",
  "cryptography==43.0.3",
  "service_identity==24.1.0",
  "pyopenssl<24.3",
  "cbor2<5.7",
] as const;

const WHAT_TO_INSTALL =
  "The LocalStack tier needs Python 3.13 with venv and pip (as python3.13 on PATH, in pyenv's versions, " +
  "or named by $PYTHON313) so that it can install LocalStack's runtime from PyPI into .venv-localstack";

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 900_000 });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`,
  };
}

/** A Python 3.13 interpreter: $PYTHON313, python3.13 on PATH, or one of pyenv's. */
export function python313(): string {
  const candidates = [process.env.PYTHON313, "python3.13"];
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(homedir(), ".pyenv"), "versions");
  if (existsSync(pyenv)) {
    for (const version of readdirSync(pyenv)
      .filter((v) => v.startsWith("3.13"))
      .sort()
      .reverse())
      candidates.push(path.join(pyenv, version, "bin", "python3.13"));
  }
  for (const candidate of candidates) {
    if (candidate && run(candidate, ["-c", "import sys; assert sys.version_info[:2] == (3, 13)"]).ok)
      return candidate;
  }
  throw new Error(`${WHAT_TO_INSTALL}; none was found.`);
}

/**
 * Makes sure the virtualenv holds LocalStack's runtime at the pinned version; returns its python.
 * One installation at a time: the tier's test files may run at once, and two pips writing one
 * virtualenv would break it.
 */
export function ensureLocalStackInstalled(): Promise<string> {
  const lock = path.join(
    tmpdir(),
    `blockvault-localstack-venv-${createHash("sha256").update(LOCALSTACK_VENV).digest("hex").slice(0, 12)}.lock`,
  );
  return withLock(lock, async () => install());
}

function install(): string {
  const python = path.join(LOCALSTACK_VENV, "bin", "python");
  const installed = `import importlib.metadata as m; assert m.version('localstack-core') == '2026.3.0'`;
  if (existsSync(python) && run(python, ["-c", installed]).ok) return python;
  if (!existsSync(python)) {
    const venv = run(python313(), ["-m", "venv", LOCALSTACK_VENV]);
    if (!venv.ok) throw new Error(`${WHAT_TO_INSTALL}: venv failed:\n${venv.output}`);
  }
  const pip = run(python, ["-m", "pip", "install", "--quiet", ...LOCALSTACK_REQUIREMENTS]);
  if (!pip.ok) throw new Error(`${WHAT_TO_INSTALL}: pip failed:\n${pip.output.slice(-4000)}`);
  return python;
}

/** A running LocalStack: its endpoint, the services its health check lists, how to stop it. */
export interface RunningLocalStack {
  readonly endpoint: string;
  readonly services: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Installs (if needed) and starts LocalStack without Docker, the way the README says: the runtime
 * module on a loopback gateway, its DNS server off, its state in a temporary directory; `env`
 * adds LocalStack settings (e.g. `SFN_MOCK_CONFIG`).
 */
export async function startLocalStack(
  options: { env?: Readonly<Record<string, string>> } = {},
): Promise<RunningLocalStack> {
  const python = await ensureLocalStackInstalled();
  const port = await freePort();
  const state = await mkdtemp(path.join(tmpdir(), "bv-localstack-"));
  const child = spawn(python, ["-m", "localstack.runtime.main"], {
    env: {
      ...process.env,
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      DNS_DISABLED: "1",
      LOCALSTACK_VOLUME_DIR: state,
      DISABLE_EVENTS: "1",
      SKIP_SSL_CERT_DOWNLOAD: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopped(child).then(() => rm(state, { recursive: true, force: true }));
  try {
    const services = await healthy(endpoint, child, () => log);
    return { endpoint, services, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function healthy(
  endpoint: string,
  child: ChildProcess,
  log: () => string,
): Promise<Record<string, string>> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`LocalStack exited with ${child.exitCode}:\n${log()}`);
    const health = await fetch(`${endpoint}/_localstack/health`)
      .then((r) => (r.ok ? (r.json() as Promise<{ services?: Record<string, string> }>) : undefined))
      .catch(() => undefined);
    if (health?.services?.s3 === "available" || health?.services?.s3 === "running") return health.services;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`LocalStack did not report S3 available on ${endpoint} within 120 s:\n${log()}`);
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
