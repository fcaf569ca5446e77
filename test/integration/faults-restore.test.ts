import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanRun,
  FAULTS,
  type FaultScenario,
  faultBudget,
  faultEveryCall,
} from "../helpers/fault-matrix.ts";
import type { PortCall } from "../helpers/fault-plan.ts";
import { FAULT_BLOCK, FaultVault } from "../helpers/fault-vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";
import { fileRestoreScenario, rangeRestoreScenario } from "../helpers/restore-faults.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** Calls faulted per fault kind (a seeded sample beyond it; see `faultBudget`). */
const BUDGET = 6;

let fv: FaultVault;
let p2: string;

/** A full point and an incremental on it, so a restore reads packs of both backups. */
beforeAll(async () => {
  fv = await FaultVault.create("faults-restore");
  const v1 = Buffer.concat([seededBytes(1, 500_000), Buffer.alloc(200_000), seededText(2, 500_001)]);
  await fv.backup("vm", v1);
  const v2 = Buffer.from(v1);
  seededBytes(3, 30_000).copy(v2, 100_000);
  seededBytes(4, 5 * FAULT_BLOCK).copy(v2, 600_000);
  p2 = await fv.backup("vm", v2);
  await fv.seal();
});

afterAll(async () => {
  await fv?.remove();
});

const cases: { name: string; ports: string[]; scenario: () => FaultScenario<unknown> }[] = [
  {
    name: "a restore to a file",
    ports: ["catalog", "keys", "references", "store", "target"],
    scenario: () => fileRestoreScenario(fv, p2),
  },
  {
    name: "a ranged restore to memory",
    ports: ["catalog", "keys", "references", "store", "target"],
    scenario: () => rangeRestoreScenario(fv, p2, { offset: 90_001, length: 600_000 }),
  },
];

for (const c of cases) {
  describe(`a fault at any port call of ${c.name}`, () => {
    let clean: PortCall[];
    let scenario: FaultScenario<unknown>;
    beforeAll(async () => {
      scenario = c.scenario();
      clean = await cleanRun(scenario, c.name);
    });

    it("the clean run calls every port a restore uses", () => {
      expect([...new Set(clean.map((call) => call.port))].sort()).toEqual(c.ports);
      console.log(c.name, clean.length, "calls", clean.filter((x) => x.write).length, "writes");
    });

    for (const fault of FAULTS) {
      it(`a ${fault.kind} fault ${fault.mode} each call leaves no complete-looking target`, async () => {
        const runs = await faultEveryCall(scenario, clean, fault, c.name, {
          budget: faultBudget(BUDGET),
          seed: 4,
        });
        expect(runs).toBeGreaterThan(0);
      }, 300_000);
    }
  });
}
