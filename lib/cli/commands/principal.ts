import { localVaultPaths } from "../../adapters/local/local-vault.ts";
import { addPrincipal, listPrincipals, removePrincipal } from "../../adapters/local/principals.ts";
import { ValidationError } from "../../errors.ts";
import { Operation } from "../../rules/roles.ts";
import { type CommandContext, withVault } from "../context.ts";
import { table } from "../format.ts";

/** `blockvault principal add NAME --role R... | list | remove NAME` (security-admin). */
export async function principalCommand(ctx: CommandContext): Promise<void> {
  const [action, name, ...rest] = ctx.positionals;
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  if (ctx.global.aws) {
    throw new ValidationError(
      "principals with API tokens belong to embedded vaults; on AWS, callers are IAM identities mapped to roles in the deployment",
    );
  }
  const path = localVaultPaths(ctx.global.vault).principals;
  await withVault(ctx.global, async (vault) => {
    if (action === "list") {
      vault.authorize(Operation.Read);
      const all = await listPrincipals(path);
      return ctx.print(
        all,
        all.length
          ? table(
              ["NAME", "ROLES"],
              all.map((p) => [p.name, p.roles.join(", ")]),
            )
          : "No principals: single-user vault.",
      );
    }
    vault.authorize(Operation.ManagePrincipals);
    if (name === undefined) throw new ValidationError("missing principal NAME");
    if (action === "add") {
      const roles = (ctx.values.role as unknown as string[] | undefined) ?? [];
      const token = await addPrincipal(path, name, roles);
      return ctx.print(
        { name, roles, token },
        `Principal "${name}" added. Its API token (shown once):\n${token}`,
      );
    }
    if (action === "remove") {
      await removePrincipal(path, name);
      return ctx.print({ name, removed: true }, `Principal "${name}" removed`);
    }
    throw new ValidationError(`principal needs an action: add, list or remove (got "${action ?? ""}")`);
  });
}
