import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppContext } from "../../lib/app/app-context.ts";
import { schedulerTick } from "../../lib/app/scheduler.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { openVmDeps } from "../../lib/compose/vm.ts";
import {
  AccessDeniedError,
  ApprovalRequiredError,
  ConflictError,
  ValidationError,
} from "../../lib/errors.ts";
import type { OWNER } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

/** The rules around VMs and VM points, on an embedded vault with image-file disks (no agent). */

process.env.BLOCKVAULT_WORKERS = "1";
const DAY = 24 * 60 * 60 * 1000;

let root: string;
let vault: Vault;
let now: number;
let disks: string[];

beforeEach(async () => {
  root = await tempDir("vm-rules");
  process.env.BLOCKVAULT_SNAPSHOT_DIR = root;
  now = Date.parse("2026-06-01T12:00:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "vm", blockSize: 4096 },
    { clock: { now: () => (now += 10) } },
  );
  disks = [join(root, "a.img"), join(root, "b.img")];
  await writeFile(disks[0]!, seededBytes(1, 40_000));
  await writeFile(disks[1]!, seededBytes(2, 20_000));
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

const define = (over: Record<string, unknown> = {}) => ({
  name: "web",
  disks: disks.map((source) => ({ source, size: 0 })),
  snapshot: "copy",
  ...over,
});

const backup = () => vault.backupVm("web", (vm) => openVmDeps(vm));

describe("protecting a VM", () => {
  it("names its disks <vm>.disk<i>, refuses a name a disk already has, and a bad boot disk or agent", async () => {
    const vm = await vault.protectVm(define());
    expect(vm.disks.map((d) => d.disk)).toEqual(["web.disk0", "web.disk1"]);
    await backupFile(vault, disks[0]!, "db.disk0");
    await expect(vault.protectVm(define({ name: "db" }))).rejects.toThrow(/already used by a disk/);
    await expect(vault.protectVm(define({ name: "x", bootDisk: 2 }))).rejects.toBeInstanceOf(ValidationError);
    await expect(
      vault.protectVm(define({ name: "x", agent: { kind: "ssh", address: "h" } })),
    ).rejects.toThrow(/--agent must be one of/);
    await expect(vault.protectVm(define({ name: "x", freezeMounts: ["/"] }))).rejects.toThrow(
      /root file system/,
    );
  });

  it("refuses a backup of one of its disks alone, and a changed disk list once it has points", async () => {
    await vault.protectVm(define());
    await expect(backupFile(vault, disks[0]!, "web.disk0")).rejects.toThrow(/is a disk of VM web/);
    await backup();
    await expect(vault.protectVm(define({ disks: [{ source: disks[0]!, size: 0 }] }))).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it("takes a security admin as well to set what runs as the agent's machine", async () => {
    await vault.bootstrapPrincipals([
      { name: "carl", roles: ["contributor"] },
      { name: "sam", roles: ["security-admin"] },
      { name: "both", roles: ["contributor", "security-admin"] },
    ]);
    const as = (name: string, roles: string[]) => vault.as({ name, roles } as typeof OWNER);
    await as("carl", ["contributor"]).protectVm(define());
    const scripted = define({ preScripts: [{ command: "sync" }] });
    await expect(as("carl", ["contributor"]).protectVm(scripted)).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(as("sam", ["security-admin"]).protectVm(scripted)).rejects.toBeInstanceOf(AccessDeniedError);
    const vm = await as("both", ["contributor", "security-admin"]).protectVm(scripted);
    expect(vm.consistency.preScripts).toEqual([{ command: "sync", timeoutMs: 60_000 }]);
    // Changing the disks' settings only, the scripts stay and no security admin is needed.
    await as("carl", ["contributor"]).protectVm({ ...scripted, snapshot: "copy" });
  });
});

describe("two backups of one VM at once", () => {
  it("are refused but one: a second freeze and thaw would undo the first's", async () => {
    await vault.protectVm(define());
    const runs = await Promise.allSettled([backup(), backup()]);
    expect(runs.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = runs.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConflictError);
    expect(String(refused.reason)).toMatch(/another backup of VM web is running/);
    await backup();
    expect(await vault.listVmPoints("web")).toHaveLength(2);
  });
});

describe("a VM point is one", () => {
  it("is soft-deleted, undeleted and purged with all its disks' points", async () => {
    await vault.protectVm(define());
    const r = await backup();
    expect((await vault.listVmPoints("web")).map((p) => p.id)).toEqual([r.vmRecoveryPointId]);
    const alone = await vault.deletePoint(r.recoveryPointIds[0]!).catch((e: Error) => e);
    expect(String(alone)).toMatch(/vm delete-point/);
    const deleted = await vault.deleteVmPoint(r.vmRecoveryPointId);
    expect(deleted.state).toBe("soft-deleted");
    for (const id of r.recoveryPointIds) expect((await vault.getPoint(id)).state).toBe("soft-deleted");
    await expect(vault.undeletePoint(r.recoveryPointIds[1]!)).rejects.toThrow(/vm undelete-point/);
    await vault.undeleteVmPoint(r.vmRecoveryPointId);
    for (const id of r.recoveryPointIds) expect((await vault.getPoint(id)).state).toBe("available");
    await vault.deleteVmPoint(r.vmRecoveryPointId);
    now += 15 * DAY;
    await vault.runDue(async () => {
      throw new Error("no disk is due");
    });
    expect((await vault.getVmPoint(r.vmRecoveryPointId)).state).toBe("purged");
    for (const id of r.recoveryPointIds) await expect(vault.getPoint(id)).rejects.toThrow(/purged/);
  });

  it("is held by the retention of any of its disks' points: one approval for an early delete", async () => {
    await vault.protectVm(define());
    const r = await backup();
    // As a policy would have committed it, on the second disk's point only.
    await vault.ctx.deps.catalog.updateRecoveryPoint(vault.id, r.recoveryPointIds[1]!, {
      retainUntil: now + 5 * DAY,
    });
    await vault.bootstrapPrincipals([
      { name: "carl", roles: ["contributor"] },
      { name: "sam", roles: ["security-admin"] },
    ]);
    const carl = vault.as({ name: "carl", roles: ["contributor"] });
    const sam = vault.as({ name: "sam", roles: ["security-admin"] });
    const request = await carl.deleteVmPoint(r.vmRecoveryPointId).catch((err: unknown) => err);
    expect(request).toBeInstanceOf(ApprovalRequiredError);
    for (const id of r.recoveryPointIds) expect((await vault.getPoint(id)).state).toBe("available");
    const approvalId = (request as ApprovalRequiredError).requestId;
    await sam.approve(approvalId);
    expect((await carl.deleteVmPoint(r.vmRecoveryPointId, { approvalId })).state).toBe("soft-deleted");
    for (const id of r.recoveryPointIds) expect((await vault.getPoint(id)).state).toBe("soft-deleted");
  });

  it("is held by the retention of any of its disks' points: a vault lock refuses, deleting nothing", async () => {
    await vault.protectVm(define());
    const r = await backup();
    await vault.ctx.deps.catalog.updateRecoveryPoint(vault.id, r.recoveryPointIds[1]!, {
      retainUntil: now + 5 * DAY,
    });
    await vault.setLock("enabled");
    await expect(vault.deleteVmPoint(r.vmRecoveryPointId)).rejects.toBeInstanceOf(AccessDeniedError);
    expect((await vault.getVmPoint(r.vmRecoveryPointId)).state).toBe("available");
    for (const id of r.recoveryPointIds) expect((await vault.getPoint(id)).state).toBe("available");
  });

  it("restores as a directory of raw disks and a vm.json, the disks byte for byte", async () => {
    await vault.protectVm(define({ bootDisk: 1 }));
    const r = await backup();
    const out = join(root, "restored");
    const restored = await vault.restoreVmPoint(r.vmRecoveryPointId, out);
    expect(restored.descriptor).toMatchObject({
      vm: "web",
      bootDisk: 1,
      consistency: "crash-consistent",
      consistencyReason: "no guest agent is configured",
    });
    const { readFile } = await import("node:fs/promises");
    for (const [i, d] of restored.descriptor.disks.entries()) {
      expect(await readFile(join(out, d.file))).toEqual(await readFile(disks[i]!));
      expect(d).toMatchObject({ index: i, format: "raw", source: disks[i], boot: i === 1 });
    }
    expect(JSON.parse(await readFile(join(out, "vm.json"), "utf8"))).toEqual(restored.descriptor);
    await expect(vault.restoreVmPoint(r.vmRecoveryPointId, out)).rejects.toThrow(/vm\.json exists/);
  });

  it("restores its disks as qcow2 images qemu-img finds identical to the sources", async () => {
    // Whole sectors: a qcow2 image's size is.
    await writeFile(disks[0]!, seededBytes(7, 64 << 10));
    await writeFile(disks[1]!, seededBytes(8, 32 << 10));
    await vault.protectVm(define());
    const r = await backup();
    const out = join(root, "qcow2");
    const restored = await vault.restoreVmPoint(r.vmRecoveryPointId, out, { format: "qcow2" });
    expect(restored.descriptor.disks.map((d) => [d.file, d.format])).toEqual([
      ["disk0.qcow2", "qcow2"],
      ["disk1.qcow2", "qcow2"],
    ]);
    for (const [i, d] of restored.descriptor.disks.entries()) {
      const compare = spawnSync(
        "qemu-img",
        ["compare", "-f", "qcow2", "-F", "raw", join(out, d.file), disks[i]!],
        { encoding: "utf8" },
      );
      expect(
        compare.status,
        `${compare.stdout}${compare.stderr} (qemu-img: apt-get install qemu-utils)`,
      ).toBe(0);
    }
  });
});

describe("a VM under a policy", () => {
  const daily = {
    name: "daily",
    schedule: { kind: "daily", times: ["01:00"] },
    timeZone: "UTC",
    retention: { daily: { days: 7 } },
    snapshotRetentionDays: 1,
  };
  const runDue = () =>
    vault.runDue(
      async () => {
        throw new Error("no single disk is protected");
      },
      (vm) => openVmDeps(vm),
    );

  it("is backed up once per slot by run-due, its disks' points sharing the VM point's time", async () => {
    await vault.createPolicy(daily);
    await vault.protectVm(define({ policy: "daily" }));
    now = Date.parse("2026-06-02T01:30:00Z");
    const first = await runDue();
    expect(first.vms).toHaveLength(1);
    const vmPoint = first.vms![0]!.vmRecoveryPointId!;
    expect((await runDue()).vms![0]!.skipped).toBe("already backed up for this slot");
    const vp = await vault.getVmPoint(vmPoint);
    const times = await Promise.all(vp.points.map(async (id) => (await vault.getPoint(id)).created));
    expect(new Set([vp.created, ...times]).size).toBe(1);
  });

  it("is backed up by serve's scheduler tick where the guests are reachable", async () => {
    await vault.createPolicy(daily);
    await vault.protectVm(define({ policy: "daily" }));
    now = Date.parse("2026-06-02T01:30:00Z");
    const app: AppContext = {
      vault: async () => vault,
      queue: { send: async () => {} },
      workflows: { start: async () => ({ executionId: "none" }) },
      alerts: { publish: async () => {} },
      openSource: async () => {
        throw new Error("no single disk is protected");
      },
      openTarget: async () => {
        throw new Error("no restore here");
      },
      openVmDeps: (vm) => openVmDeps(vm),
    };
    const tick = await schedulerTick(app);
    expect(tick.vms?.map((v) => [v.vm, v.consistency])).toEqual([["web", "crash-consistent"]]);
    expect(await vault.listVmPoints("web")).toHaveLength(1);
    const { openVmDeps: _, ...cloud } = app;
    expect((await schedulerTick(cloud)).vms).toBeUndefined();
  });

  it("lets its VM points go as one when the policy no longer keeps them", async () => {
    await vault.createPolicy(daily);
    await vault.protectVm(define({ policy: "daily" }));
    const made: string[] = [];
    for (let day = 2; day <= 13; day++) {
      now = Date.parse(`2026-06-${String(day).padStart(2, "0")}T01:30:00Z`);
      const r = await runDue();
      made.push(r.vms![0]!.vmRecoveryPointId!);
    }
    const points = await vault.listVmPoints("web");
    const gone = points.filter((p) => p.state !== "available");
    expect(gone.length).toBeGreaterThan(0);
    for (const vp of points) {
      const states = await Promise.all(
        vp.points.map(async (id) => (await vault.getPoint(id).catch(() => ({ state: "purged" }))).state),
      );
      // Every disk's point is in its VM point's state: kept, deleted or purged together.
      expect(new Set(states), vp.id).toEqual(new Set([vp.state === "purged" ? "purged" : vp.state]));
    }
    expect(points.find((p) => p.id === made.at(-1))?.state).toBe("available");
    // Kept points older than the snapshot tier's day moved to the vault tier, every disk's alike.
    const kept = points.filter((p) => p.state === "available");
    const tiers = await Promise.all(
      kept.map(
        async (vp) =>
          new Set(await Promise.all(vp.points.map(async (id) => (await vault.getPoint(id)).tier))),
      ),
    );
    expect(tiers.every((t) => t.size === 1)).toBe(true);
    expect(tiers.map((t) => [...t][0])).toContain("vault");
    expect([...tiers[0]!][0]).toBe("snapshot");
  });
});
