import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CollectResult } from "../../lib/engine/gc/collect.ts";
import { purgeExpired } from "../../lib/rules/soft-delete.ts";
import { deletingScenario, expectCollected } from "../helpers/deleting-faults.ts";
import { cleanRun, FAULTS, faultBudget, faultEveryCall, runOnce } from "../helpers/fault-matrix.ts";
import type { PortCall } from "../helpers/fault-plan.ts";
import { FaultVault } from "../helpers/fault-vault.ts";
import { DAY } from "../helpers/gc-fixture.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** Calls faulted per fault kind (a seeded sample beyond it; see `faultBudget`). */
const BUDGET = 16;
const SIZE = 600_000;

let fv: FaultVault;
const survivors = new Map<string, Buffer>();

/**
 * Disk x: a (purged: its pack is held by nothing else), b (all blocks new), c (soft-deleted,
 * still restorable); disk y: one point of other data.
 */
beforeAll(async () => {
  fv = await FaultVault.create("faults-gc");
  const a = await fv.backup("x", seededBytes(1, SIZE));
  await fv.backup("x", seededBytes(2, SIZE));
  const cBytes = Buffer.from(seededBytes(2, SIZE));
  seededText(3, 20_000).copy(cBytes, 100_000);
  const c = await fv.backup("x", cBytes);
  await fv.backup("y", seededBytes(4, 300_000));
  await fv.vault.deletePoint(a);
  fv.now += 15 * DAY;
  await purgeExpired(fv.vault.ctx);
  await fv.vault.deletePoint(c);
  for (const [id, bytes] of fv.points) if (id !== a) survivors.set(id, bytes);
  await fv.seal();
});

afterAll(async () => {
  await fv?.remove();
});

describe("a fault at any port call of garbage collection (after a purge, so it has work)", () => {
  const scenario = () => deletingScenario(fv, survivors, (vault) => vault.collectGarbage());
  let s: ReturnType<typeof scenario>;
  let clean: PortCall[];
  beforeAll(async () => {
    s = scenario();
    clean = await cleanRun(s, "gc");
  });

  it("the clean run releases the purged point, deletes its packs and calls the reference store", async () => {
    const outcome = await runOnce(s, (plan) => plan.arm(), "gc");
    await removeDir(outcome.dir);
    expectCollected(outcome.result as CollectResult);
    const ports = new Set(clean.map((c) => c.port));
    expect([...ports].sort()).toEqual(["catalog", "references", "store"]);
    console.log("gc", clean.length, "calls", clean.filter((x) => x.write).length, "writes");
  });

  for (const fault of FAULTS) {
    it(`a ${fault.kind} fault ${fault.mode} each call deletes nothing a live point needs`, async () => {
      const runs = await faultEveryCall(s, clean, fault, "gc", { budget: faultBudget(BUDGET), seed: 2 });
      expect(runs).toBeGreaterThan(0);
    }, 300_000);
  }
});
