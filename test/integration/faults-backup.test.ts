import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupScenario } from "../helpers/backup-faults.ts";
import { cleanRun, FAULTS, faultBudget, faultEveryCall } from "../helpers/fault-matrix.ts";
import type { PortCall } from "../helpers/fault-plan.ts";
import { FAULT_BLOCK, FaultVault } from "../helpers/fault-vault.ts";
import { seededBytes, seededText } from "../helpers/image-bytes.ts";

// One worker per pool: every run and every check starts pools, and startup dominates here.
process.env.BLOCKVAULT_WORKERS = "1";

/** About 1.2 MB, two segments: random, zero, text and repeated runs. */
function firstImage(): Buffer {
  const img = Buffer.concat([
    seededBytes(1, 300_000),
    Buffer.alloc(300_000),
    seededText(2, 400_000),
    seededBytes(3, 200_003),
  ]);
  img.copy(img, 40 * FAULT_BLOCK, 2 * FAULT_BLOCK, 5 * FAULT_BLOCK);
  return img;
}

/** The incremental's changes: new data, data turned to zeros, zeros turned to data. */
function secondImage(v1: Buffer): Buffer {
  const img = Buffer.from(v1);
  seededBytes(10, 9000).copy(img, 5000);
  img.fill(0, 150 * FAULT_BLOCK, 152 * FAULT_BLOCK);
  seededBytes(11, 3 * FAULT_BLOCK).copy(img, 80 * FAULT_BLOCK);
  seededBytes(12, 2 * FAULT_BLOCK).copy(img, 270 * FAULT_BLOCK);
  return img;
}

/** Calls faulted per fault kind (a seeded sample beyond it; see `faultBudget`). */
const BUDGET = 8;

let fv: FaultVault;
let v2Path: string;
let v2: Buffer;
let freshPath: string;
let fresh: Buffer;

beforeAll(async () => {
  fv = await FaultVault.create("faults-backup");
  const v1 = firstImage();
  await fv.backup("vm", v1);
  v2 = secondImage(v1);
  v2Path = await fv.image(v2);
  fresh = Buffer.concat([seededText(20, 500_000), seededBytes(21, 300_000)]);
  freshPath = await fv.image(fresh);
  await fv.seal();
});

afterAll(async () => {
  await fv?.remove();
});

const cases = [
  { name: "an incremental backup", disk: "vm", image: () => v2Path, bytes: () => v2 },
  { name: "a full backup", disk: "new-disk", image: () => freshPath, bytes: () => fresh },
];

for (const c of cases) {
  describe(`a fault at any port call of ${c.name}`, () => {
    let clean: PortCall[];
    beforeAll(async () => {
      clean = await cleanRun(backupScenario(fv, c.disk, c.image(), c.bytes()), c.name);
    });

    it("the clean run calls every port the operation uses", () => {
      const ports = new Set(clean.map((call) => call.port));
      expect([...ports].sort()).toEqual(["catalog", "keys", "references", "source", "store"]);
      console.log(c.name, clean.length, "calls", clean.filter((x) => x.write).length, "writes");
    });

    for (const fault of FAULTS) {
      it(`a ${fault.kind} fault ${fault.mode} each call leaves the vault consistent`, async () => {
        const runs = await faultEveryCall(
          backupScenario(fv, c.disk, c.image(), c.bytes()),
          clean,
          fault,
          c.name,
          {
            budget: faultBudget(BUDGET),
            seed: 1,
          },
        );
        expect(runs).toBeGreaterThan(0);
      }, 300_000);
    }
  });
}
