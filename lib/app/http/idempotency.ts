import { createHash } from "node:crypto";

/** JSON with object keys sorted, so two requests differing only in key order digest alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of a request body: what an Idempotency-Key was first used for. */
export function requestDigest(body: unknown): string {
  return createHash("sha256").update(canonical(body)).digest("hex");
}

/**
 * The job id an Idempotency-Key stands for: a UUID (version 8, "custom") made of the key's
 * SHA-256 within the vault. Because the id is derived, the catalog's create-only `createJob`
 * is the durable key → job record: a repeated or concurrent request with the same key finds
 * the same job instead of creating a second one, in any runtime, with no extra table. Keys are
 * scoped to the vault, not to the caller: an assumed role's session name changes from call to
 * call, and a key is a random value the client made up.
 */
export function idempotentJobId(vaultId: string, key: string): string {
  const hash = createHash("sha256").update(`blockvault/restore-idempotency\0${vaultId}\0${key}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80; // version 8
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
