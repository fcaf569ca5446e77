import { type Principal, Role } from "../rules/roles.ts";

/**
 * The principal the scheduler, the snapshot workers and the state machines act as: the audit
 * log names it, and its roles allow backups, retention and lifecycle work but not approvals or
 * the lock.
 */
export const SYSTEM_PRINCIPAL: Principal = { name: "system", roles: [Role.Operator, Role.Contributor] };
