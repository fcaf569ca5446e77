import type { Role } from "./types.ts";

/** What the console offers, and the roles that may do it (the server's own rule, lib/rules/roles.ts). */
const NEEDS = {
  restore: ["operator", "contributor"],
  manage: ["contributor"],
  secure: ["security-admin"],
} as const satisfies Record<string, readonly Role[]>;

/** An action of the console. */
export type Action = keyof typeof NEEDS;

/**
 * Whether roles allow an action. The console only hides what the caller may not do; the server
 * refuses it whatever a page sends.
 */
export function may(roles: readonly Role[], action: Action): boolean {
  return roles.some((r) => (NEEDS[action] as readonly Role[]).includes(r));
}
