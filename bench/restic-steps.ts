import { randomBytes } from "node:crypto";
import { link, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { apparentSize, beforeStep, sha256File } from "./fs-stats.ts";
import { canRun, type RunOptions, run, runMeasured } from "./proc.ts";
import { type StepOutcome, step } from "./step.ts";
import type { ToolContext, ToolResult } from "./types.ts";

/** The name both images are backed up under: restic picks the parent snapshot by path. */
const SOURCE_NAME = "disk.img";

/** Whether restic is installed. */
export function hasRestic(): Promise<boolean> {
  return canRun("restic", ["version"]);
}

/**
 * The environment for restic: a throwaway password, and none of the caller's RESTIC_* settings,
 * so a developer's repository, compression or pack-size choices cannot leak into the numbers.
 */
function resticEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RESTIC_")) env[k] = v;
  env.RESTIC_PASSWORD = randomBytes(16).toString("hex");
  return env;
}

/** The `summary` message of `restic backup --json` (the last JSON line it prints). */
function backupSummary(stdout: string): unknown {
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const msg = JSON.parse(line) as { message_type?: string };
      if (msg.message_type === "summary") return msg;
    } catch {
      // Not every line restic prints is JSON; only the summary matters.
    }
  }
  return undefined;
}

/**
 * Puts `image` at `path`. A hard link costs nothing and restic only sees a path whose contents
 * changed, exactly as if the bytes had been overwritten in place; a sparse copy is the fallback
 * when the work dir is on another filesystem than the images.
 */
async function placeSource(image: string, path: string): Promise<void> {
  await rm(path, { force: true });
  await link(image, path).catch(() => run("cp", ["--sparse=always", image, path]));
}

/** init, full backup, incremental backup (same path), restore and verification with restic. */
export async function benchRestic(ctx: ToolContext): Promise<ToolResult> {
  const { images, log } = ctx;
  const repo = join(ctx.runDir, "repo");
  const source = join(ctx.runDir, "source");
  const target = join(ctx.runDir, "restored");
  await mkdir(source, { recursive: true });
  const opts: RunOptions = { cwd: source, env: resticEnv() };
  // --no-cache: blockvault keeps no local cache either; compression stays restic's default (auto).
  const restic = async (args: readonly string[]): Promise<StepOutcome> => {
    const m = await runMeasured("restic", ["--repo", repo, "--no-cache", ...args], opts);
    if (m.exitCode !== 0)
      throw new Error(`restic ${args[0]} failed (exit ${m.exitCode}): ${m.stderr.trim()}`);
    return { measured: m, reported: args[0] === "backup" ? backupSummary(m.stdout) : undefined };
  };
  const version = (await run("restic", ["version"])).trim();

  await restic(["init"]);

  await placeSource(images.pristine, join(source, SOURCE_NAME));
  await beforeStep(images.pristine, ctx.runDir, images.sizeBytes);
  const full = await step("restic", "full backup", images.sizeBytes, log, () =>
    restic(["backup", "--json", SOURCE_NAME]),
  );
  const storeBytesAfterFull = await apparentSize(repo);

  await placeSource(images.mutated, join(source, SOURCE_NAME));
  await beforeStep(images.mutated, ctx.runDir, images.sizeBytes);
  const incremental = await step("restic", "incremental", images.sizeBytes, log, () =>
    restic(["backup", "--json", SOURCE_NAME]),
  );
  const storeBytesAfterIncremental = await apparentSize(repo);

  await beforeStep(repo, ctx.runDir, images.sizeBytes);
  const restore = await step("restic", "restore", images.sizeBytes, log, () =>
    restic(["restore", "latest", "--target", target]),
  );
  // A relative backup path restores directly under the target.
  const restoredSha256 = await sha256File(join(target, SOURCE_NAME));
  await rm(target, { recursive: true, force: true });

  return {
    tool: "restic",
    version,
    full,
    incremental,
    restore,
    storeBytesAfterFull,
    storeBytesAfterIncremental,
    restoreIdentical: restoredSha256 === images.mutatedSha256,
    restoredSha256,
  };
}
