import { DatabaseSync } from "node:sqlite";
import { describe } from "vitest";
import type { SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { useCatalogFile } from "../helpers/catalog-file.ts";
import { type CorruptField, describeEnumRefusals } from "./catalog-enums.contract.ts";

const TABLES = {
  point: "recovery_points",
  job: "jobs",
  settings: "settings",
  approval: "approvals",
  audit: "audit",
} as const;

describe("SqliteCatalog refuses enum values it does not know", () => {
  const files = useCatalogFile("catalog-enums");
  let catalog: SqliteCatalog | undefined;
  let vaults = 0;
  // Another connection, with CHECK constraints off: what a hand edit of the file can do.
  const corrupt: CorruptField = async (vaultId, record, id, field, value) => {
    const db = new DatabaseSync(files.file());
    try {
      db.exec("PRAGMA ignore_check_constraints = ON");
      // The audit log's append-only triggers stop the catalog, not someone editing the file.
      const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?");
      for (const t of triggers.all(TABLES[record])) db.exec(`DROP TRIGGER "${String(t.name)}"`);
      const key = record === "audit" ? "seq" : "id";
      const where = record === "settings" ? "vault_id = ?" : `vault_id = ? AND ${key} = ?`;
      const keys = record === "settings" ? [vaultId] : [vaultId, id];
      const changed = db
        .prepare(`UPDATE ${TABLES[record]} SET ${field} = ? WHERE ${where}`)
        .run(value, ...keys);
      if (changed.changes !== 1) throw new Error(`no ${record} ${id} to corrupt`);
    } finally {
      db.close();
    }
  };
  describeEnumRefusals(
    () => {
      catalog = files.catalogAt();
      return catalog;
    },
    corrupt,
    () => `v${++vaults}`,
  );
});
