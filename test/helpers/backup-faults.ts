import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { localVaultPaths } from "../../lib/compose/local.ts";
import type { BackupResult } from "../../lib/engine/backup/backup.ts";
import type { FaultScenario, Outcome } from "./fault-matrix.ts";
import type { FaultVault } from "./fault-vault.ts";
import { faultySource } from "./faulty-vault.ts";
import {
  expectCleanOutcome,
  expectHealthy,
  expectRestorable,
  inspectVault,
  restoredBytes,
} from "./vault-invariants.ts";
import { backupFile } from "./vault-ops.ts";

/** What the run left in the object store's temporary directory (staged packs, half-written puts). */
async function temporaries(dir: string): Promise<string[]> {
  return readdir(join(localVaultPaths(dir).objects, ".tmp")).catch(() => []);
}

/** Whether the fault let the catalog commit land and lost its answer: the point then exists. */
function commitLanded(o: Outcome<unknown>): boolean {
  return o.hit?.method === "commitRecoveryPoint" && o.fault?.mode === "after";
}

/**
 * A backup of the image at `image` (holding `bytes`) as a new point of `disk`, the source read
 * through the fault plan too. Invariants: a clean outcome; a failed backup committed no point
 * (unless the commit itself landed and lost its answer, when the point is whole); nothing is left
 * staged; `check --read-data` is clean; every earlier point and the new one restore
 * byte-identically; the next clean backup of the same image succeeds and restores to it.
 */
export function backupScenario(
  fv: FaultVault,
  disk: string,
  image: string,
  bytes: Buffer,
): FaultScenario<BackupResult> {
  return {
    clock: fv.clock,
    prepare: () => fv.copy(),
    async run(vault, plan) {
      const source = faultySource(await openFileSource(image), plan);
      try {
        return await vault.backup(source, { disk });
      } finally {
        await source.close().catch(() => {});
      }
    },
    async verify(o) {
      expectCleanOutcome(o);
      const leftovers = await temporaries(o.dir);
      if (o.hit?.method !== "area.close") expect(leftovers, `${o.label}: staged leftovers`).toEqual([]);
      await inspectVault(o.dir, fv.clock, async (vault) => {
        const before = new Set(fv.points.keys());
        const added = (await vault.listPoints()).map((p) => p.id).filter((id) => !before.has(id));
        if (o.error === undefined) expect(added, o.label).toEqual([o.result!.recoveryPointId]);
        else if (!commitLanded(o)) expect(added, `${o.label}: a failed backup committed a point`).toEqual([]);
        else expect(added.length, o.label).toBeLessThanOrEqual(1);
        await expectHealthy(vault, o.label);
        const expected = new Map(fv.points);
        for (const id of added) expected.set(id, bytes);
        await expectRestorable(vault, expected, fv.root, o.label);
        const next = await backupFile(vault, image, disk);
        // After a success the next point is the new one unchanged, whose restore was just checked.
        if (o.error !== undefined) {
          const restored = await restoredBytes(vault, next.recoveryPointId, fv.root);
          expect(restored.equals(bytes), `${o.label}: the next backup restores`).toBe(true);
        }
      });
    },
  };
}
