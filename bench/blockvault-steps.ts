import { mkdir, readFile, rm } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { apparentSize, beforeStep, sha256File } from "./fs-stats.ts";
import { runMeasured } from "./proc.ts";
import { type StepOutcome, step } from "./step.ts";
import type { ToolContext, ToolResult } from "./types.ts";

/** Both backups go to one disk, so the second is an incremental on the first. */
const DISK = "bench-disk";

/** The fields of `backup --json` the benchmark relies on. */
interface BackupReport {
  readonly recoveryPointId: string;
  readonly bytesChanged: number;
  readonly bytesStored: number;
  readonly peakRssBytes: number;
}

/**
 * Runs the blockvault CLI as a subprocess, the way a user would, with the same Node binary as the
 * benchmark (Node 24 from the devDependency), and returns its parsed JSON.
 */
async function cli(ctx: ToolContext, vault: string, args: readonly string[]): Promise<StepOutcome> {
  // Run as users run it (npx blockvault): the file as a program, which sets up its runtime (see
  // bin/blockvault.mjs), on this Node.
  const m = await runMeasured(
    join(ctx.repoRoot, "bin/blockvault.mjs"),
    [...args, "--vault", vault, "--json"],
    {
      cwd: ctx.repoRoot,
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` },
    },
  );
  if (m.exitCode !== 0) {
    throw new Error(`blockvault ${args[0]} failed (exit ${m.exitCode}): ${m.stderr.trim()}`);
  }
  return { measured: m, reported: JSON.parse(m.stdout) as unknown };
}

/** init, full backup, incremental backup, restore and verification with blockvault. */
export async function benchBlockvault(ctx: ToolContext): Promise<ToolResult> {
  const { images, log } = ctx;
  const vault = join(ctx.runDir, "vault");
  const restored = join(ctx.runDir, "restored.img");
  await mkdir(ctx.runDir, { recursive: true });
  const pkg = JSON.parse(await readFile(join(ctx.repoRoot, "package.json"), "utf8")) as { version: string };

  await cli(ctx, vault, ["init", "--name", "bench"]);

  await beforeStep(images.pristine, ctx.runDir, images.sizeBytes);
  const full = await step("blockvault", "full backup", images.sizeBytes, log, () =>
    cli(ctx, vault, ["backup", images.pristine, "--disk", DISK]),
  );
  const storeBytesAfterFull = await apparentSize(vault);

  await beforeStep(images.mutated, ctx.runDir, images.sizeBytes);
  const incremental = await step("blockvault", "incremental", images.sizeBytes, log, () =>
    cli(ctx, vault, ["backup", images.mutated, "--disk", DISK]),
  );
  const storeBytesAfterIncremental = await apparentSize(vault);
  const pointId = (incremental.reported as BackupReport).recoveryPointId;

  await beforeStep(vault, ctx.runDir, images.sizeBytes);
  const restore = await step("blockvault", "restore", images.sizeBytes, log, () =>
    cli(ctx, vault, ["restore", pointId, "--to", restored]),
  );
  const restoredSha256 = await sha256File(restored);
  // The restored image is as big as the disk; only its hash is worth keeping.
  await rm(restored, { force: true });
  const qcow2Full = ctx.qcow2Image ? await qcow2Backup(ctx, ctx.qcow2Image) : undefined;

  return {
    tool: "blockvault",
    version: pkg.version,
    full,
    incremental,
    restore,
    ...(qcow2Full ? { qcow2Full } : {}),
    storeBytesAfterFull,
    storeBytesAfterIncremental,
    restoreIdentical: restoredSha256 === images.mutatedSha256,
    restoredSha256,
  };
}

/** A full backup of the disk as a qcow2 image, into a vault of its own (so it is full, not incremental). */
async function qcow2Backup(ctx: ToolContext, image: string) {
  const vault = join(ctx.runDir, "vault-qcow2");
  await cli(ctx, vault, ["init", "--name", "bench-qcow2"]);
  await beforeStep(image, ctx.runDir, ctx.images.sizeBytes);
  const backup = await step("blockvault", "full backup (qcow2 source)", ctx.images.sizeBytes, ctx.log, () =>
    cli(ctx, vault, ["backup", image, "--disk", DISK]),
  );
  await rm(vault, { recursive: true, force: true });
  return backup;
}
