import { access, constants, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createSampleImage, mutateImage } from "../lib/sample-image.ts";
import { diffImages } from "./fs-stats.ts";
import { canRun, run } from "./proc.ts";
import type { BenchImages } from "./types.ts";

/** Which images to make. */
export interface ImageSpec {
  readonly sizeMiB: number;
  readonly seed: number;
  readonly mutatePercent: number;
  readonly mutateSeed: number;
}

/** What is cached next to a mutated image, so reruns skip the full comparison pass. */
interface ImageMeta {
  readonly changedPages: number;
  readonly mutatedSha256: string;
  /** Size and mtime of both images when measured: a regenerated image invalidates the cache. */
  readonly stamp: string;
}

type Generator = {
  readonly name: BenchImages["generator"];
  readonly tag: string;
  readonly fallbackReason: string | undefined;
  readonly create: (path: string, spec: ImageSpec) => Promise<void>;
  readonly mutate: (path: string, spec: ImageSpec) => Promise<void>;
};

/**
 * The shared generator when this machine has it (dev machines and CI do), so numbers compare
 * across projects; else the in-repo one, which lays images out the same way with other bytes.
 */
async function chooseGenerator(repoRoot: string): Promise<Generator> {
  const script = resolve(repoRoot, "../shared/bench/make-image.py");
  const hasScript = await access(script, constants.R_OK).then(
    () => true,
    () => false,
  );
  const hasPython = hasScript && (await canRun("python3", ["--version"]));
  if (hasScript && hasPython) {
    return {
      name: "make-image.py",
      tag: "py",
      fallbackReason: undefined,
      create: (path, s) => run("python3", [script, "create", path, String(s.sizeMiB), String(s.seed)]).then(),
      mutate: (path, s) =>
        run("python3", [script, "mutate", path, String(s.mutatePercent), String(s.mutateSeed)]).then(),
    };
  }
  return {
    name: "lib/sample-image.ts",
    tag: "ts",
    fallbackReason: hasScript ? "python3 is not available" : `${script} not found`,
    create: (path, s) => createSampleImage(path, s.sizeMiB * 1024 * 1024, s.seed),
    mutate: (path, s) => mutateImage(path, s.mutatePercent, s.mutateSeed).then(),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Builds `path` through a temporary name, so an interrupted run never leaves a half image to reuse. */
async function buildAtomically(path: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.partial`;
  await rm(tmp, { force: true });
  try {
    await build(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function stampOf(...paths: string[]): Promise<string> {
  const stats = await Promise.all(paths.map((p) => stat(p)));
  return stats.map((s) => `${s.size}@${s.mtimeMs}`).join(",");
}

/**
 * Makes (or reuses, keyed by generator, size and seeds) the pristine image and its mutated copy
 * in `imageDir`. The mutated image is a sparse copy of the pristine one with `mutatePercent` % of
 * its pages rewritten; the pristine image is never modified.
 */
export async function prepareImages(
  spec: ImageSpec,
  imageDir: string,
  repoRoot: string,
  log: (line: string) => void,
): Promise<BenchImages> {
  const gen = await chooseGenerator(repoRoot);
  const base = `image-${spec.sizeMiB}MiB-seed${spec.seed}-${gen.tag}`;
  const pristine = join(imageDir, `${base}.img`);
  const mutated = join(imageDir, `${base}-mut${spec.mutatePercent}pct-seed${spec.mutateSeed}.img`);
  const metaFile = `${mutated}.meta.json`;
  let reused = true;
  if (!(await exists(pristine))) {
    reused = false;
    log(`Generating ${spec.sizeMiB} MiB image (seed ${spec.seed}) with ${gen.name}...`);
    await rm(mutated, { force: true });
    await buildAtomically(pristine, (tmp) => gen.create(tmp, spec));
  }
  if (!(await exists(mutated))) {
    reused = false;
    log(`Mutating ${spec.mutatePercent} % of a copy (seed ${spec.mutateSeed})...`);
    await buildAtomically(mutated, async (tmp) => {
      // A sparse copy keeps the holes holes, so the mutated image looks like the same disk later.
      await run("cp", ["--sparse=always", pristine, tmp]);
      await gen.mutate(tmp, spec);
    });
  }
  const stamp = await stampOf(pristine, mutated);
  let meta = await readFile(metaFile, "utf8")
    .then((t) => JSON.parse(t) as ImageMeta)
    .catch(() => undefined);
  if (meta?.stamp !== stamp) {
    log("Counting changed pages and hashing the mutated image...");
    const diff = await diffImages(pristine, mutated);
    meta = { changedPages: diff.changedPages, mutatedSha256: diff.sha256B, stamp };
    await writeFile(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  }
  return {
    pristine,
    mutated,
    sizeBytes: (await stat(pristine)).size,
    generator: gen.name,
    fallbackReason: gen.fallbackReason,
    changedPages: meta.changedPages,
    mutatedSha256: meta.mutatedSha256,
    reused,
  };
}
