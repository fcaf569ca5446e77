import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../../lib/errors.ts";
import { type ApprovalRecord, ApprovalState } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { vault } from "./catalog-records.ts";

/** A pending request `id` by alice in vault `v1` to delete point p1 early; no approval yet. */
export function approval(id: string, over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    vaultId: "v1",
    id,
    operation: "point.delete-early",
    target: "p1",
    paramsDigest: `sha256-${id}`,
    requester: "alice",
    created: 1_700_000_400_000,
    expires: 1_700_086_800_000,
    state: ApprovalState.Pending,
    ...over,
  };
}

/** The approval of a request: what a security admin's approval changes. */
const APPROVE = { state: ApprovalState.Approved, approver: "bob", approved: 1_700_000_500_000 };

const ids = (approvals: readonly ApprovalRecord[]) => approvals.map((a) => a.id);

/**
 * The approval-request clauses of the Catalog contract; part of `describeCatalogContract`.
 * `current` returns the catalog of the running test.
 */
export function describeApprovalClauses(current: () => Catalog): void {
  describe("approval requests", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
    });

    it("creates a request and round-trips it", async () => {
      await catalog.createApproval(approval("a1"));
      expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1"));
    });

    it("rejects a duplicate id with AlreadyExistsError and keeps the original", async () => {
      await catalog.createApproval(approval("a1"));
      const impostor = approval("a1", { requester: "mallory", paramsDigest: "other", ...APPROVE });
      await expect(catalog.createApproval(impostor)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1"));
      expect(await catalog.listApprovals("v1")).toStrictEqual([approval("a1")]);
    });

    it("rejects a missing request with NotFoundError naming it", async () => {
      await catalog.createApproval(approval("a1"));
      const err = await catalog.getApproval("v1", "noapproval").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("noapproval");
      await expect(catalog.getApproval("v2", "a1")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("round-trips optional fields: absent stays absent, given ones intact", async () => {
      const { target: _, ...bare } = approval("bare");
      const full = approval("full", { ...APPROVE, state: ApprovalState.Used, used: 1_700_000_600_000 });
      await catalog.createApproval(bare);
      await catalog.createApproval(full);
      // Given as undefined: read back absent too.
      await catalog.createApproval(approval("undef", { created: 1, target: undefined, used: undefined }));
      const got = await catalog.getApproval("v1", "bare");
      expect(got).toStrictEqual(bare);
      for (const field of ["target", "approver", "approved", "used"]) expect(field in got, field).toBe(false);
      expect(await catalog.getApproval("v1", "full")).toStrictEqual(full);
      const listed = await catalog.listApprovals("v1");
      expect(listed).toStrictEqual([
        full,
        bare,
        { ...bare, id: "undef", paramsDigest: "sha256-undef", created: 1 },
      ]);
      expect("target" in listed[2]!).toBe(false);
      expect("used" in listed[2]!).toBe(false);
    });

    it("lists a vault's requests newest first, equal times by commit order, filtered by state", async () => {
      const t = 1_700_000_400_000;
      await catalog.createApproval(approval("old", { created: t - 1000 }));
      await catalog.createApproval(approval("tie-1", { created: t }));
      await catalog.createApproval(approval("new", { created: t + 1000, ...APPROVE }));
      await catalog.createApproval(approval("tie-2", { created: t }));
      await catalog.createApproval(approval("oldest", { created: t - 2000, state: ApprovalState.Used }));
      expect(ids(await catalog.listApprovals("v1"))).toStrictEqual([
        "new",
        "tie-2",
        "tie-1",
        "old",
        "oldest",
      ]);
      expect(ids(await catalog.listApprovals("v1", {}))).toStrictEqual([
        "new",
        "tie-2",
        "tie-1",
        "old",
        "oldest",
      ]);
      const pending = await catalog.listApprovals("v1", { state: ApprovalState.Pending });
      expect(ids(pending)).toStrictEqual(["tie-2", "tie-1", "old"]);
      expect(await catalog.listApprovals("v1", { state: ApprovalState.Approved })).toStrictEqual([
        approval("new", { created: t + 1000, ...APPROVE }),
      ]);
      expect(ids(await catalog.listApprovals("v1", { state: ApprovalState.Used }))).toStrictEqual(["oldest"]);
    });

    it("scopes requests to their vault", async () => {
      await catalog.createApproval(approval("a1"));
      await catalog.createApproval(approval("a1", { vaultId: "v2", requester: "carol" }));
      await catalog.createApproval(approval("a2", { vaultId: "v2" }));
      expect((await catalog.getApproval("v1", "a1")).requester).toBe("alice");
      expect((await catalog.getApproval("v2", "a1")).requester).toBe("carol");
      await catalog.updateApproval("v2", "a1", APPROVE, ApprovalState.Pending);
      expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1"));
      expect(await catalog.listApprovals("v1")).toStrictEqual([approval("a1")]);
      expect((await catalog.listApprovals("v2")).map((a) => [a.id, a.state]).sort()).toStrictEqual([
        ["a1", ApprovalState.Approved],
        ["a2", ApprovalState.Pending],
      ]);
      expect(await catalog.listApprovals("ghost")).toStrictEqual([]);
    });

    describe("updateApproval", () => {
      it("applies the changes when the state is the expected one, and returns the result", async () => {
        await catalog.createApproval(approval("a1"));
        const approved = await catalog.updateApproval("v1", "a1", APPROVE, ApprovalState.Pending);
        expect(approved).toStrictEqual(approval("a1", APPROVE));
        expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approved);
        const used = { state: ApprovalState.Used, used: 1_700_000_600_000 };
        const done = await catalog.updateApproval("v1", "a1", used, ApprovalState.Approved);
        expect(done).toStrictEqual(approval("a1", { ...APPROVE, ...used }));
        expect(await catalog.getApproval("v1", "a1")).toStrictEqual(done);
      });

      it("clears an optional field given as undefined, like object spread", async () => {
        await catalog.createApproval(approval("a1", APPROVE));
        const back = { state: ApprovalState.Pending, approver: undefined, approved: undefined };
        const updated = await catalog.updateApproval("v1", "a1", back, ApprovalState.Approved);
        expect(updated).toStrictEqual(approval("a1"));
        const got = await catalog.getApproval("v1", "a1");
        expect(got).toStrictEqual(approval("a1"));
        expect("approver" in got).toBe(false);
        expect("approved" in got).toBe(false);
      });

      it("rejects a state other than the expected one with ConflictError, writing nothing", async () => {
        await catalog.createApproval(approval("a1"));
        const use = { state: ApprovalState.Used, used: 1_700_000_600_000 };
        await expect(catalog.updateApproval("v1", "a1", use, ApprovalState.Approved)).rejects.toBeInstanceOf(
          ConflictError,
        );
        await catalog.updateApproval("v1", "a1", APPROVE, ApprovalState.Pending);
        // A second approver that also read it pending.
        const late = { ...APPROVE, approver: "carol", approved: 1_700_000_550_000 };
        await expect(catalog.updateApproval("v1", "a1", late, ApprovalState.Pending)).rejects.toBeInstanceOf(
          ConflictError,
        );
        expect(await catalog.getApproval("v1", "a1")).toStrictEqual(approval("a1", APPROVE));
      });

      it("rejects a missing request with NotFoundError naming it, creating nothing", async () => {
        await catalog.createApproval(approval("a1"));
        const err = await catalog
          .updateApproval("v1", "noapproval", APPROVE, ApprovalState.Pending)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("noapproval");
        await expect(
          catalog.updateApproval("v2", "a1", APPROVE, ApprovalState.Pending),
        ).rejects.toBeInstanceOf(NotFoundError);
        expect(await catalog.listApprovals("v2")).toStrictEqual([]);
        expect(await catalog.listApprovals("v1")).toStrictEqual([approval("a1")]);
      });
    });
  });
}
