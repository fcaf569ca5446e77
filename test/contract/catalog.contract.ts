import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, NotFoundError } from "../../lib/errors.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { describeApprovalClauses } from "./catalog-approvals.contract.ts";
import { describeAuditClauses } from "./catalog-audit.contract.ts";
import { describeJobClauses } from "./catalog-jobs.contract.ts";
import { describePointClauses } from "./catalog-points.contract.ts";
import { disk, vault } from "./catalog-records.ts";
import { describeRuleClauses } from "./catalog-rules.contract.ts";
import { describeVmClauses } from "./catalog-vms.contract.ts";

/** What a contract run needs: a fresh, empty catalog and a way to dispose of it. */
export interface CatalogFixture {
  readonly catalog: Catalog;
  /** Disposes of the catalog; must also work after the test closed it. */
  cleanup(): Promise<void>;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The {@link Catalog} contract, clause by clause, against the catalog `makeCatalog` returns. Each
 * test gets a fresh, empty catalog and creates the vaults it uses first.
 */
export function describeCatalogContract(name: string, makeCatalog: () => Promise<CatalogFixture>): void {
  describe(`Catalog contract: ${name}`, () => {
    let fixture: CatalogFixture;
    let catalog: Catalog;
    beforeEach(async () => {
      fixture = await makeCatalog();
      catalog = fixture.catalog;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });
    const current = () => catalog;

    describe("vaults", () => {
      it("round-trips a vault", async () => {
        await catalog.createVault(vault());
        expect(await catalog.getVault("v1")).toStrictEqual(vault());
      });

      it("rejects a duplicate id with AlreadyExistsError and keeps the original", async () => {
        await catalog.createVault(vault());
        await expect(
          catalog.createVault(vault({ name: "impostor", blockSize: 4096 })),
        ).rejects.toBeInstanceOf(AlreadyExistsError);
        expect(await catalog.getVault("v1")).toStrictEqual(vault());
      });

      it("rejects a missing vault with NotFoundError naming it", async () => {
        const err = await catalog.getVault("ghost").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("ghost");
      });
    });

    describe("disks", () => {
      beforeEach(async () => {
        await catalog.createVault(vault());
        await catalog.createVault(vault({ id: "v2", name: "other" }));
      });

      it("round-trips a disk, leaving an absent policy absent", async () => {
        await catalog.putDisk(disk());
        const got = await catalog.getDisk("v1", "d1");
        expect(got).toStrictEqual(disk());
        expect("policy" in got).toBe(false);
      });

      it("round-trips a disk with a policy", async () => {
        await catalog.putDisk(disk({ policy: "daily-30" }));
        expect(await catalog.getDisk("v1", "d1")).toStrictEqual(disk({ policy: "daily-30" }));
      });

      it("putDisk creates or replaces the whole record", async () => {
        await catalog.putDisk(disk({ policy: "daily-30" }));
        const replacement = disk({ size: 16 << 30, source: "s3://bucket/image.raw", created: 42 });
        await catalog.putDisk(replacement);
        expect(await catalog.getDisk("v1", "d1")).toStrictEqual(replacement);
      });

      it("rejects a missing disk with NotFoundError naming it", async () => {
        const err = await catalog.getDisk("v1", "nodisk").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain("nodisk");
        await catalog.putDisk(disk());
        await expect(catalog.getDisk("v2", "d1")).rejects.toBeInstanceOf(NotFoundError);
      });

      it("lists the disks of one vault only", async () => {
        await catalog.putDisk(disk({ name: "b" }));
        await catalog.putDisk(disk({ name: "a", policy: "weekly" }));
        await catalog.putDisk(disk({ vaultId: "v2", name: "c" }));
        expect((await catalog.listDisks("v1")).sort(byName)).toStrictEqual([
          disk({ name: "a", policy: "weekly" }),
          disk({ name: "b" }),
        ]);
        expect(await catalog.listDisks("v2")).toStrictEqual([disk({ vaultId: "v2", name: "c" })]);
      });

      it("lists no disks for a vault without any", async () => {
        expect(await catalog.listDisks("v1")).toStrictEqual([]);
      });

      it("scopes disk names to their vault", async () => {
        await catalog.putDisk(disk({ source: "one" }));
        await catalog.putDisk(disk({ vaultId: "v2", source: "two" }));
        expect((await catalog.getDisk("v1", "d1")).source).toBe("one");
        expect((await catalog.getDisk("v2", "d1")).source).toBe("two");
      });
    });

    describePointClauses(current);
    describeJobClauses(current);
    describeRuleClauses(current);
    describeApprovalClauses(current);
    describeAuditClauses(current);
    describeVmClauses(current);
  });
}
