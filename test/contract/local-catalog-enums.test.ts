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
      const where = record === "settings" ? "vault_id = ?" : "vault_id = ? AND id = ?";
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
