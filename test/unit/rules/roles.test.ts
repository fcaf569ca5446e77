import { describe, expect, it } from "vitest";
import { AccessDeniedError } from "../../../lib/errors.ts";
import { authorize, mayPerform, Operation, OWNER, ROLES, Role } from "../../../lib/rules/roles.ts";

const as = (...roles: Role[]) => ({ name: "p", roles });

describe("roles", () => {
  it("reader reads only; operator backs up and restores; contributor also changes policies and deletes", () => {
    expect(mayPerform(as(Role.Reader), Operation.Read)).toBe(true);
    expect(mayPerform(as(Role.Reader), Operation.Backup)).toBe(false);
    expect(mayPerform(as(Role.Operator), Operation.Restore)).toBe(true);
    expect(mayPerform(as(Role.Operator), Operation.DeletePoint)).toBe(false);
    expect(mayPerform(as(Role.Contributor), Operation.Backup)).toBe(true);
    expect(mayPerform(as(Role.Contributor), Operation.DeletePoint)).toBe(true);
    expect(mayPerform(as(Role.Contributor), Operation.ManageLock)).toBe(false);
  });

  it("security-admin holds the protections and may read, but not back up, restore or delete", () => {
    const admin = as(Role.SecurityAdmin);
    for (const op of [Operation.ManageLock, Operation.ManageSoftDelete, Operation.Approve, Operation.Read]) {
      expect(mayPerform(admin, op), op).toBe(true);
    }
    for (const op of [Operation.Backup, Operation.Restore, Operation.DeletePoint, Operation.ManagePolicies]) {
      expect(mayPerform(admin, op), op).toBe(false);
    }
  });

  it("the owner of a single-user vault may do everything; the refusal names the missing role", () => {
    for (const op of Object.values(Operation)) expect(mayPerform(OWNER, op), op).toBe(true);
    expect(OWNER.roles).toEqual(ROLES);
    expect(() => authorize(as(Role.Reader), Operation.DeletePoint)).toThrow(AccessDeniedError);
    expect(() => authorize(as(), Operation.Read)).toThrow(
      /p \(roles: none\) may not read: it needs the reader role/,
    );
  });
});
