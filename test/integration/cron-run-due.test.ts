import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/adapters/local/local-vault.ts";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY = 24 * 60 * 60 * 1000;
let root: string;
let vault: Vault;
let now: number;
let imagePath: string;

const at = (iso: string) => Date.parse(iso);
const due = () => vault.runDue((path) => openFileSource(path));

beforeEach(async () => {
  root = await tempDir("cron-due");
  now = at("2026-03-26T12:00:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "cron", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(1, 50_000));
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

/** Creates the policy and protects the image as disk "web" under it, at the current clock. */
async function protectWith(schedule: { cron: string }, retention: object, timeZone = "Europe/Berlin") {
  await vault.createPolicy({ name: "cron", schedule, timeZone, retention, snapshotRetentionDays: 1 });
  const source = await openFileSource(imagePath);
  try {
    await vault.protect(source, "web", "cron");
  } finally {
    await source.close();
  }
}

describe("run-due with a cron policy", () => {
  it("backs up once per slot on the expression's days and catches up only the latest missed slot", async () => {
    await protectWith({ cron: "30 2 * * 1-5" }, { daily: { days: 7 } });
    // Thursday's 02:30 CET came before protection began: nothing is due.
    expect((await due()).backups).toEqual([]);
    now = at("2026-03-27T01:29:00Z"); // Friday 02:29 CET
    expect((await due()).backups).toEqual([]);
    now = at("2026-03-27T01:31:00Z");
    const friday = await due();
    expect(friday.backups).toEqual([
      expect.objectContaining({ disk: "web", slot: at("2026-03-27T01:30:00Z") }),
    ]);
    expect(friday.backups[0]!.result).toBeDefined();
    now += 5 * 60_000;
    expect((await due()).backups[0]!.skipped).toMatch(/already backed up/);
    // No weekend slot: on Sunday the latest slot is still Friday's.
    now = at("2026-03-29T12:00:00Z");
    expect((await due()).backups).toEqual([
      expect.objectContaining({ slot: at("2026-03-27T01:30:00Z"), skipped: expect.any(String) }),
    ]);
    // Monday to Thursday missed (now CEST): one backup, for Thursday's 02:30 CEST.
    now = at("2026-04-02T12:00:00Z");
    const late = await due();
    expect(late.backups).toHaveLength(1);
    expect(late.backups[0]).toMatchObject({ slot: at("2026-04-02T00:30:00Z"), result: expect.anything() });
    expect(await vault.listPoints("web")).toHaveLength(2);
  });

  it("runs a 02:30 job at 03:00 CEST when spring skips 02:30, and once through autumn's repeated 02:30", async () => {
    now = at("2026-03-28T12:00:00Z");
    await protectWith({ cron: "30 2 * * *" }, { daily: { days: 7 } });
    now = at("2026-03-29T00:59:59Z"); // 01:59:59 CET, a second before the clocks jump to 03:00
    expect((await due()).backups).toEqual([]);
    now = at("2026-03-29T01:00:00Z");
    expect((await due()).backups).toEqual([
      expect.objectContaining({ slot: at("2026-03-29T01:00:00Z"), result: expect.anything() }),
    ]);

    now = at("2026-10-25T00:31:00Z"); // 02:31 CEST, the first 02:30 of the day
    expect((await due()).backups).toEqual([
      expect.objectContaining({ slot: at("2026-10-25T00:30:00Z"), result: expect.anything() }),
    ]);
    now = at("2026-10-25T01:31:00Z"); // 02:31 CET: the same slot, not a second one
    expect((await due()).backups).toEqual([
      expect.objectContaining({ slot: at("2026-10-25T00:30:00Z"), skipped: expect.any(String) }),
    ]);
    const slots = (await vault.listJobs({ disk: "web" })).map((j) => j.detail?.slot);
    expect(slots).toEqual(expect.arrayContaining([at("2026-03-29T01:00:00Z"), at("2026-10-25T00:30:00Z")]));
    expect(await vault.listPoints("web")).toHaveLength(2);
  });

  it("keeps GFS points by local day: dailies for a week, Sundays for three weeks", async () => {
    now = at("2026-03-01T00:00:00Z"); // a Sunday
    await protectWith({ cron: "0 1 * * *" }, { daily: { days: 7 }, weekly: { weeks: 3, day: "sun" } }, "UTC");
    const start = at("2026-03-01T01:05:00Z");
    for (let day = 0; day < 28; day++) {
      now = start + day * DAY;
      expect((await due()).backups).toEqual([expect.objectContaining({ slot: now - 5 * 60_000 })]);
    }
    // Now Saturday 2026-03-28: the last 7 days (22nd to 28th), and the Sundays 8th and 15th
    // (the 22nd is both); the first Sunday, the 1st, is four Sundays back.
    const kept = (await vault.listPoints("web"))
      .filter((p) => p.state === "available")
      .map((p) => new Date(p.created).toISOString().slice(0, 10))
      .sort();
    expect(kept).toEqual([
      "2026-03-08",
      "2026-03-15",
      "2026-03-22",
      "2026-03-23",
      "2026-03-24",
      "2026-03-25",
      "2026-03-26",
      "2026-03-27",
      "2026-03-28",
    ]);
  });
});

describe("the scheduler's tick with a cron policy", () => {
  it("queues one job per disk and slot, for the slot run-due would take", async () => {
    await protectWith({ cron: "30 2 * * 1-5" }, { daily: { days: 7 } });
    now = at("2026-03-27T01:31:00Z");
    const friday = at("2026-03-27T01:30:00Z");
    expect((await vault.scheduleTick()).requests).toEqual([
      { jobId: `scheduled-web-${friday}`, disk: "web", slot: friday },
    ]);
    now += 5 * 60_000;
    expect((await vault.scheduleTick()).requests).toEqual([]);
    // Monday 01:59 CEST: still Friday's slot (no weekend one); no worker took its job, so it is
    // sent again, under the same id.
    now = at("2026-03-29T23:59:00Z");
    expect((await vault.scheduleTick()).requests).toEqual([
      { jobId: `scheduled-web-${friday}`, disk: "web", slot: friday },
    ]);
    now = at("2026-04-02T12:00:00Z");
    const thursday = at("2026-04-02T00:30:00Z");
    expect((await vault.scheduleTick()).requests).toEqual([
      { jobId: `scheduled-web-${thursday}`, disk: "web", slot: thursday },
    ]);
  });
});
