import { spawn } from "node:child_process";
import { access, constants, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Measured } from "./types.ts";

/** GNU time: reports the child's CPU time and peak RSS from the kernel's own accounting (getrusage). */
const GNU_TIME = "/usr/bin/time";
/** How often the /proc fallback samples the child's high-water mark. */
const POLL_MS = 20;

/** Options for a subprocess. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

let gnuTime: Promise<boolean> | undefined;

/**
 * Whether peak RSS and CPU time are measured with GNU time (exact) rather than peak RSS by polling
 * /proc (may miss the end) and CPU time not at all.
 */
export function usesGnuTime(): Promise<boolean> {
  gnuTime ??= access(GNU_TIME, constants.X_OK).then(
    () => true,
    () => false,
  );
  return gnuTime;
}

let usageFiles = 0;

/**
 * Runs `cmd args` to completion, timing it from spawn to exit and measuring its CPU time and peak
 * RSS. Output is collected rather than shown so progress bars and JSON do not interleave with the
 * report.
 */
export async function runMeasured(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Measured> {
  if (await usesGnuTime()) {
    const usageFile = join(tmpdir(), `blockvault-bench-${process.pid}-${usageFiles++}.usage`);
    try {
      const r = await collect(GNU_TIME, ["-f", "%U %S %M", "-o", usageFile, cmd, ...args], options);
      return { ...r, ...(await readGnuTimeUsage(usageFile)) };
    } finally {
      await rm(usageFile, { force: true });
    }
  }
  return collect(cmd, args, options, pollHighWaterMark);
}

/**
 * Reads "user-seconds system-seconds peak-KiB". GNU time writes "Command exited with non-zero
 * status N" before the format's line on failure, so only the last line counts.
 */
async function readGnuTimeUsage(file: string): Promise<Pick<Measured, "cpuMs" | "peakRssBytes">> {
  const text = await readFile(file, "utf8").catch(() => "");
  const [user, system, kib] = (text.trim().split("\n").at(-1) ?? "").split(" ").map(Number);
  const cpuOk = Number.isFinite(user) && Number.isFinite(system);
  return {
    cpuMs: cpuOk ? (user! + system!) * 1000 : undefined,
    peakRssBytes: kib !== undefined && Number.isFinite(kib) && kib > 0 ? kib * 1024 : undefined,
  };
}

/** Samples VmHWM (the kernel's peak RSS of the process) until `done`; returns the largest seen. */
function pollHighWaterMark(pid: number, done: Promise<unknown>): Promise<number | undefined> {
  let peak: number | undefined;
  const sample = async () => {
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (kib !== undefined) peak = Math.max(peak ?? 0, Number(kib) * 1024);
  };
  const timer = setInterval(() => void sample(), POLL_MS);
  return done.finally(() => clearInterval(timer)).then(() => peak);
}

type RssProbe = (pid: number, done: Promise<unknown>) => Promise<number | undefined>;

function collect(
  cmd: string,
  args: readonly string[],
  options: RunOptions,
  probe?: RssProbe,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const exited = new Promise<number>((res) => {
      child.on("close", (code, signal) => res(code ?? (signal ? 128 : 1)));
    });
    const rss = probe && child.pid !== undefined ? probe(child.pid, exited) : Promise.resolve(undefined);
    child.on("error", reject);
    void exited.then(async (exitCode) => {
      const wallMs = performance.now() - started;
      resolve({
        wallMs,
        cpuMs: undefined,
        peakRssBytes: await rss,
        exitCode,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** Runs a helper command (not measured), failing with its stderr when it fails. */
export async function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await collect(cmd, args, options);
  if (r.exitCode !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Whether `cmd` can be run at all (it is on PATH and starts). */
export async function canRun(cmd: string, args: readonly string[]): Promise<boolean> {
  try {
    return (await collect(cmd, args, {})).exitCode === 0;
  } catch {
    return false;
  }
}
