import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { VaultObjects } from "../../lib/engine/points/point-objects.ts";
import { AccessDeniedError, ApprovalRequiredError, RetainedObjectError } from "../../lib/errors.ts";
import { Role } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { BACKENDS } from "../helpers/two-backends.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY = 24 * 60 * 60 * 1000;
/**
 * Midnight UTC of a day after today, so every retention date the tests reach lies ahead of the
 * real clock too: S3 Object Lock measures retention on it, not on the vault's clock.
 */
const DAY_1 = Math.ceil(Date.now() / DAY) * DAY + DAY;
/** `hours` into day `n` of the test calendar (day 1 is {@link DAY_1}). */
const at = (n: number, hours: number) => DAY_1 + (n - 1) * DAY + hours * 60 * 60 * 1000;

const keep10 = {
  name: "keep10",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 10 } },
  snapshotRetentionDays: 2,
};
const keep7 = { ...keep10, name: "keep7", retention: { daily: { days: 7 } }, snapshotRetentionDays: 1 };

/** The error an attempt ends with (the attempt must fail). */
async function failure(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(
    () => {
      throw new Error("the operation was expected to be refused");
    },
    (err: unknown) => err,
  );
}

// Each test is one move an insider would try to shorten how long a retained recovery point lives,
// on each backend. Every one must end refused (or approved by a second person), audited, and with
// the point still restorable.
describe.each(BACKENDS)("shortening retention, on the %s vault", (_name, create) => {
  let root: string;
  let now: number;
  let vault: Vault;
  let image: string;
  let imageBytes: Buffer;

  const protect = async (v: Vault, policy: string, approvalId?: string) => {
    const source = await openFileSource(image);
    try {
      return await v.protect(source, "web", policy, approvalId ? { approvalId } : undefined);
    } finally {
      await source.close();
    }
  };
  const stateOf = async (id: string) => (await vault.getPoint(id)).state;
  const lockFinal = async () => {
    await vault.setLock("enabled");
    await vault.setLock("locked");
  };

  beforeEach(async () => {
    root = await tempDir("adversary");
    now = at(1, 12);
    vault = await create(root, { now: () => now });
    image = join(root, "disk.img");
    imageBytes = seededBytes(21, 24_000);
    await writeFile(image, imageBytes);
    await vault.createPolicy(keep10);
    await vault.createPolicy(keep7);
    await protect(vault, "keep10");
  });

  afterEach(async () => {
    await vault.close();
    await removeDir(root);
  });

  it("locked: stopping protection keeps the point's end; deleting it and run-due both leave it", async () => {
    const point = await backupFile(vault, image, "web");
    await lockFinal();
    expect((await vault.unprotect("web")).policy).toBeUndefined();
    expect(await failure(vault.deletePoint(point.recoveryPointId))).toBeInstanceOf(AccessDeniedError);
    now += 6 * DAY;
    await vault.runDue(openFileSource);
    expect(await failure(vault.deletePoint(point.recoveryPointId))).toBeInstanceOf(AccessDeniedError);
    expect(await stateOf(point.recoveryPointId)).toBe("available");
    expect(await restoreBytes(vault, point.recoveryPointId, root)).toStrictEqual(imageBytes);
    // What the point needs is held by the store itself, past the catalog's reach.
    const record = await vault.getPoint(point.recoveryPointId);
    const keys = await (await VaultObjects.load(vault.ctx)).of(record);
    const pack = keys.find((k) => k.startsWith("packs/"));
    expect(await failure(vault.ctx.deps.store.delete(pack!))).toBeInstanceOf(RetainedObjectError);
    const refusals = await vault.listAudit({ action: "point.delete" });
    expect(refusals.map((e) => e.outcome)).toStrictEqual(["refused", "refused"]);
    // The 10-day rule's end: the point's day (day 1) leaves it when day 11 begins.
    now = at(11, 0.1);
    expect((await vault.deletePoint(point.recoveryPointId)).state).toBe("soft-deleted");
  });

  it("locked: re-protecting under a short policy keeps the committed end", async () => {
    const point = await backupFile(vault, image, "web");
    await lockFinal();
    await vault.unprotect("web");
    await protect(vault, "keep7");
    now = at(9, 12); // past keep7's end for the point, before keep10's
    const report = await vault.runDue(openFileSource);
    expect(report.backups.map((b) => b.error)).toStrictEqual([undefined]);
    expect(report.expired).not.toContain(point.recoveryPointId);
    expect(await stateOf(point.recoveryPointId)).toBe("available");
    expect(await failure(vault.deletePoint(point.recoveryPointId))).toBeInstanceOf(AccessDeniedError);
  });

  it("locked: moving the disk straight to a shorter policy is refused", async () => {
    const point = await backupFile(vault, image, "web");
    await lockFinal();
    const err = await failure(protect(vault, "keep7"));
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).toMatch(/forbids giving disk "web" policy "keep7"/);
    expect((await vault.listDisks()).find((d) => d.name === "web")?.policy).toBe("keep10");
    expect((await vault.listAudit({ action: "disk.protect" })).at(-1)?.outcome).toBe("refused");
    now = at(9, 12);
    await vault.runDue(openFileSource);
    expect(await stateOf(point.recoveryPointId)).toBe("available");
  });

  it("locked: a policy edit that deletes existing points sooner is refused, whatever field it changes", async () => {
    await backupFile(vault, image, "web");
    await lockFinal();
    for (const edit of [
      { retention: { daily: { days: 8 } } },
      { snapshotRetentionDays: 1 },
      { timeZone: "Pacific/Kiritimati", retention: { daily: { days: 9 } } },
    ]) {
      expect(await failure(vault.updatePolicy("keep10", { ...keep10, ...edit }))).toBeInstanceOf(
        AccessDeniedError,
      );
    }
    expect((await vault.getPolicy("keep10")).version).toBe(1);
  });

  it("locked: soft delete can be neither disabled nor cut, and deleting with unprotect is refused", async () => {
    await backupFile(vault, image, "web");
    await vault.setSoftDelete({ days: 30 });
    await lockFinal();
    expect(await failure(vault.setSoftDelete({ enabled: false }))).toBeInstanceOf(AccessDeniedError);
    expect(await failure(vault.setSoftDelete({ days: 14 }))).toBeInstanceOf(AccessDeniedError);
    expect((await vault.setSoftDelete({ days: 60 })).softDeleteDays).toBe(60);
    expect(await failure(vault.unprotect("web", { deletePoints: true }))).toBeInstanceOf(AccessDeniedError);
    const settings = await vault.settings();
    expect([settings.softDeleteEnabled, settings.softDeleteDays]).toStrictEqual([true, 60]);
    expect((await vault.listDisks()).find((d) => d.name === "web")?.policy).toBe("keep10");
  });

  it("unlocked, with principals: a contributor's move to a shorter policy waits for a security admin", async () => {
    const point = await backupFile(vault, image, "web");
    const carl = vault.as({ name: "carl", roles: [Role.Contributor] });
    const sam = vault.as({ name: "sam", roles: [Role.SecurityAdmin] });
    const err = await failure(protect(carl, "keep7"));
    expect(err).toBeInstanceOf(ApprovalRequiredError);
    const requestId = (err as ApprovalRequiredError).requestId;
    expect((await vault.listDisks()).find((d) => d.name === "web")?.policy).toBe("keep10");
    // The requester cannot approve it; another security admin can, and then the move goes ahead.
    await sam.approve(requestId);
    await protect(carl, "keep7", requestId);
    expect((await vault.listDisks()).find((d) => d.name === "web")?.policy).toBe("keep7");
    now = at(9, 12);
    expect((await vault.runDue(openFileSource)).expired).toContain(point.recoveryPointId);
  });

  it("unlocked, with principals: stop protection then delete is still an early delete", async () => {
    const point = await backupFile(vault, image, "web");
    const carl = vault.as({ name: "carl", roles: [Role.Contributor] });
    await carl.unprotect("web");
    expect(await failure(carl.deletePoint(point.recoveryPointId))).toBeInstanceOf(ApprovalRequiredError);
    expect(await stateOf(point.recoveryPointId)).toBe("available");
  });
});
