import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { cleanRun, FAULTS, faultBudget, faultEveryCall, runOnce } from "../helpers/fault-matrix.ts";
import type { PortCall } from "../helpers/fault-plan.ts";
import { FaultVault } from "../helpers/fault-vault.ts";
import { DAY } from "../helpers/gc-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { runDueScenario } from "../helpers/run-due-faults.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** Calls faulted per fault kind (a seeded sample beyond it; see `faultBudget`). */
const BUDGET = 6;

/** Daily at 01:00 UTC, dailies kept 7 days, 2 days in the snapshot tier. */
const dailyPolicy = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 7 } },
  snapshotRetentionDays: 2,
};

/** The disk on day `day`: a shared base and a day's own blocks (stored in that day's pack). */
function imageOfDay(day: number): Buffer {
  return Buffer.concat([seededBytes(1, 120_000), seededBytes(100 + day, 40_000)]);
}

let fv: FaultVault;
let image: string;
let today: Buffer;

/**
 * Runs on days 0-2 and 9-10 leave the last two points available and the first three
 * soft-deleted (on day 9); the faulted run comes when those are past their period, so it purges
 * them (and collects their packs), expires the other two and backs up the day's slot.
 */
beforeAll(async () => {
  fv = await FaultVault.create("faults-run-due");
  const { vault } = fv;
  image = await fv.image(imageOfDay(0));
  await vault.createPolicy(dailyPolicy);
  fv.now = Date.parse("2026-03-01T00:30:00Z");
  const source = await openFileSource(image);
  await vault.protect(source, "web", "daily").finally(() => source.close());
  const start = Date.parse("2026-03-01T01:05:00Z");
  for (const day of [0, 1, 2, 9, 10]) {
    fv.now = start + day * DAY;
    await writeFile(image, imageOfDay(day));
    const report = await vault.runDue((path) => openFileSource(path));
    fv.points.set(report.backups[0]!.result!.recoveryPointId, imageOfDay(day));
  }
  const deleted = (await vault.listPoints()).filter((p) => p.state === "soft-deleted");
  expect(deleted).toHaveLength(3);
  fv.now = Math.max(...deleted.map((p) => p.deleteAfter!)) + 1;
  today = imageOfDay(30);
  await fv.seal();
});

afterAll(async () => {
  await fv?.remove();
});

describe("a fault at any port call of run-due (a backup due, expiries, purges, then gc)", () => {
  let clean: PortCall[];
  let scenario: ReturnType<typeof runDueScenario>;
  beforeAll(async () => {
    scenario = runDueScenario(fv, image, today);
    clean = await cleanRun(scenario, "run-due");
  });

  it("the clean run calls every port run-due uses", () => {
    expect([...new Set(clean.map((c) => c.port))].sort()).toEqual([
      "catalog",
      "keys",
      "references",
      "source",
      "store",
    ]);
    console.log("run-due", clean.length, "calls", clean.filter((x) => x.write).length, "writes");
  });

  it("a job whose creation landed but whose answer was lost does not block the slot's backup", async () => {
    const outcome = await runOnce(
      scenario,
      (plan) => plan.arm((c) => c.method === "createJob", "after", "fatal"),
      "run-due",
      { kind: "fatal", mode: "after" },
    );
    try {
      expect(outcome.hit?.method).toBe("createJob");
      await scenario.verify(outcome);
    } finally {
      await removeDir(outcome.dir);
    }
  });

  for (const fault of FAULTS) {
    it(`a ${fault.kind} fault ${fault.mode} each call leaves the vault consistent`, async () => {
      const runs = await faultEveryCall(scenario, clean, fault, "run-due", {
        budget: faultBudget(BUDGET),
        seed: 5,
      });
      expect(runs).toBeGreaterThan(0);
    }, 300_000);
  }
});
