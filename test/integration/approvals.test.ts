import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import {
  AccessDeniedError,
  ApprovalRequiredError,
  ConflictError,
  ValidationError,
} from "../../lib/errors.ts";
import { Role } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const HOUR = 60 * 60 * 1000;
let root: string;
let owner: Vault;
let now: number;
let alice: Vault;
let sam: Vault;
let carl: Vault;

const policy = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 30 } },
  snapshotRetentionDays: 2,
};

/** The request id an operation that needs approval reports. */
async function requestOf(attempt: Promise<unknown>): Promise<string> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalRequiredError);
  return (err as ApprovalRequiredError).requestId;
}

beforeEach(async () => {
  root = await tempDir("mua");
  now = Date.parse("2026-04-01T12:00:00Z");
  owner = await initLocalVault(
    join(root, "vault"),
    { name: "mua", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  alice = owner.as({ name: "alice", roles: [Role.SecurityAdmin] });
  sam = owner.as({ name: "sam", roles: [Role.SecurityAdmin] });
  carl = owner.as({ name: "carl", roles: [Role.Contributor] });
  await writeFile(join(root, "disk.img"), seededBytes(9, 20_000));
  await owner.createPolicy(policy);
  const source = await openFileSource(join(root, "disk.img"));
  await owner.protect(source, "web", "daily").finally(() => source.close());
});

afterEach(async () => {
  await owner.close();
  await removeDir(root);
});

describe("multi-user authorization", () => {
  it("an early delete waits for another security admin's approval, and the approval is used once", async () => {
    const { recoveryPointId: id } = await backupFile(owner, join(root, "disk.img"), "web");
    const request = await requestOf(carl.deletePoint(id));
    expect((await owner.getPoint(id)).state).toBe("available");
    await expect(carl.deletePoint(id, { approvalId: request })).rejects.toThrow(/is pending, not approved/);
    await expect(carl.approve(request)).rejects.toThrow(AccessDeniedError);
    expect(await alice.approve(request)).toMatchObject({ state: "approved", approver: "alice" });
    await expect(alice.approve(request)).rejects.toThrow(/already approved/);
    expect((await carl.deletePoint(id, { approvalId: request })).state).toBe("soft-deleted");
    await owner.undeletePoint(id);
    await expect(carl.deletePoint(id, { approvalId: request })).rejects.toThrow(/is used, not approved/);
    // The single-user owner has nobody to ask.
    expect((await owner.deletePoint(id)).state).toBe("soft-deleted");
  });

  it("the requester can never approve their own request", async () => {
    const request = await requestOf(alice.setSoftDelete({ enabled: false }));
    await expect(alice.approve(request)).rejects.toThrow(/cannot approve it/);
    await sam.approve(request);
    expect((await alice.setSoftDelete({ enabled: false }, { approvalId: request })).softDeleteEnabled).toBe(
      false,
    );
  });

  it("an expired request can be neither approved nor used", async () => {
    const first = await requestOf(alice.setSoftDelete({ enabled: false }));
    now += 25 * HOUR;
    await expect(sam.approve(first)).rejects.toThrow(/has expired/);
    const second = await requestOf(alice.setSoftDelete({ enabled: false }));
    await sam.approve(second);
    now += 25 * HOUR;
    await expect(alice.setSoftDelete({ enabled: false }, { approvalId: second })).rejects.toThrow(
      ConflictError,
    );
    expect((await owner.settings()).softDeleteEnabled).toBe(true);
  });

  it("an approval covers the exact change requested, by the principal who requested it", async () => {
    const shorter = { ...policy, retention: { daily: { days: 10 } } };
    const request = await requestOf(carl.updatePolicy("daily", shorter));
    await alice.approve(request);
    const otherChange = { ...policy, retention: { daily: { days: 7 } } };
    await expect(carl.updatePolicy("daily", otherChange, { approvalId: request })).rejects.toThrow(
      ValidationError,
    );
    const dave = owner.as({ name: "dave", roles: [Role.Contributor] });
    await expect(dave.updatePolicy("daily", shorter, { approvalId: request })).rejects.toThrow(
      /requested by carl/,
    );
    expect((await carl.updatePolicy("daily", shorter, { approvalId: request })).version).toBe(2);
    // Lengthening needs no approval.
    expect((await carl.updatePolicy("daily", policy)).version).toBe(3);
  });

  it("unlocking an enabled lock needs approval; a locked vault cannot be unlocked at all", async () => {
    await alice.setLock("enabled");
    const request = await requestOf(alice.setLock("unlocked"));
    await sam.approve(request);
    expect((await alice.setLock("unlocked", { approvalId: request })).lock).toBe("unlocked");
    await alice.setLock("enabled");
    await alice.setLock("locked");
    await expect(alice.setLock("unlocked")).rejects.toThrow(/cannot be undone/);
    const log = await owner.listAudit({ action: "approval.approve" });
    expect(log.map((e) => [e.principal, e.outcome])).toEqual([["sam", "succeeded"]]);
  });

  it("stopping protection keeps the points; with deletion it needs approval, and a lock forbids it", async () => {
    const { recoveryPointId: id } = await backupFile(owner, join(root, "disk.img"), "web");
    const request = await requestOf(carl.unprotect("web", { deletePoints: true }));
    expect((await owner.getPoint(id)).state).toBe("available");
    await alice.approve(request);
    const record = await carl.unprotect("web", { deletePoints: true }, { approvalId: request });
    expect(record.policy).toBeUndefined();
    expect((await owner.getPoint(id)).state).toBe("soft-deleted");
    await owner.undeletePoint(id);
    const source = await openFileSource(join(root, "disk.img"));
    await owner.protect(source, "web", "daily").finally(() => source.close());
    await alice.setLock("enabled");
    await expect(carl.unprotect("web", { deletePoints: true })).rejects.toThrow(
      /forbids stopping protection/,
    );
    expect((await carl.unprotect("web")).policy).toBeUndefined();
    expect((await owner.getPoint(id)).state).toBe("available");
  });
});
