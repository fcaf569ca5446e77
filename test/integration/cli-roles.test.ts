import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { type CliVault, cliJson, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { addApprovedCli, bootstrapCli, requestIn } from "../helpers/cli-principals.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
beforeEach(async () => {
  fx = await makeCliVault();
});
afterEach(async () => {
  await removeDir(fx.root);
});

/** The owner's first principals: two security admins, alice and sam; their tokens. */
async function bootstrap(): Promise<{ alice: string; sam: string }> {
  const tokens = await bootstrapCli(fx.vault, ["alice", "sam"], ["security-admin"]);
  return { alice: tokens.alice!, sam: tokens.sam! };
}

const addPrincipal = (name: string, roles: string[], requester: string, approver: string) =>
  addApprovedCli(fx.vault, name, roles, requester, approver);

describe("principals and roles", () => {
  it("a single-user vault needs no token; once principals exist every call needs one", async () => {
    const { alice: admin, sam } = await bootstrap();
    await expectRefused(fx.vault, ["list", "--vault", fx.vault], { code: 9, message: /pass an API token/ });
    await expectRefused(fx.vault, ["list", "--vault", fx.vault, "--token", "bv_wrong"], {
      code: 9,
      message: /not valid for this vault/,
    });
    expect(await cliJson(["list", "--vault", fx.vault, "--token", admin])).toHaveLength(1);
    // Adding principals is the security admins', with a token and another's approval now.
    const reader = await addPrincipal("rita", ["reader"], admin, sam);
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
        message: /--role must be one of reader, operator, contributor, security-admin, got "wizard"/,
      },
    );
  });

  it("each role may do its own operations and is refused the others, changing nothing", async () => {
    const { alice: admin, sam } = await bootstrap();
    const reader = await addPrincipal("rita", ["reader"], admin, sam);
    const operator = await addPrincipal("otto", ["operator"], admin, sam);
    const contributor = await addPrincipal("carl", ["contributor"], admin, sam);
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
    const removal = requestIn(await runCli(["principal", "remove", "rita", ...v, "--token", admin]));
    await cliJson(["approvals", "approve", removal, ...v, "--token", sam]);
    await cliJson(["principal", "remove", "rita", ...v, "--token", admin, "--approval", removal]);
    await expectRefused(fx.vault, ["list", ...v, "--token", reader], { code: 9, message: /not valid/ });
  });

  it("a critical operation waits for another security admin's approval", async () => {
    const { alice, sam } = await bootstrap();
    const v = ["--vault", fx.vault];
    const id = requestIn(await runCli(["vault", "soft-delete", "--disable", ...v, "--token", alice]));
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

  it("a rejected request can be neither approved nor used", async () => {
    const { alice, sam } = await bootstrap();
    const v = ["--vault", fx.vault];
    const id = requestIn(await runCli(["vault", "soft-delete", "--disable", ...v, "--token", alice]));
    await expectRefused(fx.vault, ["approvals", "reject", id!, ...v, "--token", alice], {
      code: 9,
      message: /cannot reject it/,
    });
    expect(await cliJson(["approvals", "reject", id!, ...v, "--token", sam])).toMatchObject({
      state: "rejected",
      rejecter: "sam",
    });
    expect(await cliJson(["approvals", "list", "--state", "rejected", ...v, "--token", alice])).toHaveLength(
      1,
    );
    await expectRefused(fx.vault, ["approvals", "approve", id!, ...v, "--token", sam], {
      code: 8,
      message: /already rejected/,
    });
    await expectRefused(
      fx.vault,
      ["vault", "soft-delete", "--disable", "--approval", id!, ...v, "--token", alice],
      { code: 8, message: /rejected by sam/ },
    );
  });
});
