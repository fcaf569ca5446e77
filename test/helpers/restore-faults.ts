import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import type { RestoreResult } from "../../lib/engine/restore/restore.ts";
import type { Vault } from "../../lib/vault.ts";
import type { FaultScenario, Outcome } from "./fault-matrix.ts";
import type { FaultVault } from "./fault-vault.ts";
import { faultyTarget } from "./faulty-vault.ts";
import { type MemoryTarget, memoryTarget } from "./memory-target.ts";
import { expectCleanOutcome, expectRestorable, inspectVault } from "./vault-invariants.ts";

const RESTORED = "restored.img";

/** Whether the fault let the target's commit land and lost its answer. */
function commitLanded(o: Outcome<unknown>): boolean {
  return o.hit?.port === "target" && o.hit.method === "commit" && o.fault?.mode === "after";
}

/**
 * Checks shared by both targets: the vault is untouched and the next clean restore succeeds. A
 * restore writes nothing but its job record, so the structural check stands in for
 * `check --read-data` here (the next restore reads and verifies the point's blocks anyway).
 */
async function expectVaultIntact(fv: FaultVault, o: Outcome<unknown>, again: (v: Vault) => Promise<void>) {
  await inspectVault(o.dir, fv.clock, async (vault) => {
    const report = await vault.check();
    expect(report.ok, `${o.label}: check: ${JSON.stringify(report)}`).toBe(true);
    if (o.hit) await again(vault);
  });
}

/**
 * A restore of `pointId` to a new file through the file target, its writes, commit and abort
 * calls of port `target` (the workers write blocks through its descriptor, which is not a call).
 * Invariants: a clean outcome; after a failure no file at the destination, unless the commit's
 * rename landed, when the file is whole and byte-identical; no partial file left beside it; the
 * vault is untouched (`check`) and the next restore succeeds byte-identically.
 */
export function fileRestoreScenario(fv: FaultVault, pointId: string): FaultScenario<RestoreResult> {
  const expected = fv.points.get(pointId)!;
  return {
    clock: fv.clock,
    prepare: () => fv.copy(),
    async run(vault, plan, dir) {
      // As `restoreToFile` does, with the target's calls counted.
      const point = await vault.getPoint(pointId);
      const target = faultyTarget(await openFileTarget(join(dir, RESTORED), point.logicalSize), plan);
      return vault.restore(pointId, target);
    },
    async verify(o) {
      expectCleanOutcome(o);
      const left = (await readdir(o.dir)).filter((f) => f.startsWith(".restored") || f === RESTORED);
      if (o.error === undefined || commitLanded(o)) {
        expect(left, o.label).toEqual([RESTORED]);
        expect((await readFile(join(o.dir, RESTORED))).equals(expected), `${o.label}: restored bytes`).toBe(
          true,
        );
      } else {
        expect(left, `${o.label}: a failed restore left a target`).toEqual([]);
      }
      await expectVaultIntact(fv, o, async (vault) => {
        await expectRestorable(vault, new Map([[pointId, expected]]), fv.root, `${o.label}: next restore`);
      });
    },
  };
}

/**
 * A restore of a byte range of `pointId` into memory, every write a call of port `target`.
 * Invariants as for a file, by the target's contract: after a failure the target is not
 * complete (never committed, or aborted after the commit); after a success it holds exactly the
 * range's bytes.
 */
export function rangeRestoreScenario(
  fv: FaultVault,
  pointId: string,
  range: { offset: number; length: number },
): FaultScenario<{ result: RestoreResult; target: MemoryTarget }> & { lastTarget?: MemoryTarget } {
  const expected = fv.points.get(pointId)!.subarray(range.offset, range.offset + range.length);
  const scenario: FaultScenario<{ result: RestoreResult; target: MemoryTarget }> & {
    lastTarget?: MemoryTarget;
  } = {
    clock: fv.clock,
    prepare: () => fv.copy(),
    async run(vault, plan) {
      const target = memoryTarget(range.length);
      scenario.lastTarget = target;
      const result = await vault.restore(pointId, faultyTarget(target, plan), { range });
      return { result, target };
    },
    async verify(o) {
      expectCleanOutcome(o);
      const target = scenario.lastTarget!;
      if (o.error === undefined) {
        expect(target.complete, o.label).toBe(true);
        expect(target.bytes.equals(expected), `${o.label}: restored range`).toBe(true);
      } else {
        expect(target.complete, `${o.label}: a failed restore left a complete target`).toBe(false);
      }
      await expectVaultIntact(fv, o, async (vault) => {
        const again = memoryTarget(range.length);
        await vault.restore(pointId, again, { range });
        expect(again.bytes.equals(expected), `${o.label}: next restore`).toBe(true);
      });
    },
  };
  return scenario;
}
