import { ValidationError } from "../../errors.ts";
import type { Vault } from "../../vault.ts";
import { approvalOf, type CommandContext, withVault } from "../context.ts";
import { table } from "../format.ts";

/**
 * `blockvault principal add NAME... --role R... | list | remove NAME | roles NAME --role R...`.
 * Adding, removing and changing roles are critical operations of a security admin, approved by
 * another independent one (`--approval ID`); the owner of a vault without principals adds the
 * first ones (several names at once) freely. Names are IAM user or role ARNs on AWS.
 */
export async function principalCommand(ctx: CommandContext): Promise<void> {
  const [action, ...names] = ctx.positionals;
  const roles = (ctx.values.role as string[] | undefined) ?? [];
  await withVault(ctx.global, async (vault) => {
    switch (action) {
      case "list":
        return list(ctx, vault, names);
      case "add":
        return add(ctx, vault, names, roles);
      case "remove": {
        const name = single(names);
        await vault.removePrincipal(name, approvalOf(ctx));
        return ctx.print({ name, removed: true }, `Principal "${name}" removed`);
      }
      case "roles": {
        const record = await vault.setPrincipalRoles(single(names), roles, approvalOf(ctx));
        return ctx.print(record, `Principal "${record.name}" now has the roles ${record.roles.join(", ")}`);
      }
      default:
        throw new ValidationError(
          `principal needs an action: add, list, remove or roles (got "${action ?? ""}")`,
        );
    }
  });
}

function single(names: readonly string[]): string {
  const [name, ...rest] = names;
  if (name === undefined) throw new ValidationError("missing principal NAME");
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  return name;
}

async function list(ctx: CommandContext, vault: Vault, rest: readonly string[]): Promise<void> {
  if (rest.length > 0) throw new ValidationError(`unexpected argument "${rest[0]}"`);
  const all = await vault.listPrincipals();
  const rows = all.map((p) => [p.name, p.roles.join(", "), p.createdBy, new Date(p.created).toISOString()]);
  ctx.print(
    all,
    all.length ? table(["NAME", "ROLES", "ADDED BY", "ADDED"], rows) : "No principals: single-user vault.",
  );
}

/** One principal (approved, or the first by the owner), or the owner's first several at once. */
async function add(
  ctx: CommandContext,
  vault: Vault,
  names: readonly string[],
  roles: readonly string[],
): Promise<void> {
  if (names.length === 0) throw new ValidationError("missing principal NAME");
  const added =
    names.length === 1
      ? [await vault.addPrincipal(names[0] as string, roles, approvalOf(ctx))]
      : await vault.bootstrapPrincipals(names.map((name) => ({ name, roles })));
  const lines = added.map(({ principal, token }) =>
    token
      ? `Principal "${principal.name}" added. Its API token (shown once):\n${token}`
      : `Principal "${principal.name}" added with the roles ${principal.roles.join(", ")}`,
  );
  const json = added.map(({ principal, token }) => ({ ...principal, ...(token ? { token } : {}) }));
  ctx.print(json.length === 1 ? json[0] : json, lines.join("\n"));
}
