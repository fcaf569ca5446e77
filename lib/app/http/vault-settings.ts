import { Operation } from "../../rules/roles.ts";
import { approvalOf, type Call } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/** `GET /me`: who the caller is, so a client shows only what its roles allow. */
export async function getCaller(call: Call): Promise<HttpResponse> {
  call.vault.authorize(Operation.Read);
  return json(200, { name: call.principal.name, roles: call.principal.roles });
}

/** `GET /vault/settings`. */
export async function getVaultSettings(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.settings());
}

/** `GET /vault/lock-preview`: what the irreversible step would commit to, before taking it. */
export async function previewLock(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.lockPreview());
}

/** `PUT /vault/lock` `{"state"}`; unlocking presents `X-Approval-Id`. */
export async function setVaultLock(call: Call): Promise<HttpResponse> {
  const { state } = call.body as { state: "unlocked" | "enabled" | "locked" };
  return json(200, await call.vault.setLock(state, approvalOf(call)));
}

/** `PUT /vault/soft-delete` `{"days"?, "enabled"?, "alwaysOn"?}`; shortening presents `X-Approval-Id`. */
export async function setSoftDelete(call: Call): Promise<HttpResponse> {
  const change = call.body as { days?: number; enabled?: boolean; alwaysOn?: boolean };
  return json(200, await call.vault.setSoftDelete(change, approvalOf(call)));
}

/** `GET /principals`: names, roles and lineage, picked field by field: never a token's hash. */
export async function listPrincipals(call: Call): Promise<HttpResponse> {
  const items = (await call.vault.listPrincipals()).map((p) => ({
    name: p.name,
    roles: p.roles,
    created: p.created,
    createdBy: p.createdBy,
    ...(p.approvedBy !== undefined ? { approvedBy: p.approvedBy } : {}),
    rolesSince: p.rolesSince,
    lineage: p.lineage,
  }));
  return json(200, { items });
}
