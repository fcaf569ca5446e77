import { randomUUID } from "node:crypto";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { localFiles } from "../../lib/compose/decorate.ts";
import { initLocalVault, openLocalVault } from "../../lib/compose/local.ts";
import { Vault } from "../../lib/vault.ts";
import { FaultPlan } from "./fault-plan.ts";
import { withFaults } from "./fault-proxy.ts";
import { seededBytes, seededText } from "./image-bytes.ts";
import { openLocalPorts } from "./local-ports.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

export const BLOCK = 4096;
export const DISK = "vm-disk";

/**
 * A vault holding one full backup (`p1`, of `v1`) and an image file now holding `v2`, a changed
 * version of it: the setting in which every fault is injected into the incremental backup.
 */
export interface FaultFixture {
  readonly root: string;
  /** The pristine vault; tests work on copies made by {@link copyVault}. */
  readonly baseVault: string;
  readonly image: string;
  readonly v1: Buffer;
  readonly v2: Buffer;
  readonly p1: string;
}

/** About 1 MB over four 256 KiB segments: random, zero, text and duplicated runs. */
function firstImage(): Buffer {
  const img = Buffer.concat([
    seededBytes(1, 200_000),
    Buffer.alloc(250_000),
    seededText(2, 300_000),
    seededBytes(3, 250_003),
  ]);
  img.copy(img, 40 * BLOCK, 2 * BLOCK, 5 * BLOCK); // a block run repeated: dedup within the image
  return img;
}

/** The changes of the incremental: new data, data turned to zeros, zeros turned to data, a copy. */
function secondImage(v1: Buffer): Buffer {
  const img = Buffer.from(v1);
  seededBytes(10, 9000).copy(img, 5000);
  img.fill(0, 150 * BLOCK, 152 * BLOCK);
  seededBytes(11, 3 * BLOCK).copy(img, 70 * BLOCK);
  img.copy(img, 230 * BLOCK, 3 * BLOCK, 4 * BLOCK);
  return img;
}

/** Builds the fixture in a new temp dir. */
export async function makeFaultFixture(): Promise<FaultFixture> {
  const root = await tempDir("faults");
  const baseVault = join(root, "base");
  const image = join(root, "disk.img");
  const v1 = firstImage();
  const v2 = secondImage(v1);
  await writeFile(image, v1);
  const vault = await initLocalVault(baseVault, { name: "faults", blockSize: BLOCK });
  let p1: string;
  try {
    p1 = (await backupFile(vault, image, DISK)).recoveryPointId;
  } finally {
    await vault.close();
  }
  await writeFile(image, v2);
  return { root, baseVault, image, v1, v2, p1 };
}

/** A fresh copy of the pristine vault. */
export async function copyVault(fx: FaultFixture): Promise<string> {
  const dir = join(fx.root, `work-${randomUUID()}`);
  await cp(fx.baseVault, dir, { recursive: true });
  return dir;
}

/** What one faulty backup run did. */
export interface FaultyRun {
  readonly dir: string;
  readonly plan: FaultPlan;
  readonly error: unknown;
  readonly pointId: string | undefined;
}

/**
 * Copies the vault, opens it through faulty ports, arms the plan (via `arm`) once it is open,
 * and runs the incremental backup of `v2`; the outcome is returned, never thrown.
 */
export async function backupWithFaults(fx: FaultFixture, arm: (plan: FaultPlan) => void): Promise<FaultyRun> {
  const dir = await copyVault(fx);
  const ports = await openLocalPorts(dir);
  const plan = new FaultPlan();
  try {
    const store = withFaults(ports.store, "store", plan, { nested: ["stage"] });
    const vault = await Vault.open({
      ...ports.deps,
      store,
      // Staged puts are store writes: the same faulty store's files.
      localFiles: localFiles(store),
      catalog: withFaults(ports.catalog, "catalog", plan, { exempt: ["references"] }),
    });
    arm(plan);
    try {
      const r = await backupFile(vault, fx.image, DISK);
      return { dir, plan, error: undefined, pointId: r.recoveryPointId };
    } catch (error) {
      return { dir, plan, error, pointId: undefined };
    } finally {
      plan.disarm();
    }
  } finally {
    await ports.catalog.close();
  }
}

/** Opens a vault copy on its plain local adapters, runs `fn`, closes and removes the copy. */
export async function inspectAndDiscard<T>(dir: string, fn: (vault: Vault) => Promise<T>): Promise<T> {
  const vault = await openLocalVault(dir);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
    await removeDir(dir);
  }
}
