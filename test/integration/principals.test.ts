import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initLocalVault } from "../../lib/compose/local.ts";
import {
  AccessDeniedError,
  ApprovalMismatchError,
  ApprovalRequiredError,
  ConflictError,
  ValidationError,
} from "../../lib/errors.ts";
import { principalByToken } from "../../lib/rules/callers.ts";
import type { Vault } from "../../lib/vault.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let root: string;
let owner: Vault;
let tokens: Map<string, string>;

/** The vault as the principal `name`, resolved from its token as a front door would. */
async function as(name: string): Promise<Vault> {
  const store = owner.ctx.deps.principals!;
  return owner.as(await principalByToken(store, tokens.get(name)));
}

/** The request id an operation that needs approval reports. */
async function requestOf(attempt: Promise<unknown>): Promise<string> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalRequiredError);
  return (err as ApprovalRequiredError).requestId;
}

/** `requester` adds `name`, approved by `approver`. */
async function addApproved(requester: string, approver: string, name: string, roles: string[]) {
  const id = await requestOf((await as(requester)).addPrincipal(name, roles));
  await (await as(approver)).approve(id);
  const added = await (await as(requester)).addPrincipal(name, roles, { approvalId: id });
  tokens.set(name, added.token!);
  return added.principal;
}

const names = async () => (await owner.listPrincipals()).map((p) => p.name);

beforeEach(async () => {
  root = await tempDir("principals");
  let now = Date.parse("2026-06-01T08:00:00Z");
  owner = await initLocalVault(
    join(root, "vault"),
    { name: "p", blockSize: 4096 },
    { clock: { now: () => (now += 1000) } },
  );
  // The owner's bootstrap: two independent security admins.
  const first = await owner.bootstrapPrincipals([
    { name: "alice", roles: ["security-admin"] },
    { name: "sam", roles: ["security-admin"] },
  ]);
  tokens = new Map(first.map((a) => [a.principal.name, a.token!]));
});

afterEach(async () => {
  await owner.close();
  await removeDir(root);
});

describe("principal changes are critical operations", () => {
  it("a security admin adding another needs a second, independent security admin's approval", async () => {
    const alice = await as("alice");
    const id = await requestOf(alice.addPrincipal("bob", ["security-admin"]));
    expect(await names()).toEqual(["alice", "sam"]);
    // The approver sees what it approves: the principal and its roles.
    expect(await alice.listApprovals({ state: "pending" })).toEqual([
      expect.objectContaining({
        id,
        operation: "principal.add",
        target: "bob as security-admin",
        requester: "alice",
      }),
    ]);
    await expect(alice.approve(id)).rejects.toThrow(/cannot approve it/);
    await (await as("sam")).approve(id);
    const added = await alice.addPrincipal("bob", ["security-admin"], { approvalId: id });
    expect(added.principal).toMatchObject({
      name: "bob",
      createdBy: "alice",
      approvedBy: "sam",
      lineage: ["alice"],
    });
    await expect(alice.addPrincipal("bob2", ["security-admin"], { approvalId: id })).rejects.toThrow(
      ApprovalMismatchError,
    );
  });

  it("a principal the requester created never approves the requester's requests, nor one it created", async () => {
    await addApproved("alice", "sam", "bob", ["security-admin"]);
    const request = await requestOf((await as("alice")).setSoftDelete({ enabled: false }));
    await expect((await as("bob")).approve(request)).rejects.toThrow(/share alice in their lineage/);
    // Bob's own creature is alice's too.
    await addApproved("bob", "sam", "cleo", ["security-admin"]);
    await expect((await as("cleo")).approve(request)).rejects.toThrow(AccessDeniedError);
    // And the creator cannot approve its creature's request.
    const bobs = await requestOf((await as("bob")).setSoftDelete({ enabled: false }));
    await expect((await as("alice")).approve(bobs)).rejects.toThrow(/lineage/);
    await (await as("sam")).approve(request);
    expect(
      (await (await as("alice")).setSoftDelete({ enabled: false }, { approvalId: request }))
        .softDeleteEnabled,
    ).toBe(false);
  });

  it("an approval given before the approver was tied to the requester stops counting", async () => {
    const request = await requestOf((await as("alice")).setSoftDelete({ enabled: false }));
    await (await as("sam")).approve(request);
    // Alice has sam's roles changed (sam approving that too): sam is now in alice's lineage.
    const change = await requestOf(
      (await as("alice")).setPrincipalRoles("sam", ["security-admin", "reader"]),
    );
    await (await as("sam")).approve(change);
    await (await as("alice")).setPrincipalRoles("sam", ["security-admin", "reader"], { approvalId: change });
    await expect(
      (await as("alice")).setSoftDelete({ enabled: false }, { approvalId: request }),
    ).rejects.toThrow(AccessDeniedError);
  });

  it("removing the only other security admin needs that admin's approval; the last one stays", async () => {
    const alice = await as("alice");
    await expect(alice.removePrincipal("alice")).rejects.toBeInstanceOf(ApprovalRequiredError);
    // An approval sam gave earlier stops counting once sam is gone.
    const earlier = await requestOf(alice.setSoftDelete({ enabled: false }));
    await (await as("sam")).approve(earlier);
    const id = await requestOf(alice.removePrincipal("sam"));
    expect(await names()).toEqual(["alice", "sam"]);
    await (await as("sam")).approve(id);
    await alice.removePrincipal("sam", { approvalId: id });
    await expect(alice.setSoftDelete({ enabled: false }, { approvalId: earlier })).rejects.toThrow(
      /sam may not approve .*not a principal/,
    );
    // Alone now: nothing alice asks can be approved, and she cannot remove herself.
    await expect(alice.removePrincipal("alice")).rejects.toThrow(/last security admin/);
    await expect(alice.setPrincipalRoles("alice", ["reader"])).rejects.toThrow(ConflictError);
    const next = await requestOf(alice.addPrincipal("mallory", ["security-admin"]));
    await expect(alice.approve(next)).rejects.toThrow(AccessDeniedError);
  });

  it("two admins approving each other's removal cannot both go: the second finds itself removed", async () => {
    const alice = await as("alice");
    const sam = await as("sam");
    const samGoes = await requestOf(alice.removePrincipal("sam"));
    const aliceGoes = await requestOf(sam.removePrincipal("alice"));
    await sam.approve(samGoes);
    await alice.approve(aliceGoes);
    await alice.removePrincipal("sam", { approvalId: samGoes });
    await expect(sam.removePrincipal("alice", { approvalId: aliceGoes })).rejects.toThrow(AccessDeniedError);
    expect(await names()).toEqual(["alice"]);
  });

  it("an approval for one principal operation is refused for any other", async () => {
    await addApproved("alice", "sam", "carl", ["contributor"]);
    const id = await requestOf((await as("alice")).addPrincipal("rita", ["reader"]));
    await (await as("sam")).approve(id);
    const alice = await as("alice");
    await expect(alice.addPrincipal("rita", ["security-admin"], { approvalId: id })).rejects.toThrow(
      ApprovalMismatchError,
    );
    await expect(alice.removePrincipal("carl", { approvalId: id })).rejects.toThrow(ApprovalMismatchError);
    await expect(alice.setPrincipalRoles("carl", ["reader"], { approvalId: id })).rejects.toThrow(
      ApprovalMismatchError,
    );
    expect(await names()).toEqual(["alice", "sam", "carl"]);
  });

  it("giving yourself a role needs approval like any other change; without the role you cannot ask", async () => {
    await addApproved("alice", "sam", "carl", ["contributor"]);
    await expect((await as("carl")).setPrincipalRoles("carl", ["security-admin"])).rejects.toThrow(
      /needs the security-admin role/,
    );
    const alice = await as("alice");
    const id = await requestOf(alice.setPrincipalRoles("alice", ["security-admin", "contributor"]));
    expect((await owner.listPrincipals())[0]?.roles).toEqual(["security-admin"]);
    await (await as("sam")).approve(id);
    expect(
      (await alice.setPrincipalRoles("alice", ["security-admin", "contributor"], { approvalId: id })).roles,
    ).toEqual(["contributor", "security-admin"]);
  });

  it("a removed and re-added name reuses no approval, neither its own nor one about the old principal", async () => {
    await addApproved("alice", "sam", "bob", ["security-admin"]);
    const bobs = await requestOf((await as("bob")).setSoftDelete({ enabled: false }));
    await (await as("sam")).approve(bobs);
    // Two approved removals of bob: one is used, the other kept for later.
    const kept = await requestOf((await as("alice")).removePrincipal("bob"));
    await (await as("sam")).approve(kept);
    const used = await requestOf((await as("sam")).removePrincipal("bob"));
    await (await as("alice")).approve(used);
    await (await as("sam")).removePrincipal("bob", { approvalId: used });
    await addApproved("alice", "sam", "bob", ["security-admin"]);
    await expect((await as("bob")).setSoftDelete({ enabled: false }, { approvalId: bobs })).rejects.toThrow(
      /no longer a principal/,
    );
    await expect((await as("alice")).removePrincipal("bob", { approvalId: kept })).rejects.toThrow(
      ApprovalMismatchError,
    );
    expect(await names()).toEqual(["alice", "sam", "bob"]);
    expect((await owner.settings()).softDeleteEnabled).toBe(true);
  });

  it("an approver that got its role after the request was made does not count", async () => {
    await addApproved("alice", "sam", "rita", ["reader"]);
    const request = await requestOf((await as("alice")).setSoftDelete({ enabled: false }));
    const promote = await requestOf((await as("sam")).setPrincipalRoles("rita", ["security-admin"]));
    await (await as("alice")).approve(promote);
    await (await as("sam")).setPrincipalRoles("rita", ["security-admin"], { approvalId: promote });
    await expect((await as("rita")).approve(request)).rejects.toThrow(/got its roles after the request/);
  });

  it("the owner adds the first principals only, with a security admin among them", async () => {
    await expect(owner.addPrincipal("eve", ["security-admin"])).rejects.toThrow(/owner no longer acts alone/);
    await expect(owner.bootstrapPrincipals([{ name: "eve", roles: ["reader"] }])).rejects.toThrow(
      ValidationError,
    );
    await expect(owner.removePrincipal("sam")).rejects.toThrow(AccessDeniedError);
    expect(await names()).toEqual(["alice", "sam"]);
  });
});

describe("the audit log of principal changes", () => {
  it("records who, what, which principal and roles, refusals as refused, and never a token", async () => {
    await addApproved("alice", "sam", "bob", ["security-admin"]);
    const request = await requestOf((await as("alice")).setSoftDelete({ enabled: false }));
    await (await as("bob")).approve(request).catch(() => undefined);
    await (await as("alice")).removePrincipal("bob", { approvalId: request }).catch(() => undefined);
    const log = await owner.listAudit();
    const principalOps = log.filter(
      (e) => e.action.startsWith("principal.") || e.action === "approval.approve",
    );
    expect(principalOps.map((e) => [e.principal, e.action, e.target, e.outcome, e.detail?.roles])).toEqual([
      ["owner", "principal.add", "alice,sam", "succeeded", "alice=security-admin,sam=security-admin"],
      ["alice", "principal.add", "bob", "refused", "security-admin"],
      ["sam", "approval.approve", expect.any(String), "succeeded", undefined],
      ["alice", "principal.add", "bob", "succeeded", "security-admin"],
      ["bob", "approval.approve", request, "refused", undefined],
      ["alice", "principal.remove", "bob", "refused", "security-admin"],
    ]);
    const text = JSON.stringify(log);
    for (const token of tokens.values()) expect(text).not.toContain(token);
  });
});
