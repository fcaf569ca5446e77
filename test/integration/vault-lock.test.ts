import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { AccessDeniedError, ConflictError, ValidationError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY = 24 * 60 * 60 * 1000;
let root: string;
let vault: Vault;
let now: number;
let imagePath: string;

const policy = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 10 } },
  snapshotRetentionDays: 2,
};

beforeEach(async () => {
  root = await tempDir("lock");
  now = Date.parse("2026-06-01T12:00:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "lock", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  imagePath = join(root, "disk.img");
  await writeFile(imagePath, seededBytes(3, 30_000));
  await vault.createPolicy(policy);
  const source = await openFileSource(imagePath);
  await vault.protect(source, "web", "daily").finally(() => source.close());
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("vault lock", () => {
  it("previews which points become undeletable and until when", async () => {
    const morning = await backupFile(vault, imagePath, "web"); // not the day's latest: snapshot tier only
    now += 60_000;
    const evening = await backupFile(vault, imagePath, "web");
    const preview = await vault.lockPreview();
    expect(preview.state).toBe("unlocked");
    const byId = new Map(preview.points.map((p) => [p.id, p.until]));
    expect(byId.get(morning.recoveryPointId)).toBe(Date.parse("2026-06-01T12:00:00Z") + 2 * DAY);
    // The day's latest point so far is guaranteed its snapshot tier only: a later backup that day
    // would take its place as the day's latest.
    expect(byId.get(evening.recoveryPointId)).toBe(Date.parse("2026-06-01T12:01:00Z") + 2 * DAY);
    expect(preview.bytesCommitted).toBe(morning.bytesStored + evening.bytesStored);
    // Once the day has closed it is kept by the 10-day rule: released when day 2026-06-01 leaves it.
    now = Date.parse("2026-06-02T00:30:00Z");
    const closed = new Map((await vault.lockPreview()).points.map((p) => [p.id, p.until]));
    expect(closed.get(evening.recoveryPointId)).toBeGreaterThan(Date.parse("2026-06-10T00:00:00Z"));
    expect(closed.get(evening.recoveryPointId)).toBeLessThanOrEqual(Date.parse("2026-06-11T00:01:00Z"));
  });

  it("refuses early deletes and cut retention while enabled; locking is one-way", async () => {
    const point = await backupFile(vault, imagePath, "web");
    await expect(vault.setLock("locked")).rejects.toThrow(/enable the vault lock/);
    expect((await vault.setLock("enabled")).lock).toBe("enabled");
    await expect(vault.setLock("enabled")).rejects.toThrow(ConflictError);
    await expect(vault.deletePoint(point.recoveryPointId)).rejects.toThrow(AccessDeniedError);
    await expect(
      vault.updatePolicy("daily", { ...policy, retention: { daily: { days: 7 } } }),
    ).rejects.toThrow(/forbids shortening retention: retention.daily.days/);
    expect(
      (await vault.updatePolicy("daily", { ...policy, retention: { daily: { days: 30 } } })).version,
    ).toBe(2);
    expect((await vault.setLock("locked")).lock).toBe("locked");
    await expect(vault.setLock("locked")).rejects.toThrow(/already locked/);
    // Once its retention has ended, a point may be deleted even in a locked vault.
    now += 40 * DAY;
    await backupFile(vault, imagePath, "web"); // a newer point, so the old one is no longer the newest
    expect((await vault.deletePoint(point.recoveryPointId)).state).toBe("soft-deleted");
  });
});

describe("soft-delete settings", () => {
  it("takes a period from 14 to 180 days, and always-on is final", async () => {
    await expect(vault.setSoftDelete({ days: 7 })).rejects.toThrow(/from 14 to 180/);
    await expect(vault.setSoftDelete({ days: 181 })).rejects.toThrow(ValidationError);
    expect((await vault.setSoftDelete({ days: 30 })).softDeleteDays).toBe(30);
    const point = await backupFile(vault, imagePath, "web");
    now += 3 * DAY; // past the snapshot tier; not the newest once another point exists
    await backupFile(vault, imagePath, "other");
    expect((await vault.settings()).softDeleteAlwaysOn).toBe(false);
    expect((await vault.setSoftDelete({ alwaysOn: true })).softDeleteAlwaysOn).toBe(true);
    await expect(vault.setSoftDelete({ alwaysOn: false })).rejects.toThrow(/cannot be turned off/);
    const deleted = await vault.deletePoint(point.recoveryPointId);
    expect(deleted.deleteAfter).toBe(now + 30 * DAY);
  });
});
