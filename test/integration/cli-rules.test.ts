import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { type CliVault, cliJson, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
let policyFile: string;

const policy = {
  name: "nightly",
  schedule: { kind: "daily", times: ["02:00"] },
  timeZone: "Europe/Berlin",
  retention: { daily: { days: 7 } },
  snapshotRetentionDays: 2,
};

beforeEach(async () => {
  fx = await makeCliVault();
  policyFile = join(fx.root, "policy.json");
  await writeFile(policyFile, JSON.stringify(policy));
});

afterEach(async () => {
  await removeDir(fx.root);
});

describe("policy, protect, run-due, delete and undelete through the CLI", () => {
  it("refuses bad policies with the field named, and changes nothing", async () => {
    await writeFile(policyFile, JSON.stringify({ ...policy, retention: { daily: { days: 3 } } }));
    await expectRefused(fx.vault, ["policy", "create", "--file", policyFile, "--vault", fx.vault], {
      code: 2,
      message: /retention\.daily\.days must be an integer from 7/,
    });
    await writeFile(policyFile, "{ not json");
    await expectRefused(fx.vault, ["policy", "create", "--file", policyFile, "--vault", fx.vault], {
      code: 2,
      message: /not valid JSON/,
    });
    await expectRefused(fx.vault, ["policy", "show", "nope", "--vault", fx.vault], {
      code: 3,
      message: /policy "nope" does not exist/,
    });
    await expectRefused(fx.vault, ["policy", "frobnicate", "--vault", fx.vault], {
      code: 2,
      message: /create, update, show, list or delete/,
    });
  });

  it("deletes a policy only while no disk uses it", async () => {
    await cliJson(["policy", "create", "--file", policyFile, "--vault", fx.vault]);
    expect(
      (await runCli(["protect", fx.image, "--disk", "web", "--policy", "nightly", "--vault", fx.vault])).code,
    ).toBe(0);
    await expectRefused(fx.vault, ["policy", "delete", "nightly", "--vault", fx.vault], {
      code: 8,
      message: /protects "web"/,
    });
    expect((await runCli(["unprotect", "web", "--vault", fx.vault])).code).toBe(0);
    expect(await cliJson(["policy", "delete", "nightly", "--vault", fx.vault])).toEqual({
      deleted: "nightly",
    });
    await expectRefused(fx.vault, ["policy", "delete", "nightly", "--vault", fx.vault], {
      code: 3,
      message: /nightly/,
    });
  });

  it("runs a protected disk's backups on schedule, once per slot", async () => {
    expect(await cliJson(["policy", "create", "--file", policyFile, "--vault", fx.vault])).toMatchObject({
      name: "nightly",
      version: 1,
    });
    await expectRefused(
      fx.vault,
      ["protect", fx.image, "--disk", "web", "--policy", "nope", "--vault", fx.vault],
      {
        code: 3,
        message: /policy "nope"/,
      },
    );
    await cliJson(["protect", fx.image, "--disk", "web", "--policy", "nightly", "--vault", fx.vault]);
    // 02:00 in Berlin in winter is 01:00 UTC; "now" must be after the disk was protected.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const at = `${tomorrow}T01:30:00Z`;
    const first = (await cliJson(["run-due", "--at", at, "--vault", fx.vault])) as {
      backups: { result?: { recoveryPointId: string } }[];
    };
    expect(first.backups).toHaveLength(1);
    expect(first.backups[0]!.result?.recoveryPointId).toBeDefined();
    const again = (await cliJson(["run-due", "--at", at, "--vault", fx.vault])) as {
      backups: { skipped?: string }[];
    };
    expect(again.backups[0]!.skipped).toMatch(/already backed up/);
    await expectRefused(fx.vault, ["run-due", "--at", "yesterday", "--vault", fx.vault], {
      code: 2,
      message: /--at must be an ISO 8601 time/,
    });
  });

  it("deletes softly and undeletes; the deleted point still restores", async () => {
    const deleted = (await cliJson(["delete", fx.pointId, "--vault", fx.vault])) as { state: string };
    expect(deleted.state).toBe("soft-deleted");
    const restored = await runCli([
      "restore",
      fx.pointId,
      "--to",
      join(fx.root, "r.img"),
      "--vault",
      fx.vault,
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    await expectRefused(fx.vault, ["delete", fx.pointId, "--vault", fx.vault], {
      code: 8,
      message: /is soft-deleted, not available/,
    });
    expect(await cliJson(["undelete", fx.pointId, "--vault", fx.vault])).toMatchObject({
      state: "available",
    });
    await expectRefused(fx.vault, ["undelete", "no-such-point", "--vault", fx.vault], {
      code: 3,
      message: /does not exist/,
    });
  });

  it("shows and changes the vault's settings; the lock goes unlocked, enabled, locked", async () => {
    expect(await cliJson(["vault", "show", "--vault", fx.vault])).toMatchObject({
      softDeleteDays: 14,
      lock: "unlocked",
    });
    await expectRefused(fx.vault, ["vault", "soft-delete", "--days", "7", "--vault", fx.vault], {
      code: 2,
      message: /from 14 to 180/,
    });
    expect(await cliJson(["vault", "soft-delete", "--days", "30", "--vault", fx.vault])).toMatchObject({
      softDeleteDays: 30,
    });
    expect(await cliJson(["vault", "lock", "preview", "--vault", fx.vault])).toMatchObject({
      state: "unlocked",
    });
    await expectRefused(fx.vault, ["vault", "lock", "lock", "--vault", fx.vault], {
      code: 8,
      message: /enable the vault lock/,
    });
    expect(await cliJson(["vault", "lock", "enable", "--vault", fx.vault])).toMatchObject({
      lock: "enabled",
    });
    expect(await cliJson(["vault", "lock", "lock", "--vault", fx.vault])).toMatchObject({ lock: "locked" });
  });
});
