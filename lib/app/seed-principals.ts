import { BlockvaultError } from "../errors.ts";
import type { Vault } from "../vault.ts";
import { parseIamRoleMap } from "./http/principals.ts";

/**
 * Seeds the principals of a vault that has none from the deployment's `principals` parameter
 * (BLOCKVAULT_PRINCIPALS, IAM ARN → roles), as its first principals, added by "deployment".
 * Once the vault has principals the parameter is not read again: they are changed with
 * `blockvault principal`, as critical operations, and a redeploy cannot bypass that. `vault` is
 * the function's own (the owner); a broken parameter is an error naming it, applied in no part.
 */
export async function seedPrincipals(vault: Vault, setting: string | undefined): Promise<void> {
  let map: ReturnType<typeof parseIamRoleMap>;
  try {
    map = parseIamRoleMap(setting);
  } catch (err) {
    throw new BlockvaultError(`the deployment's principals are misconfigured: ${(err as Error).message}`);
  }
  if (map.size === 0 || (await vault.listPrincipals()).length > 0) return;
  const first = [...map].map(([name, roles]) => ({ name, roles }));
  await vault.bootstrapPrincipals(first, "deployment").catch(async (err: unknown) => {
    // Another function instance seeded the vault first: its seed is the same parameter.
    if ((await vault.listPrincipals()).length === 0) throw err;
  });
}
