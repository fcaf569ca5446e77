import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../../lib/errors.ts";
import { type PrincipalStore, type StoredPrincipal, tokenDigest } from "../../lib/ports/principals.ts";

/** What a contract run needs: an empty principal store of a vault that exists, and a cleanup. */
export interface PrincipalStoreFixture {
  readonly store: PrincipalStore;
  /** A principal name the store accepts (a plain name, or an ARN on AWS); `i` makes it unique. */
  readonly name: (i: number) => string;
  cleanup(): Promise<void>;
}

/** The {@link PrincipalStore} contract, clause by clause. */
export function describePrincipalStoreContract(
  name: string,
  make: () => Promise<PrincipalStoreFixture>,
): void {
  describe(`PrincipalStore contract: ${name}`, () => {
    let fx: PrincipalStoreFixture;
    let store: PrincipalStore;
    beforeEach(async () => {
      fx = await make();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    const principal = (i: number, over: Partial<StoredPrincipal> = {}): StoredPrincipal => ({
      name: fx.name(i),
      roles: ["reader"],
      created: 1_000 + i,
      createdBy: "owner",
      rolesSince: 1_000 + i,
      lineage: [],
      ...over,
    });
    const moved = (p: Promise<unknown>) =>
      expect(p).rejects.toSatisfy((e: unknown) => e instanceof ConflictError && e.retryable === true);

    it("starts empty at revision 0; each change adds one to the revision", async () => {
      expect(await store.list()).toEqual({ revision: 0, principals: [] });
      expect(await store.add([principal(1), principal(2)], 0)).toBe(1);
      expect(await store.add([principal(3, { approvedBy: fx.name(1), lineage: [fx.name(2)] })], 1)).toBe(2);
      const { revision, principals } = await store.list();
      expect(revision).toBe(2);
      expect(principals).toEqual([
        principal(1),
        principal(2),
        principal(3, { approvedBy: fx.name(1), lineage: [fx.name(2)] }),
      ]);
      expect(await store.remove(fx.name(2), 2)).toBe(3);
      expect((await store.list()).principals.map((p) => p.name)).toEqual([fx.name(1), fx.name(3)]);
    });

    it("adds create-only, all or nothing", async () => {
      await store.add([principal(1)], 0);
      await expect(store.add([principal(2), principal(1)], 1)).rejects.toThrow(AlreadyExistsError);
      await expect(store.add([principal(2), principal(2)], 1)).rejects.toThrow(AlreadyExistsError);
      expect(await store.list()).toEqual({ revision: 1, principals: [principal(1)] });
    });

    it("refuses a change decided on a revision that moved, as a retryable conflict, writing nothing", async () => {
      await store.add([principal(1)], 0);
      await moved(store.add([principal(2)], 0));
      await moved(store.remove(fx.name(1), 0));
      await moved(store.setRoles(fx.name(1), { roles: ["operator"], rolesSince: 5, lineage: [] }, 7));
      expect(await store.list()).toEqual({ revision: 1, principals: [principal(1)] });
    });

    it("of two changes decided on one revision, exactly one lands", async () => {
      await store.add([principal(1)], 0);
      const results = await Promise.allSettled([store.add([principal(2)], 1), store.add([principal(3)], 1)]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const { revision, principals } = await store.list();
      expect(revision).toBe(2);
      expect(principals).toHaveLength(2);
    });

    it("changes roles, replacing the approver; unknown names are NotFoundError", async () => {
      await store.add([principal(1, { approvedBy: "x" })], 0);
      const change = { roles: ["security-admin" as const], rolesSince: 9, lineage: [fx.name(4)] };
      expect(await store.setRoles(fx.name(1), change, 1)).toEqual(principal(1, change));
      expect((await store.list()).principals).toEqual([principal(1, change)]);
      await expect(store.setRoles(fx.name(9), change, 2)).rejects.toThrow(NotFoundError);
      await expect(store.remove(fx.name(9), 2)).rejects.toThrow(NotFoundError);
      expect((await store.list()).revision).toBe(2);
    });

    it("finds a principal by its token, never lists a token digest, and knows no other token", async () => {
      await store.add([principal(1, { tokenSha256: tokenDigest("bv_one") }), principal(2)], 0);
      expect(await store.getByToken("bv_one")).toEqual(principal(1));
      expect(await store.getByToken("bv_two")).toBeUndefined();
      expect(JSON.stringify(await store.list())).not.toContain(tokenDigest("bv_one"));
      await store.setRoles(fx.name(1), { roles: ["operator"], rolesSince: 3, lineage: [] }, 1);
      expect((await store.getByToken("bv_one"))?.roles).toEqual(["operator"]);
      await store.remove(fx.name(1), 2);
      expect(await store.getByToken("bv_one")).toBeUndefined();
    });
  });
}
