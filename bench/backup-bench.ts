import { mkdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openFileSource } from "../lib/adapters/local/sources/file-source.ts";
import { benchBlockvault } from "./blockvault-steps.ts";
import { prepareImages } from "./images.ts";
import { medianOf } from "./median.ts";
import { type BenchOptions, parseOptions, USAGE } from "./options.ts";
import { run, usesGnuTime } from "./proc.ts";
import { qcow2Copy } from "./qcow2-image.ts";
import { sizeTable, targetTable, timingTable } from "./report.ts";
import { benchRestic, hasRestic } from "./restic-steps.ts";
import { checkTargets } from "./targets.ts";
import type { ToolResult } from "./types.ts";

/**
 * `npm run bench`: blockvault against restic on the same synthetic disk image — full backup,
 * incremental after 1 % of the pages changed, restore — printing time, throughput, peak RSS and
 * store sizes against the project's targets. It measures and reports; it asserts nothing.
 */

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => console.log(line);

async function bench(opts: BenchOptions): Promise<void> {
  const startedAt = new Date().toISOString();
  const imageDir = join(opts.workDir, "images");
  const runDir = join(opts.workDir, "run");
  await mkdir(imageDir, { recursive: true });
  // Stores from an earlier run would turn the "full" backup into an incremental: start clean.
  await rm(runDir, { recursive: true, force: true });

  const images = await prepareImages(opts, imageDir, repoRoot, log);
  if (images.fallbackReason) log(`Note: ${images.fallbackReason}, so images come from lib/sample-image.ts.`);
  const qcow2 = opts.tools === "restic" ? undefined : await qcow2Copy(images.pristine, imageDir);
  const notes = [
    images.fallbackReason
      ? `Images made with lib/sample-image.ts (${images.fallbackReason}): same layout as make-image.py, different bytes.`
      : "Images made with ../shared/bench/make-image.py.",
    `Images ${images.reused ? "reused from an earlier run" : "generated now"}: ${images.pristine} (+ mutated copy).`,
    "Warm cache: each step's input is read once before it is timed (caches are not dropped); as much memory as the image is written and freed (first use of memory the VM left idle cost up to 7x the system time); dirty pages are synced first.",
    `Peak RSS: ${(await usesGnuTime()) ? "GNU time %M (kernel maxrss of the process)" : "polled /proc VmHWM every 20 ms (may miss the last moments)"}.`,
    "Times are wall time around the subprocess, including process startup.",
    ...((await usesGnuTime())
      ? [
          "CPU: user + system seconds of the process (GNU time %U + %S); wall time over CPU time shows how well a tool spreads its work over the cores.",
        ]
      : ["CPU: not measured (GNU time is not installed)."]),
    await allocationNote(images.pristine),
    qcow2 && "path" in qcow2
      ? "qcow2 source: the pristine image converted by qemu-img (compat=1.1, 64 KiB clusters), backed up in full into a vault of its own; blockvault reads it through its L1/L2 tables on the main thread and skips its unallocated clusters (the raw image's backup reads in the worker threads)."
      : `qcow2 source: not measured (${qcow2?.reason ?? "restic only"}).`,
    "The machine may be shared with other work: numbers are noisy, compare within one run.",
  ];

  let restic = opts.tools !== "blockvault";
  if (restic && !(await hasRestic())) {
    restic = false;
    notes.push("restic is not on PATH: its column is skipped.");
  }
  log(
    `Image ${images.sizeBytes / 1024 / 1024} MiB, ${images.changedPages} pages of 4 KiB changed by the mutation.`,
  );

  // Rounds alternate the tools, so a noisy neighbour on a shared machine hits both alike.
  const bvRuns: ToolResult[] = [];
  const rsRuns: ToolResult[] = [];
  for (let round = 1; round <= opts.runs; round++) {
    const dir = join(runDir, `round-${round}`);
    if (opts.tools !== "restic") {
      log(`blockvault (round ${round} of ${opts.runs}):`);
      const qcow2Image = qcow2 && "path" in qcow2 ? { qcow2Image: qcow2.path } : {};
      bvRuns.push(
        await benchBlockvault({ repoRoot, runDir: join(dir, "blockvault"), images, ...qcow2Image, log }),
      );
    }
    if (restic) {
      log(`restic (round ${round} of ${opts.runs}):`);
      rsRuns.push(await benchRestic({ repoRoot, runDir: join(dir, "restic"), images, log }));
    }
    await rm(dir, { recursive: true, force: true });
  }
  const bv = medianOf(bvRuns);
  const rs = medianOf(rsRuns);
  if (opts.runs > 1)
    notes.push(`Each time is the median of ${opts.runs} rounds; peak RSS is the highest seen.`);
  if (rs) {
    notes.push(
      `${rs.version}; --no-cache, default compression (auto), incremental backed up under the same path.`,
    );
  }
  for (const t of [bv, rs]) {
    if (t && !t.restoreIdentical) notes.push(`WARNING: ${t.tool}'s restore differs from the mutated image!`);
  }

  const targets = checkTargets(images, bv, rs);
  log("");
  log(timingTable(images, bv, rs));
  log("");
  log(sizeTable(images, bv, rs));
  log("");
  log(targetTable(targets));
  log("");
  for (const n of notes) log(`* ${n}`);

  const results = {
    startedAt,
    commit: (await run("git", ["describe", "--always", "--dirty"], { cwd: repoRoot }).catch(() => "")).trim(),
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      node: process.version,
    },
    options: opts,
    images,
    blockvault: bv ?? null,
    restic: rs ?? null,
    targets,
    notes,
  };
  const resultsFile = join(opts.workDir, "results.json");
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`* Results written to ${resultsFile}`);
}

/** Says whether blockvault's backups can skip the image's unallocated extents (restic reads all). */
async function allocationNote(image: string): Promise<string> {
  const source = await openFileSource(image);
  try {
    const ranges = await source.allocatedRanges?.();
    if (!ranges)
      return "No extent map of the image (filefrag or a mapped filesystem missing): blockvault reads every byte, as restic does.";
    const allocated = ranges.reduce((n, r) => n + r.length, 0);
    const pct = ((100 * allocated) / source.size).toFixed(0);
    return `blockvault reads only the image's allocated extents (${pct} % of it, from the filesystem's extent map) and records the rest as holes; restic reads every byte.`;
  } finally {
    await source.close();
  }
}

let opts: BenchOptions | undefined;
try {
  opts = parseOptions(process.argv.slice(2), repoRoot);
  if (!opts) console.log(USAGE);
} catch (err) {
  console.error(`bench: ${(err as Error).message} (try --help)`);
  process.exitCode = 2;
}
if (opts) {
  try {
    await bench(opts);
  } catch (err) {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
}
