import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY = 24 * 60 * 60 * 1000;
let root: string;
let vault: Vault;
let now: number;
let imagePath: string;

/** Daily at 01:00 UTC, keep dailies 7 days, 2 days in the snapshot tier. */
const dailyPolicy = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 7 } },
  snapshotRetentionDays: 2,
};

beforeEach(async () => {
  root = await tempDir("rules");
  now = Date.parse("2026-03-01T00:30:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "rules", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(1, 50_000));
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("policies", () => {
  it("are validated (the error names the field), created once, updated by version, never renamed", async () => {
    await expect(vault.createPolicy({ ...dailyPolicy, snapshotRetentionDays: 0 })).rejects.toThrow(
      /snapshotRetentionDays/,
    );
    await expect(vault.createPolicy({ ...dailyPolicy, timeZone: "Mars/Olympus" })).rejects.toThrow(
      ValidationError,
    );
    const created = await vault.createPolicy(dailyPolicy);
    expect(created).toMatchObject({ name: "daily", version: 1 });
    await expect(vault.createPolicy(dailyPolicy)).rejects.toThrow(AlreadyExistsError);
    const updated = await vault.updatePolicy("daily", { ...dailyPolicy, snapshotRetentionDays: 5 });
    expect(updated.version).toBe(2);
    expect((await vault.getPolicy("daily")).definition.snapshotRetentionDays).toBe(5);
    await expect(vault.updatePolicy("daily", { ...dailyPolicy, name: "other" })).rejects.toThrow(
      /cannot be renamed/,
    );
    await expect(vault.getPolicy("missing")).rejects.toThrow(NotFoundError);
    expect((await vault.listPolicies()).map((p) => p.name)).toEqual(["daily"]);
  });
});

describe("run-due", () => {
  async function protect(): Promise<void> {
    await vault.createPolicy(dailyPolicy);
    const source = await openFileSource(imagePath);
    try {
      await expect(vault.protect(source, "web", "nope")).rejects.toThrow(/policy "nope" does not exist/);
      await vault.protect(source, "web", "daily");
    } finally {
      await source.close();
    }
  }
  const due = () => vault.runDue((path) => openFileSource(path));

  it("backs up once per slot, however often it runs, and catches up only the latest missed slot", async () => {
    await protect();
    expect((await due()).backups).toEqual([]); // 00:30: the 01:00 slot is not due yet
    now = Date.parse("2026-03-01T01:05:00Z");
    const first = await due();
    expect(first.backups).toHaveLength(1);
    expect(first.backups[0]!.result?.parent).toBeNull();
    now += 10 * 60_000;
    expect((await due()).backups[0]!.skipped).toMatch(/already backed up/);
    now = Date.parse("2026-03-05T12:00:00Z"); // three slots missed: one backup, for the latest
    const late = await due();
    expect(late.backups).toHaveLength(1);
    expect(late.backups[0]!.slot).toBe(Date.parse("2026-03-05T01:00:00Z"));
    expect(await vault.listPoints("web")).toHaveLength(2);
  });

  it("applies retention (soft delete), tiers, then purges after the soft-delete period", async () => {
    await protect();
    const start = Date.parse("2026-03-01T01:05:00Z");
    for (let day = 0; day < 12; day++) {
      now = start + day * DAY;
      await due();
    }
    const points = await vault.listPoints("web");
    const available = points.filter((p) => p.state === "available");
    const deleted = points.filter((p) => p.state === "soft-deleted");
    expect(available).toHaveLength(7); // the last 7 days
    expect(deleted).toHaveLength(5);
    expect(available.filter((p) => p.tier === "snapshot").length).toBeLessThanOrEqual(3);
    expect(available.some((p) => p.tier === "vault")).toBe(true);
    // Soft-deleted points stay restorable until the 14-day period ends, then are purged.
    const oldest = deleted.at(-1)!;
    expect((await restoreBytes(vault, oldest.id, root)).length).toBe(50_000);
    now = (oldest.deleteAfter ?? 0) + 1;
    const report = await due();
    expect(report.purged).toContain(oldest.id);
    await expect(restoreBytes(vault, oldest.id, root)).rejects.toThrow(/purged/);
  });

  it("records a failed job when the protected image has gone, and goes on", async () => {
    await protect();
    await removeDir(imagePath);
    now = Date.parse("2026-03-01T01:05:00Z");
    const report = await due();
    expect(report.backups[0]!.error).toMatch(/not found/);
    const [job] = await vault.listJobs({ status: "failed" });
    expect(job).toMatchObject({
      type: "backup",
      disk: "web",
      detail: expect.objectContaining({ slot: report.backups[0]!.slot }),
    });
  });
});

describe("soft delete", () => {
  it("keeps a deleted point restorable and undeletable until its period ends", async () => {
    const { recoveryPointId: id } = await backupFile(vault, imagePath, "d");
    const deleted = await vault.deletePoint(id);
    expect(deleted.state).toBe("soft-deleted");
    expect(deleted.deleteAfter).toBe(now + 14 * DAY);
    await expect(vault.deletePoint(id)).rejects.toThrow(ConflictError);
    expect((await restoreBytes(vault, id, root)).length).toBe(50_000);
    expect((await vault.undeletePoint(id)).state).toBe("available");
    await expect(vault.undeletePoint(id)).rejects.toThrow(ConflictError);
    await vault.deletePoint(id);
    now += 15 * DAY;
    await expect(vault.undeletePoint(id)).rejects.toThrow(/period has ended/);
  });

  it("a deleted latest point is no parent: the next backup diffs against the one before", async () => {
    const first = await backupFile(vault, imagePath, "d");
    await writeFile(imagePath, seededBytes(2, 50_000));
    const second = await backupFile(vault, imagePath, "d");
    await vault.deletePoint(second.recoveryPointId);
    const third = await backupFile(vault, imagePath, "d");
    expect(third.parent).toBe(first.recoveryPointId);
  });

  it("with soft delete disabled, purges at once", async () => {
    const { recoveryPointId: id } = await backupFile(vault, imagePath, "d");
    const settings = await vault.ctx.deps.catalog.getSettings(vault.id);
    await vault.ctx.deps.catalog.putSettings(
      { ...settings, softDeleteEnabled: false, version: settings.version + 1 },
      settings.version,
    );
    expect((await vault.deletePoint(id)).state).toBe("purged");
    await expect(restoreBytes(vault, id, root)).rejects.toThrow(/purged/);
  });
});
