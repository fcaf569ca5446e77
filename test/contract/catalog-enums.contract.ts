import { expect, it } from "vitest";
import { IntegrityError } from "../../lib/errors.ts";
import type { Catalog } from "../../lib/ports/catalog.ts";
import { approval } from "./catalog-approvals.contract.ts";
import { auditEntry } from "./catalog-audit.contract.ts";
import { disk, job, point, vault } from "./catalog-records.ts";
import { settings } from "./catalog-rules.contract.ts";

/** A record kind whose enum fields a test corrupts in storage. */
export type EnumRecord = "point" | "job" | "settings" | "approval" | "audit";

/**
 * Writes `value` into the stored `field` of a record behind the catalog's back (as a hand edit or
 * a foreign writer would), bypassing the catalog's own write checks. `id` is empty for settings,
 * and an audit entry's sequence number for an audit entry.
 */
export type CorruptField = (
  vaultId: string,
  record: EnumRecord,
  id: string,
  field: string,
  value: string,
) => Promise<void>;

/** Each corrupted field, the record holding it, and how reading it back is attempted. */
const CASES: [EnumRecord, string, string, (c: Catalog, v: string) => Promise<unknown>[]][] = [
  ["point", "p1", "tier", (c, v) => [c.getRecoveryPoint(v, "p1"), c.listRecoveryPoints(v)]],
  ["point", "p1", "state", (c, v) => [c.getRecoveryPoint(v, "p1"), c.listRecoveryPoints(v, "d1")]],
  ["point", "p1", "consistency", (c, v) => [c.getRecoveryPoint(v, "p1")]],
  ["job", "j1", "type", (c, v) => [c.getJob(v, "j1"), c.listJobs(v)]],
  ["job", "j1", "status", (c, v) => [c.getJob(v, "j1"), c.listJobs(v)]],
  ["settings", "", "lock", (c, v) => [c.getSettings(v)]],
  ["approval", "a1", "state", (c, v) => [c.getApproval(v, "a1"), c.listApprovals(v)]],
  ["audit", "1", "outcome", (c, v) => [c.listAudit(v)]],
];

/**
 * A catalog reading back a tier, state, consistency, job type or status, lock or approval state
 * or audit outcome
 * it does not know refuses it with an IntegrityError naming the record, the field and the value:
 * the vault rules compare these strings, and an unknown one must not pass for a known one.
 */
export function describeEnumRefusals(
  catalog: () => Catalog,
  corrupt: CorruptField,
  newVaultId: () => string,
): void {
  for (const [record, id, field, read] of CASES) {
    it(`refuses a stored ${record} ${field} it does not know`, async () => {
      const c = catalog();
      const vaultId = newVaultId();
      await c.createVault(vault({ id: vaultId }));
      await c.putDisk(disk({ vaultId }));
      await c.commitRecoveryPoint(point("p1", { vaultId }), null);
      await c.createJob(job("j1", { vaultId }));
      await c.putSettings(settings(1, { vaultId }), 0);
      await c.createApproval(approval("a1", { vaultId }));
      await c.appendAudit(auditEntry({ vaultId }));
      await corrupt(vaultId, record, id, field, "bogus-value");
      // Every reading gets its handler at once: they run concurrently, and one that rejects while
      // an earlier one is awaited must not count as an unhandled rejection.
      const outcomes = read(c, vaultId).map((reading) =>
        reading.then(
          () => new Error("read back without complaint"),
          (e: unknown) => e,
        ),
      );
      for (const outcome of outcomes) {
        const err = await outcome;
        expect(err, `${record} ${field}`).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toMatch(
          new RegExp(`${record === "settings" ? "settings" : id}\\b.*: ${field} "bogus-value" is not one of`),
        );
      }
    });
  }
}
