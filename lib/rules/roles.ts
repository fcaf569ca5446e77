import { AccessDeniedError } from "../errors.ts";

/**
 * Roles, as Azure Backup names them. Reader ⊂ operator ⊂ contributor; security-admin holds
 * the protections (lock, soft-delete settings, approvals) and may read, but not back up,
 * restore or delete: that separation is what makes a second person's approval meaningful.
 */
export const Role = {
  Reader: "reader",
  Operator: "operator",
  Contributor: "contributor",
  SecurityAdmin: "security-admin",
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export const ROLES: readonly Role[] = Object.values(Role);

/** Who is calling, with what roles. */
export interface Principal {
  readonly name: string;
  readonly roles: readonly Role[];
}

/** The caller when a vault has no principals configured: its owner, with every role. */
export const OWNER: Principal = { name: "owner", roles: ROLES };

/** Every operation the vault offers, and the role it needs. */
export const Operation = {
  Read: "read",
  Backup: "backup",
  Restore: "restore",
  RunDue: "run-due",
  ManagePolicies: "manage-policies",
  Protect: "protect",
  DeletePoint: "delete-point",
  UndeletePoint: "undelete-point",
  Reclaim: "reclaim",
  ManageLock: "manage-lock",
  ManageSoftDelete: "manage-soft-delete",
  Approve: "approve",
  ManagePrincipals: "manage-principals",
  RotateKey: "rotate-key",
  /** Setting the directories restores over HTTP may write files into. */
  ManageRestoreDirectories: "manage-restore-directories",
  /** Replacing an existing file with a restore requested over HTTP (`force`). */
  OverwriteRestoreTarget: "overwrite-restore-target",
  /**
   * Listing, finding and reading the files inside a recovery point, or exporting it as a block
   * device: it reads the disk's data, so it needs what a restore needs.
   */
  ReadFiles: "read-files",
  /**
   * Setting what a VM backup runs as the machine its guest agent runs on: the agent, the scripts,
   * the mount points to freeze (with qemu-ga on a host, or local commands, that machine is this one).
   */
  ManageGuestCommands: "manage-guest-commands",
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

const NEEDS: Record<Operation, Role> = {
  read: Role.Reader,
  backup: Role.Operator,
  restore: Role.Operator,
  "run-due": Role.Operator,
  "manage-policies": Role.Contributor,
  protect: Role.Contributor,
  "delete-point": Role.Contributor,
  "undelete-point": Role.Contributor,
  reclaim: Role.Contributor,
  "manage-lock": Role.SecurityAdmin,
  "manage-soft-delete": Role.SecurityAdmin,
  approve: Role.SecurityAdmin,
  "manage-principals": Role.SecurityAdmin,
  "rotate-key": Role.SecurityAdmin,
  "manage-restore-directories": Role.SecurityAdmin,
  "overwrite-restore-target": Role.Contributor,
  "read-files": Role.Operator,
  "manage-guest-commands": Role.SecurityAdmin,
};

/** The roles that include `role`'s rights. */
function holders(role: Role): Role[] {
  switch (role) {
    case Role.Reader:
      return [Role.Reader, Role.Operator, Role.Contributor, Role.SecurityAdmin];
    case Role.Operator:
      return [Role.Operator, Role.Contributor];
    default:
      return [role];
  }
}

/** True when `principal` may perform `operation`. */
export function mayPerform(principal: Principal, operation: Operation): boolean {
  const allowed = holders(NEEDS[operation]);
  return principal.roles.some((r) => allowed.includes(r));
}

/** Throws AccessDeniedError unless `principal` may perform `operation`. */
export function authorize(principal: Principal, operation: Operation): void {
  if (mayPerform(principal, operation)) return;
  throw new AccessDeniedError(
    `${principal.name} (roles: ${principal.roles.join(", ") || "none"}) may not ${operation}: it needs the ${NEEDS[operation]} role`,
  );
}
