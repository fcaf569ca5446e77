import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { type CliVault, cliJson, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
beforeEach(async () => {
  fx = await makeCliVault();
});
afterEach(async () => {
  await removeDir(fx.root);
});

async function addPrincipal(name: string, roles: string[], token?: string): Promise<string> {
  const args = ["principal", "add", name, ...roles.flatMap((r) => ["--role", r]), "--vault", fx.vault];
  const out = (await cliJson(token ? [...args, "--token", token] : args)) as { token: string };
  return out.token;
}

describe("principals and roles", () => {
  it("a single-user vault needs no token; once principals exist every call needs one", async () => {
    const admin = await addPrincipal("alice", ["security-admin"]);
    await expectRefused(fx.vault, ["list", "--vault", fx.vault], { code: 9, message: /pass an API token/ });
    await expectRefused(fx.vault, ["list", "--vault", fx.vault, "--token", "bv_wrong"], {
      code: 9,
      message: /not valid for this vault/,
    });
    expect(await cliJson(["list", "--vault", fx.vault, "--token", admin])).toHaveLength(1);
    // Adding principals is the security admin's, with a token now.
    const reader = await addPrincipal("rita", ["reader"], admin);
    await expectRefused(
      fx.vault,
      ["principal", "add", "bob", "--role", "operator", "--vault", fx.vault, "--token", reader],
      {
        code: 9,
        message: /rita \(roles: reader\) may not manage-principals/,
      },
    );
    await expectRefused(
      fx.vault,
      ["principal", "add", "bob", "--role", "wizard", "--vault", fx.vault, "--token", admin],
      {
        code: 2,
        message: /role "wizard" is unknown/,
      },
    );
  });

  it("each role may do its own operations and is refused the others, changing nothing", async () => {
    const admin = await addPrincipal("alice", ["security-admin"]);
    const reader = await addPrincipal("rita", ["reader"], admin);
    const operator = await addPrincipal("otto", ["operator"], admin);
    const contributor = await addPrincipal("carl", ["contributor"], admin);
    const v = ["--vault", fx.vault];
    await expectRefused(fx.vault, ["backup", fx.image, "--disk", fx.disk, ...v, "--token", reader], {
      code: 9,
      message: /needs the operator role/,
    });
    const backup = await runCli(["backup", fx.image, "--disk", fx.disk, ...v, "--token", operator]);
    expect(backup.code, backup.stderr).toBe(0);
    await expectRefused(fx.vault, ["delete", fx.pointId, ...v, "--token", operator], {
      code: 9,
      message: /needs the contributor role/,
    });
    await expectRefused(
      fx.vault,
      ["restore", fx.pointId, "--to", join(fx.root, "x.img"), ...v, "--token", admin],
      {
        code: 9,
        message: /needs the operator role/,
      },
    );
    await expectRefused(fx.vault, ["vault", "lock", "enable", ...v, "--token", contributor], {
      code: 9,
      message: /needs the security-admin role/,
    });
    expect(await cliJson(["delete", fx.pointId, ...v, "--token", contributor])).toMatchObject({
      state: "soft-deleted",
    });
    expect(await cliJson(["vault", "lock", "enable", ...v, "--token", admin])).toMatchObject({
      lock: "enabled",
    });
    await cliJson(["principal", "remove", "rita", ...v, "--token", admin]);
    await expectRefused(fx.vault, ["list", ...v, "--token", reader], { code: 9, message: /not valid/ });
  });

  it("a critical operation waits for another security admin's approval", async () => {
    const alice = await addPrincipal("alice", ["security-admin"]);
    const sam = await addPrincipal("sam", ["security-admin"], alice);
    const v = ["--vault", fx.vault];
    const asked = await runCli(["vault", "soft-delete", "--disable", ...v, "--token", alice]);
    expect(asked.code, asked.stderr).toBe(10);
    const id = /--approval ([0-9a-f-]{36})/.exec(asked.stderr)?.[1];
    expect(id).toBeDefined();
    await expectRefused(fx.vault, ["approvals", "approve", id!, ...v, "--token", alice], {
      code: 9,
      message: /cannot approve it/,
    });
    expect(await cliJson(["approvals", "approve", id!, ...v, "--token", sam])).toMatchObject({
      state: "approved",
    });
    expect(await cliJson(["approvals", "list", "--state", "approved", ...v, "--token", alice])).toHaveLength(
      1,
    );
    expect(
      await cliJson(["vault", "soft-delete", "--disable", "--approval", id!, ...v, "--token", alice]),
    ).toMatchObject({ softDeleteEnabled: false });
  });
});
