import { expect } from "vitest";
import type { CollectResult } from "../../lib/engine/gc/collect.ts";
import { ConflictError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import type { FaultScenario, Outcome } from "./fault-matrix.ts";
import type { FaultVault } from "./fault-vault.ts";
import { listIds } from "./gc-fixture.ts";
import { expectCleanOutcome, expectHealthy, expectRestorable, inspectVault } from "./vault-invariants.ts";

/** Past the collector's lease (one hour). */
const LEASE_EXPIRED_MS = 61 * 60 * 1000;

/** Whether the fault kept a collector's lease from being released. */
function leaseKept(o: Outcome<unknown>): boolean {
  return o.hit?.method === "releaseLease" && o.fault?.mode === "before" && o.fault.kind === "fatal";
}

/** Ids of the packs in the store of the vault copy in `dir`. */
async function packsIn(dir: string, fv: FaultVault): Promise<string[]> {
  return inspectVault(dir, fv.clock, (vault) => listIds(vault.ctx.deps.store, "packs/"));
}

/**
 * Maintenance that deletes (garbage collection, reclaim): `run` is the operation, `survivors`
 * the points that must stay restorable. Invariants: a clean outcome; `check --read-data` clean;
 * every survivor restores byte-identically (so nothing a live point needs was deleted); the next
 * clean run succeeds and leaves exactly the packs the clean run left (the work gets done).
 */
export function deletingScenario<R>(
  fv: FaultVault,
  survivors: ReadonlyMap<string, Buffer>,
  op: (vault: Vault) => Promise<R>,
): FaultScenario<R> & { packsAfterClean?: string[] } {
  const scenario: FaultScenario<R> & { packsAfterClean?: string[] } = {
    clock: fv.clock,
    prepare: () => fv.copy(),
    run: (vault) => op(vault),
    async verify(o) {
      expectCleanOutcome(o);
      await inspectVault(o.dir, fv.clock, async (vault) => {
        await expectHealthy(vault, o.label);
        await expectRestorable(vault, survivors, fv.root, o.label);
        if (!o.hit || leaseKept(o)) return;
        await op(vault).catch((err: unknown) =>
          expect.fail(`${o.label}: the next clean run: ${String(err)}`),
        );
      });
      if (leaseKept(o)) {
        // A lease whose release failed is held until it expires (as after a crash): until then
        // the next collection is refused, and once it has expired the next one does the work.
        await inspectVault(o.dir, fv.clock, async (vault) => {
          await expect(op(vault), `${o.label}: refused while the lease is held`).rejects.toThrow(
            ConflictError,
          );
        });
        await inspectVault(o.dir, { now: () => fv.now + LEASE_EXPIRED_MS }, op);
      }
      const packs = await packsIn(o.dir, fv);
      if (!o.hit) scenario.packsAfterClean = packs;
      else expect(packs, `${o.label}: after the next clean run`).toEqual(scenario.packsAfterClean);
    },
  };
  return scenario;
}

/** The collection's result must show it had work: points released and packs deleted. */
export function expectCollected(result: CollectResult | undefined): void {
  expect(result?.pointsReleased.length).toBeGreaterThan(0);
  expect(result?.packsDeleted.length).toBeGreaterThan(0);
}
