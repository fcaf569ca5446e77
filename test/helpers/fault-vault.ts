import { randomUUID } from "node:crypto";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Clock } from "../../lib/ports/clock.ts";
import type { Vault } from "../../lib/vault.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

/** The block size of every fault-injection vault: small images still span several segments. */
export const FAULT_BLOCK = 4096;

/**
 * A pristine embedded vault that fault-injection runs copy, with a settable clock and the bytes
 * of every point it holds. Build it with {@link FaultVault.create}, then fix `now` for the runs.
 */
export class FaultVault {
  now = Date.now();
  readonly clock: Clock = { now: () => this.now };
  /** The bytes each point restores to. */
  readonly points = new Map<string, Buffer>();
  private images = 0;

  readonly root: string;
  readonly base: string;
  readonly vault: Vault;

  private constructor(root: string, base: string, vault: Vault) {
    this.root = root;
    this.base = base;
    this.vault = vault;
  }

  static async create(name: string): Promise<FaultVault> {
    const root = await tempDir(name);
    const base = join(root, "base");
    let fv: FaultVault | undefined;
    const clock: Clock = { now: () => fv?.now ?? Date.now() };
    const vault = await initLocalVault(base, { name, blockSize: FAULT_BLOCK }, { clock });
    fv = new FaultVault(root, base, vault);
    return fv;
  }

  /** Writes `bytes` to a new image file and returns its path. */
  async image(bytes: Buffer): Promise<string> {
    const path = join(this.root, `image-${this.images++}.img`);
    await writeFile(path, bytes);
    return path;
  }

  /** Backs up `bytes` as a new point of `disk` a minute later; returns the point id. */
  async backup(disk: string, bytes: Buffer): Promise<string> {
    const path = await this.image(bytes);
    this.now += 60_000;
    const id = (await backupFile(this.vault, path, disk)).recoveryPointId;
    this.points.set(id, bytes);
    return id;
  }

  /** Closes the pristine vault: from here on it is only copied. */
  async seal(): Promise<void> {
    await this.vault.close();
  }

  /** A fresh copy of the pristine vault. */
  async copy(): Promise<string> {
    const dir = join(this.root, `run-${randomUUID()}`);
    // Modification times kept: reclaim's grace period compares them with the vault's clock.
    await cp(this.base, dir, { recursive: true, preserveTimestamps: true });
    return dir;
  }

  async remove(): Promise<void> {
    await removeDir(this.root);
  }
}
