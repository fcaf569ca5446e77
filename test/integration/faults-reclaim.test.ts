import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReclaimResult } from "../../lib/engine/gc/reclaim.ts";
import { manifestKey, packKey } from "../../lib/engine/store/layout.ts";
import { deletingScenario } from "../helpers/deleting-faults.ts";
import { cleanRun, FAULTS, faultBudget, faultEveryCall, runOnce } from "../helpers/fault-matrix.ts";
import type { PortCall } from "../helpers/fault-plan.ts";
import { FaultVault } from "../helpers/fault-vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { removeDir } from "../helpers/temp-dir.ts";
import { inspectVault } from "../helpers/vault-invariants.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** Calls faulted per fault kind (a seeded sample beyond it; see `faultBudget`). */
const BUDGET = 12;
const ORPHAN_PACKS = 3;
const ORPHAN_MANIFESTS = 2;

let fv: FaultVault;

/** Two disks' points, then what interrupted backups leave: packs no index names, manifests no point reaches. */
beforeAll(async () => {
  fv = await FaultVault.create("faults-reclaim");
  await fv.backup("x", seededBytes(1, 400_000));
  await fv.backup("y", seededText(2, 300_000));
  const { store } = fv.vault.ctx.deps;
  for (let i = 0; i < ORPHAN_PACKS; i++)
    await store.put(packKey(randomBytes(32).toString("hex")), randomBytes(5000));
  for (let i = 0; i < ORPHAN_MANIFESTS; i++)
    await store.put(manifestKey(randomBytes(32).toString("hex")), randomBytes(300));
  await fv.seal();
  fv.now = Date.now() + 60_000; // every orphan is past a grace period of zero
});

afterAll(async () => {
  await fv?.remove();
});

describe("a fault at any port call of reclaim (with orphans to delete)", () => {
  const s = () => deletingScenario(fv, fv.points, (vault) => vault.reclaim({ graceMs: 0 }));
  let scenario: ReturnType<typeof s>;
  let clean: PortCall[];
  beforeAll(async () => {
    scenario = s();
    clean = await cleanRun(scenario, "reclaim");
  });

  it("the clean run deletes every orphan and leaves the vault without any", async () => {
    const outcome = await runOnce(scenario, (plan) => plan.arm(), "reclaim");
    try {
      const result = outcome.result as ReclaimResult;
      expect([result.packs.length, result.manifests.length]).toEqual([ORPHAN_PACKS, ORPHAN_MANIFESTS]);
      const report = await inspectVault(outcome.dir, fv.clock, (vault) => vault.check());
      expect([report.orphanPacks, report.orphanManifests]).toEqual([[], []]);
    } finally {
      await removeDir(outcome.dir);
    }
    console.log("reclaim", clean.length, "calls", clean.filter((x) => x.write).length, "writes");
  });

  it("a failed manifest read during the inventory deletes no manifest a point reaches", async () => {
    const reads = clean.filter((c) => c.method === "get" && c.key?.startsWith("manifests/")).length;
    expect(reads).toBeGreaterThanOrEqual(3); // two roots and their segments
    for (let k = 1; k <= reads; k++) {
      let seen = 0;
      const outcome = await runOnce(
        scenario,
        (plan) =>
          plan.arm(
            (c) => c.method === "get" && !!c.key?.startsWith("manifests/") && ++seen === k,
            "before",
            "fatal",
          ),
        `manifest read ${k}`,
        { kind: "fatal", mode: "before" },
      );
      try {
        expect(outcome.error, outcome.label).toBeDefined();
        await scenario.verify(outcome);
      } finally {
        await removeDir(outcome.dir);
      }
    }
  }, 120_000);

  for (const fault of FAULTS) {
    it(`a ${fault.kind} fault ${fault.mode} each call deletes nothing a point needs`, async () => {
      const runs = await faultEveryCall(scenario, clean, fault, "reclaim", {
        budget: faultBudget(BUDGET),
        seed: 3,
      });
      expect(runs).toBeGreaterThan(0);
    }, 300_000);
  }
});
