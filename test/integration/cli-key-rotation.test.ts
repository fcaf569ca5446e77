import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { runCli } from "../helpers/cli.ts";
import { type CliVault, cliJson, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { addApprovedCli, bootstrapCli } from "../helpers/cli-principals.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
let v: string[];
beforeEach(async () => {
  fx = await makeCliVault();
  v = ["--vault", fx.vault];
});
afterEach(async () => {
  await removeDir(fx.root);
});

/** The key ids the vault's keyring file holds, oldest first. */
async function keyIds(): Promise<readonly string[]> {
  return (await loadKeyring(localVaultPaths(fx.vault).keyring)).keyService.keyIds;
}

/** Two security admins, alice and sam, as the owner's first principals; their tokens. */
async function admins(): Promise<{ alice: string; sam: string }> {
  const tokens = await bootstrapCli(fx.vault, ["alice", "sam"], ["security-admin"]);
  return { alice: tokens.alice!, sam: tokens.sam! };
}

describe("blockvault vault key rotate", () => {
  it("rotates a single-user vault's key; old points restore and new backups work", async () => {
    const [before] = await keyIds();
    const rotation = (await cliJson(["vault", "key", "rotate", ...v])) as {
      previous: string;
      current: string;
    };
    expect(rotation.previous).toBe(before);
    expect(await keyIds()).toEqual([before, rotation.current]);

    const restored = join(fx.root, "restored.img");
    expect(await cliJson(["restore", fx.pointId, "--to", restored, ...v])).toBeDefined();
    expect(await readFile(restored)).toStrictEqual(fx.imageBytes);
    const again = await runCli(["vault", "key", "rotate", ...v]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Vault key rotated: new data keys are wrapped under keyring-/);
    expect(await keyIds()).toHaveLength(3);
    await cliJson(["backup", fx.image, "--disk", "vm2", ...v]);
    expect(await cliJson(["check", "--read-data", ...v])).toMatchObject({ ok: true });
  });

  it("asks for another security admin's approval, then rotates once", async () => {
    const { alice, sam } = await admins();
    const asked = await expectRefused(fx.vault, ["vault", "key", "rotate", ...v, "--token", alice], {
      code: 10,
      message: /vault\.rotate-key .*needs a second person's approval/,
    });
    const id = /--approval ([0-9a-f-]{36})/.exec(asked.stderr)?.[1];
    expect(id).toBeDefined();
    await expectRefused(fx.vault, ["approvals", "approve", id!, ...v, "--token", alice], {
      code: 9,
      message: /cannot approve it/,
    });
    expect(await cliJson(["approvals", "approve", id!, ...v, "--token", sam])).toMatchObject({
      state: "approved",
      operation: "vault.rotate-key",
    });
    const rotation = (await cliJson([
      "vault",
      "key",
      "rotate",
      "--approval",
      id!,
      ...v,
      "--token",
      alice,
    ])) as {
      current: string;
    };
    expect((await keyIds()).at(-1)).toBe(rotation.current);
    await expectRefused(fx.vault, ["vault", "key", "rotate", "--approval", id!, ...v, "--token", alice], {
      code: 8,
      message: /is used, not approved/,
    });
    expect(await keyIds()).toHaveLength(2);
  });

  it("refuses readers and operators, and unknown key actions, changing nothing", async () => {
    const { alice, sam } = await admins();
    const reader = await addApprovedCli(fx.vault, "rita", ["reader"], alice, sam);
    const operator = await addApprovedCli(fx.vault, "otto", ["operator"], alice, sam);
    for (const token of [reader, operator]) {
      await expectRefused(fx.vault, ["vault", "key", "rotate", ...v, "--token", token], {
        code: 9,
        message: /may not rotate-key: it needs the security-admin role/,
      });
    }
    await expectRefused(fx.vault, ["vault", "key", "spin", ...v, "--token", alice], {
      code: 2,
      message: /key rotate/,
    });
    const failed = await runCli(["vault", "key", "rotate", ...v, "--token", reader, "--json"]);
    expect(JSON.parse(failed.stderr)).toMatchObject({ error: { code: "ACCESS_DENIED" } });
    const approvals = (await cliJson(["approvals", "list", ...v, "--token", alice])) as {
      operation: string;
    }[];
    expect(approvals.filter((a) => a.operation === "vault.rotate-key")).toEqual([]);
    expect(await keyIds()).toHaveLength(1);
  });
});
