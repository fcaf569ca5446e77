import { chmod, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { type CliRun, runCli } from "./cli.ts";
import { seededBytes, seededText } from "./image-bytes.ts";
import { tempDir } from "./temp-dir.ts";
import { newJobs, readVaultState } from "./vault-state.ts";

/** How a refused command must fail. */
export interface Refusal {
  readonly code: number;
  readonly message: RegExp;
  /** Restores record a failed job once they have started; nothing else may change. */
  readonly failedJobAllowed?: boolean;
}

/**
 * Runs a CLI command that must be refused: non-zero exit `code`, a `blockvault:` message on
 * stderr matching `message`, nothing on stdout, and the vault in `vaultDir` exactly as before
 * (objects, keyring and catalog rows; at most one new job, failed, when allowed).
 */
export async function expectRefused(
  vaultDir: string,
  args: readonly string[],
  refusal: Refusal,
): Promise<CliRun> {
  const before = await readVaultState(vaultDir);
  const run = await runCli(args);
  const label = `blockvault ${args.join(" ")}`;
  expect(run.code, `${label}\n${run.stderr}`).toBe(refusal.code);
  expect(run.stderr, label).toMatch(/^blockvault: /);
  expect(run.stderr, label).toMatch(refusal.message);
  expect(run.stdout, label).toBe("");
  const after = await readVaultState(vaultDir);
  expect({ ...after, jobs: [] }, label).toEqual({ ...before, jobs: [] });
  const added = newJobs(before, after);
  if (refusal.failedJobAllowed)
    expect(
      added.every((j) => j.status === "failed"),
      label,
    ).toBe(true);
  else expect(added, label).toEqual([]);
  expect(before.jobs, label).toEqual(after.jobs.slice(0, before.jobs.length));
  return run;
}

/** A vault made through the CLI, holding one backup of a small image. */
export interface CliVault {
  readonly root: string;
  readonly vault: string;
  readonly image: string;
  readonly imageBytes: Buffer;
  readonly disk: string;
  readonly pointId: string;
  /** Path of the vault's only pack file. */
  readonly packFile: string;
}

/** Runs a command that must succeed and returns its parsed `--json` output. */
export async function cliJson(args: readonly string[]): Promise<unknown> {
  const run = await runCli([...args, "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** `init` then `backup` through the CLI, in a new temp dir (the caller removes `root`). */
export async function makeCliVault(): Promise<CliVault> {
  const root = await tempDir("cli");
  const vault = join(root, "vault");
  const image = join(root, "disk.img");
  const imageBytes = Buffer.concat([seededBytes(1, 100_000), Buffer.alloc(50_000), seededText(2, 60_001)]);
  await writeFile(image, imageBytes);
  const disk = "vm1";
  await cliJson(["init", "--vault", vault, "--name", "cli", "--block-size", "4096"]);
  const backup = (await cliJson(["backup", image, "--disk", disk, "--vault", vault])) as {
    recoveryPointId: string;
  };
  const packs = join(vault, "objects", "packs");
  const shard = (await readdir(packs))[0]!;
  const packFile = join(packs, shard, (await readdir(join(packs, shard)))[0]!);
  // Tests corrupt it in place, as someone with write access to the store could; stored objects
  // are read-only (0400), which binds a process not running as root.
  await chmod(packFile, 0o600);
  return { root, vault, image, imageBytes, disk, pointId: backup.recoveryPointId, packFile };
}
