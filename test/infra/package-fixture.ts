import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { VENV_DIR } from "../emulator/moto.ts";
import type { Template } from "./template.ts";

/** The repository root: where serverless.yml is. */
export const REPO = path.resolve(import.meta.dirname, "../..");
export const STAGES = ["dev", "local"] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The stack parameters each stage is packaged with: dev allows the README's example sources and
 * targets and an encrypted-snapshot key, local keeps every default (nothing outside the vault
 * but EBS without customer keys).
 */
export const STAGE_PARAMS: Record<Stage, Readonly<Record<string, string>>> = {
  dev: {
    backupSources: "s3://acme-images/disks/,s3://acme-golden",
    restoreTargets: "s3://acme-restores/restores/",
    ebsKmsKeys: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    snapshotConcurrency: "25",
    fanOutConcurrency: "20",
    copyRoles: "arn:aws:iam::210987654321:role/blockvault-dr-copy-writer",
    copyWriters: "arn:aws:iam::111122223333:role/blockvault-prod-LifecycleRole",
  },
  local: {},
};

/** One `serverless package --stage <stage>` run. */
export interface PackagedStage {
  readonly stage: Stage;
  /** Exit code of `serverless package`. */
  readonly status: number | null;
  readonly output: string;
  /** The `--package` directory. */
  readonly dir: string;
  readonly seconds: number;
}

const PACKAGE_TIMEOUT_MS = 5 * 60_000;
const CFN_LINT_REQUIREMENT = "cfn-lint>=1.0,<2";

/**
 * Packages both stages once per test run and hands every test file the same result.
 *
 * Packaging is slow and shares state in the working tree (serverless writes `.serverless/`), so it
 * runs once, stages one after the other, in whichever test process comes first; the others wait
 * for its result. The cache lives in a temporary directory keyed by the vitest main process (the
 * parent of the forked test processes), so every run packages afresh.
 */
export function packagedStages(): Promise<Record<Stage, PackagedStage>> {
  cached ??= loadOrPackage();
  return cached;
}

let cached: Promise<Record<Stage, PackagedStage>> | undefined;

/** The packaged CloudFormation template of `stage` (throws with serverless's output if it failed). */
export async function packagedTemplate(stage: Stage): Promise<Template> {
  const result = (await packagedStages())[stage];
  const file = templatePath(result);
  if (result.status !== 0 || !existsSync(file)) {
    throw new Error(`serverless package --stage ${stage} failed (${result.status}):\n${result.output}`);
  }
  return JSON.parse(readFileSync(file, "utf8")) as Template;
}

/** Where `serverless package` leaves the template CloudFormation deploys. */
export function templatePath(result: PackagedStage): string {
  return path.join(result.dir, "cloudformation-template-update-stack.json");
}

async function loadOrPackage(): Promise<Record<Stage, PackagedStage>> {
  const parent = os.tmpdir();
  removeStaleCaches(parent);
  const root = path.join(parent, `${CACHE_PREFIX}${process.ppid}`);
  const done = path.join(root, "result.json");
  return withLock(root, async () => {
    if (existsSync(done)) return JSON.parse(readFileSync(done, "utf8")) as Record<Stage, PackagedStage>;
    const results = await withServerlessTree(async () => {
      const out = {} as Record<Stage, PackagedStage>;
      for (const stage of STAGES) out[stage] = await packageStage(stage, root);
      return out;
    });
    writeFileSync(`${done}.tmp`, JSON.stringify(results));
    renameSync(`${done}.tmp`, done);
    return results;
  });
}

/**
 * Runs `fn` holding this working tree's serverless lock: packaging and deploying write
 * `.serverless/` in the tree, so one of them per tree at a time, also across concurrent test runs.
 */
export function withServerlessTree<T>(fn: () => Promise<T>): Promise<T> {
  const treeLock = path.join(
    os.tmpdir(),
    `blockvault-sls-tree-${createHash("sha256").update(REPO).digest("hex").slice(0, 12)}.lock`,
  );
  return withLock(treeLock, fn);
}

/**
 * Runs `fn` holding the lock directory `lock` (created atomically; it records the holder's pid, and
 * a lock whose holder died is taken over). `lock` may be a directory that outlives the lock: the
 * holder's pid file is what is held.
 */
export async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(lock, { recursive: true });
  const holder = path.join(lock, "holder");
  const deadline = Date.now() + 2 * STAGES.length * PACKAGE_TIMEOUT_MS;
  for (;;) {
    try {
      writeFileSync(holder, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number(readIfExists(holder) || 0);
    if (pid > 0 && !alive(pid)) rmSync(holder, { force: true });
    else if (Date.now() > deadline) throw new Error(`gave up waiting for process ${pid} holding ${lock}`);
    else await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(holder, { force: true });
  }
}

async function packageStage(stage: Stage, root: string): Promise<PackagedStage> {
  return serverlessPackage(stage, root, STAGE_PARAMS[stage]);
}

/**
 * One `serverless package --stage <stage>` into `root`, offline, with `params` as `--param`s
 * (what a test that expects packaging to fail runs, outside the shared cache).
 */
export async function serverlessPackage(
  stage: Stage,
  root: string,
  params: Readonly<Record<string, string>>,
): Promise<PackagedStage> {
  const dir = path.join(root, stage);
  // serverless-esbuild builds under this folder (relative to serverless.yml), away from the tree.
  const workFolder = path.relative(REPO, path.join(root, `esbuild-${stage}`));
  // serverless-esbuild leaves a temporary directory per function behind (its cleanup cannot
  // remove a directory that still has files): keep them inside this cache, removed with it.
  const tmp = path.join(root, `tmp-${stage}`);
  mkdirSync(tmp, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: tmp,
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_REGION: "us-east-1",
    SLS_TELEMETRY_DISABLED: "1",
    SLS_NOTIFICATIONS_MODE: "off",
    BLOCKVAULT_ESBUILD_WORK_FOLDER: workFolder,
    // Offline: anything that tried the network through a proxy-aware client would fail here.
    HTTP_PROXY: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
  };
  for (const name of ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "NO_PROXY", "no_proxy"]) {
    delete env[name];
  }
  const started = performance.now();
  const { status, output } = await run(
    process.execPath,
    [
      path.join(REPO, "node_modules/.bin/serverless"),
      ...["package", "--stage", stage, "--package", dir],
      ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
    ],
    { cwd: REPO, env, timeoutMs: PACKAGE_TIMEOUT_MS },
  );
  return { stage, status, output, dir, seconds: (performance.now() - started) / 1000 };
}

/**
 * The cfn-lint executable in the project's virtualenv (the one the emulator tier keeps moto in),
 * installed from PyPI on first use.
 */
export function ensureCfnLint(): string {
  const bin = (name: string) => path.join(VENV_DIR, "bin", name);
  if (existsSync(bin("cfn-lint"))) return bin("cfn-lint");
  const python = process.env.PYTHON ?? "python3";
  if (!existsSync(bin("python"))) {
    const venv = spawnSync(python, ["-m", "venv", VENV_DIR], { encoding: "utf8" });
    if (venv.status !== 0) {
      throw new Error(`cannot create ${VENV_DIR} with ${python} -m venv:\n${venv.stdout}${venv.stderr}`);
    }
  }
  const pip = spawnSync(bin("python"), ["-m", "pip", "install", "--quiet", CFN_LINT_REQUIREMENT], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (pip.status !== 0 || !existsSync(bin("cfn-lint"))) {
    throw new Error(
      `pip could not install ${CFN_LINT_REQUIREMENT} into ${VENV_DIR}:\n${pip.stdout}${pip.stderr}`,
    );
  }
  return bin("cfn-lint");
}

/** Runs cfn-lint on `template` from the repository root, so that its .cfnlintrc applies. */
export function cfnLint(template: string): Promise<{ status: number | null; output: string }> {
  return run(ensureCfnLint(), [template], { cwd: REPO, env: process.env, timeoutMs: 300_000 });
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => {
      output += `\n[killed after ${options.timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (err) => {
      output += String(err);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Caches of earlier runs: kept a day (for a look at what was packaged), then removed. */
const CACHE_PREFIX = "blockvault-sls-package-";

/**
 * Removes the packaging caches of test runs that have ended (their vitest main process is gone),
 * and any older than a day (in case a later process took over the pid). Each holds both stages'
 * packages, ~70 MB: kept until they aged out, a day of test runs filled the temporary directory
 * with gigabytes.
 */
export function removeStaleCaches(parent: string): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(CACHE_PREFIX)) continue;
    const full = path.join(parent, name);
    const owner = Number(name.slice(CACHE_PREFIX.length));
    try {
      const ended = Number.isInteger(owner) && owner > 0 && !alive(owner);
      if (ended || statSync(full).mtimeMs < dayAgo) rmSync(full, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
