import type { Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import { SYSTEM_PRINCIPAL } from "../system.ts";

/** The vault as the state machines act on it: as the system principal, which the audit log names. */
export async function systemVault(app: AppContext): Promise<Vault> {
  return (await app.vault()).as(SYSTEM_PRINCIPAL);
}
