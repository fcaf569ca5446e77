import { beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../lib/errors.ts";
import { type AuditEntry, AuditOutcome } from "../../lib/model.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { vault } from "./catalog-records.ts";

type NewEntry = Omit<AuditEntry, "seq">;

/** A succeeded `policy.create` by alice in vault `v1`; no target, no detail. */
export function auditEntry(over: Partial<NewEntry> = {}): NewEntry {
  return {
    vaultId: "v1",
    at: 1_700_000_300_000,
    principal: "alice",
    action: "policy.create",
    outcome: AuditOutcome.Succeeded,
    ...over,
  };
}

/** Appends `entries` in order, returning what the catalog returned. */
async function appendAll(catalog: Catalog, entries: readonly NewEntry[]): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (const entry of entries) out.push(await catalog.appendAudit(entry));
  return out;
}

const seqs = (entries: readonly AuditEntry[]) => entries.map((e) => e.seq);

/**
 * The audit-log clauses of the Catalog contract; part of `describeCatalogContract`. `current`
 * returns the catalog of the running test.
 */
export function describeAuditClauses(current: () => Catalog): void {
  describe("audit log", () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = current();
      await catalog.createVault(vault());
      await catalog.createVault(vault({ id: "v2", name: "other" }));
    });

    it("numbers a vault's entries 1, 2, 3 without gaps, returning each as listAudit does", async () => {
      const entries = [
        auditEntry(),
        auditEntry({ action: "point.delete", target: "p1", outcome: AuditOutcome.Refused }),
        auditEntry({ principal: "bob", outcome: AuditOutcome.Failed, detail: { error: "disk full" } }),
      ];
      const appended = await appendAll(catalog, entries);
      expect(appended).toStrictEqual(entries.map((e, i) => ({ ...e, seq: i + 1 })));
      expect(await catalog.listAudit("v1")).toStrictEqual(appended);
    });

    it("numbers each vault's log on its own", async () => {
      const vaults = ["v1", "v2", "v1", "v1", "v2"];
      const appended = await appendAll(
        catalog,
        vaults.map((vaultId, i) => auditEntry({ vaultId, at: 1_700_000_300_000 + i })),
      );
      expect(seqs(appended)).toStrictEqual([1, 1, 2, 3, 2]);
      expect(await catalog.listAudit("v1")).toStrictEqual([appended[0], appended[2], appended[3]]);
      expect(await catalog.listAudit("v2")).toStrictEqual([appended[1], appended[4]]);
    });

    it("round-trips optional fields: absent stays absent, target and detail intact", async () => {
      const detail = { reason: 'naïve ✓ "quoted"', days: 30, ratio: 0.25, forced: false, empty: "" };
      await catalog.appendAudit(auditEntry());
      await catalog.appendAudit(auditEntry({ target: "daily-30", detail }));
      const [bare, full] = await catalog.listAudit("v1");
      expect("target" in bare!).toBe(false);
      expect("detail" in bare!).toBe(false);
      expect(full).toStrictEqual({ ...auditEntry({ target: "daily-30", detail }), seq: 2 });
    });

    it("returns an entry exactly as listed: optional fields given as undefined are absent", async () => {
      const appended = await catalog.appendAudit(auditEntry({ target: undefined, detail: undefined }));
      expect(appended).toStrictEqual({ ...auditEntry(), seq: 1 });
      expect("target" in appended).toBe(false);
      expect("detail" in appended).toBe(false);
      expect(await catalog.listAudit("v1")).toStrictEqual([appended]);
    });

    it("assigns seq itself, ignoring one the caller passes", async () => {
      const forged = { ...auditEntry(), seq: 42 } as NewEntry;
      expect((await catalog.appendAudit(forged)).seq).toBe(1);
      expect((await catalog.appendAudit(forged)).seq).toBe(2);
      expect(seqs(await catalog.listAudit("v1"))).toStrictEqual([1, 2]);
    });

    it("records the same entry twice when appended twice", async () => {
      await catalog.appendAudit(auditEntry());
      await catalog.appendAudit(auditEntry());
      expect(await catalog.listAudit("v1")).toStrictEqual([
        { ...auditEntry(), seq: 1 },
        { ...auditEntry(), seq: 2 },
      ]);
    });

    it("orders by seq, not by time", async () => {
      const times = [300, 100, 200, 100];
      await appendAll(
        catalog,
        times.map((at) => auditEntry({ at })),
      );
      const listed = await catalog.listAudit("v1");
      expect(listed.map((e) => e.at)).toStrictEqual(times);
      expect(seqs(listed)).toStrictEqual([1, 2, 3, 4]);
    });

    it("filters by principal and by action, combined with AND", async () => {
      await appendAll(catalog, [
        auditEntry({ principal: "alice", action: "policy.create" }),
        auditEntry({ principal: "bob", action: "policy.create" }),
        auditEntry({ principal: "alice", action: "point.delete" }),
        auditEntry({ principal: "alice", action: "policy.create" }),
        auditEntry({ vaultId: "v2", principal: "alice", action: "policy.create" }),
      ]);
      expect(seqs(await catalog.listAudit("v1", { principal: "alice" }))).toStrictEqual([1, 3, 4]);
      expect(seqs(await catalog.listAudit("v1", { action: "policy.create" }))).toStrictEqual([1, 2, 4]);
      const both = await catalog.listAudit("v1", { principal: "alice", action: "policy.create" });
      expect(seqs(both)).toStrictEqual([1, 4]);
      expect(both.every((e) => e.vaultId === "v1")).toBe(true);
      // Exact matches: no prefixes, no case folding.
      expect(await catalog.listAudit("v1", { principal: "Alice" })).toStrictEqual([]);
      expect(await catalog.listAudit("v1", { action: "policy" })).toStrictEqual([]);
    });

    it("keeps the first `limit` entries after `afterSeq`, so a log can be read in pages", async () => {
      const appended = await appendAll(
        catalog,
        [1, 2, 3, 4, 5].map((i) => auditEntry({ principal: i % 2 === 0 ? "bob" : "alice" })),
      );
      expect(await catalog.listAudit("v1", { limit: 2 })).toStrictEqual(appended.slice(0, 2));
      expect(await catalog.listAudit("v1", { afterSeq: 2, limit: 2 })).toStrictEqual(appended.slice(2, 4));
      expect(await catalog.listAudit("v1", { afterSeq: 3 })).toStrictEqual(appended.slice(3));
      expect(await catalog.listAudit("v1", { afterSeq: 0 })).toStrictEqual(appended);
      expect(await catalog.listAudit("v1", { limit: 0 })).toStrictEqual([]);
      expect(await catalog.listAudit("v1", { limit: 9 })).toStrictEqual(appended);
      expect(await catalog.listAudit("v1", { afterSeq: 5 })).toStrictEqual([]);
      expect(await catalog.listAudit("v1", { afterSeq: 99 })).toStrictEqual([]);
      // With a filter, the limit counts matching entries and afterSeq is still a seq.
      expect(seqs(await catalog.listAudit("v1", { principal: "alice", limit: 2 }))).toStrictEqual([1, 3]);
      expect(seqs(await catalog.listAudit("v1", { principal: "alice", afterSeq: 3 }))).toStrictEqual([5]);
      expect(seqs(await catalog.listAudit("v1", { principal: "bob", afterSeq: 2, limit: 1 }))).toStrictEqual([
        4,
      ]);

      const pages: number[][] = [];
      for (let after = 0; ; ) {
        const page = await catalog.listAudit("v1", { afterSeq: after, limit: 2 });
        if (page.length === 0) break;
        pages.push(seqs(page));
        after = page.at(-1)!.seq;
      }
      expect(pages).toStrictEqual([[1, 2], [3, 4], [5]]);
    });

    it("rejects a limit or afterSeq that is no integer >= 0 with ValidationError", async () => {
      await catalog.appendAudit(auditEntry());
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2" as unknown as number]) {
        await expect(catalog.listAudit("v1", { limit: bad })).rejects.toBeInstanceOf(ValidationError);
        await expect(catalog.listAudit("v1", { afterSeq: bad })).rejects.toBeInstanceOf(ValidationError);
      }
    });

    it("rejects an append to a missing vault with NotFoundError naming it, using up no seq", async () => {
      const err = await catalog.appendAudit(auditEntry({ vaultId: "ghost" })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("ghost");
      expect(await catalog.listAudit("ghost")).toStrictEqual([]);
      expect((await catalog.appendAudit(auditEntry())).seq).toBe(1);
    });

    it("lists nothing for a vault without entries", async () => {
      await catalog.appendAudit(auditEntry());
      expect(await catalog.listAudit("v2")).toStrictEqual([]);
      expect(await catalog.listAudit("v2", { afterSeq: 0, limit: 5, principal: "alice" })).toStrictEqual([]);
    });

    it("hands out copies: changing an entry given or returned changes nothing stored", async () => {
      const given = { ...auditEntry({ target: "daily" }), detail: { days: 30 } };
      const returned = (await catalog.appendAudit(given)) as { -readonly [K in keyof AuditEntry]: unknown };
      given.detail.days = 1;
      returned.outcome = AuditOutcome.Refused;
      returned.detail = { days: 2 };
      const [listed] = (await catalog.listAudit("v1")) as { -readonly [K in keyof AuditEntry]: unknown }[];
      listed!.target = "weekly";
      expect(await catalog.listAudit("v1")).toStrictEqual([
        { ...auditEntry({ target: "daily" }), detail: { days: 30 }, seq: 1 },
      ]);
    });

    it("offers no method to change or remove an entry", () => {
      const methods = new Set<string>();
      for (let o: object | null = catalog; o !== null; o = Object.getPrototypeOf(o)) {
        for (const name of Object.getOwnPropertyNames(o)) methods.add(name);
      }
      expect([...methods].filter((name) => /audit/i.test(name)).sort()).toStrictEqual([
        "appendAudit",
        "listAudit",
      ]);
    });
  });
}
