import { approvalOf, type Call, param } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/** `GET /policies`: by name. */
export async function listPolicies(call: Call): Promise<HttpResponse> {
  return json(200, { items: await call.vault.listPolicies() });
}

/** `POST /policies`: the vault validates the definition and names the offending field. */
export async function createPolicy(call: Call): Promise<HttpResponse> {
  const policy = await call.vault.createPolicy(call.body);
  return json(201, policy, { location: `/policies/${encodeURIComponent(policy.name)}` });
}

/** `GET /policies/{name}`. */
export async function getPolicy(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.getPolicy(param(call, "name")));
}

/**
 * `PUT /policies/{name}`: replaces the definition. The name is the path's; a body without one
 * takes it (a body naming another policy is refused by the vault: policies are not renamed).
 */
export async function updatePolicy(call: Call): Promise<HttpResponse> {
  const name = param(call, "name");
  const body = call.body as Record<string, unknown>;
  const definition = body.name === undefined ? { ...body, name } : body;
  return json(200, await call.vault.updatePolicy(name, definition, approvalOf(call)));
}

/** `DELETE /policies/{name}`: only a policy no protected disk uses (else 409). */
export async function deletePolicy(call: Call): Promise<HttpResponse> {
  await call.vault.deletePolicy(param(call, "name"));
  return { status: 204, headers: {}, body: "" };
}
