import { writeFile } from "node:fs/promises";
import { expect } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { PointState } from "../../lib/model.ts";
import type { DueReport } from "../../lib/rules/run-due.ts";
import type { Vault } from "../../lib/vault.ts";
import type { FaultScenario } from "./fault-matrix.ts";
import type { FaultVault } from "./fault-vault.ts";
import { faultySource } from "./faulty-vault.ts";
import { expectCleanOutcome, expectHealthy, expectRestorable, inspectVault } from "./vault-invariants.ts";

/** Every point's state, by id. */
async function states(vault: Vault): Promise<Map<string, string>> {
  return new Map((await vault.listPoints()).map((p) => [p.id, p.state]));
}

/** The errors a run-due report records for its backups. */
function backupErrors(report: DueReport): string[] {
  return report.backups.flatMap((b) => (b.error ? [b.error] : []));
}

/** What the clean run did, for the faulted runs to be held to. */
interface CleanDue {
  purged: Set<string>;
  /** States after the clean run of the points that existed before it. */
  states: Map<string, string>;
}

/**
 * One evaluation of the schedule with a backup due, points to expire and soft-deleted points to
 * purge (then garbage collection), the disk's image (holding `today`) read through the plan.
 * Invariants: a clean outcome; `check --read-data` clean; every point that existed before and
 * the clean run does not purge restores byte-identically, and so does any new point; at most one
 * new point; the next clean run records no error, leaves exactly one point for today's slot and
 * every older point in the state the clean run leaves it in.
 */
export function runDueScenario(fv: FaultVault, image: string, today: Buffer): FaultScenario<DueReport> {
  let clean: CleanDue | undefined;
  const due = (vault: Vault) => vault.runDue((path) => openFileSource(path));
  return {
    clock: fv.clock,
    async prepare() {
      await writeFile(image, today);
      return fv.copy();
    },
    run: (vault, plan) => vault.runDue(async (path) => faultySource(await openFileSource(path), plan)),
    async verify(o) {
      expectCleanOutcome(o);
      if (!o.hit) expect(backupErrors(o.result!), o.label).toEqual([]);
      await inspectVault(o.dir, fv.clock, async (vault) => {
        await expectHealthy(vault, o.label);
        const added = [...(await states(vault)).keys()].filter((id) => !fv.points.has(id));
        expect(added.length, `${o.label}: new points`).toBeLessThanOrEqual(1);
        const expected = new Map(
          [...fv.points].filter(([id]) => !clean?.purged.has(id) && !o.result?.purged.includes(id)),
        );
        for (const id of added) expected.set(id, today);
        await expectRestorable(vault, expected, fv.root, o.label);
        if (!o.hit) {
          const after = await states(vault);
          clean = {
            purged: new Set(o.result!.purged),
            states: new Map([...after].filter(([id]) => fv.points.has(id))),
          };
          expect(clean.purged.size, "the clean run purges").toBeGreaterThan(0);
          expect(added, "the clean run backs up").toHaveLength(1);
          return;
        }
        const next = await due(vault);
        expect(backupErrors(next), `${o.label}: the next run`).toEqual([]);
        const after = await states(vault);
        const newer = [...after.keys()].filter((id) => !fv.points.has(id));
        expect(newer, `${o.label}: one point for today's slot after the next run`).toHaveLength(1);
        const older = new Map([...after].filter(([id]) => fv.points.has(id)));
        expect(older, `${o.label}: states after the next run`).toEqual(clean!.states);
        expect(after.get(newer[0]!)).toBe(PointState.Available);
      });
    },
  };
}
