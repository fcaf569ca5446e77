import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import { Role } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { cliJson } from "../helpers/cli-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let root: string;
let vault: Vault;
let now: number;

beforeEach(async () => {
  root = await tempDir("audit");
  now = Date.parse("2026-05-01T10:00:00Z");
  vault = await initLocalVault(
    join(root, "vault"),
    { name: "audit", blockSize: 4096 },
    { clock: { now: () => now } },
  );
  await writeFile(join(root, "disk.img"), seededBytes(5, 20_000));
});

afterEach(async () => {
  await vault.close();
  await removeDir(root);
});

describe("the audit log", () => {
  it("records who did what, when, to what, and the outcome: succeeded, refused or failed", async () => {
    const { recoveryPointId: id } = await backupFile(vault, join(root, "disk.img"), "d");
    now += 1000;
    const operator = vault.as({ name: "otto", roles: [Role.Operator] });
    await expect(operator.deletePoint(id)).rejects.toThrow(/needs the contributor role/);
    await expect(vault.deletePoint("no-such-point")).rejects.toThrow(/does not exist/);
    await vault.deletePoint(id);
    await expect(vault.deletePoint(id)).rejects.toThrow(/not available/);
    const log = await vault.listAudit();
    expect(log.map((e) => [e.seq, e.principal, e.action, e.target, e.outcome])).toEqual([
      [1, "owner", "backup.run", "d", "succeeded"],
      [2, "otto", "point.delete", id, "refused"],
      [3, "owner", "point.delete", "no-such-point", "failed"],
      [4, "owner", "point.delete", id, "succeeded"],
      [5, "owner", "point.delete", id, "refused"],
    ]);
    expect(log[0]!.at).toBe(Date.parse("2026-05-01T10:00:00Z"));
    expect(log[1]!.detail?.reason).toMatch(/contributor/);
    // Reading is not an operation the log records, and readers may read it.
    const reader = vault.as({ name: "rita", roles: [Role.Reader] });
    await reader.listPoints();
    expect(await reader.listAudit({ afterSeq: 3 })).toHaveLength(2);
    expect(await vault.listAudit({ principal: "otto" })).toHaveLength(1);
  });

  it("is listed by the CLI", async () => {
    await backupFile(vault, join(root, "disk.img"), "d");
    const entries = (await cliJson(["audit", "--vault", join(root, "vault")])) as { action: string }[];
    expect(entries.map((e) => e.action)).toEqual(["backup.run"]);
  });
});
