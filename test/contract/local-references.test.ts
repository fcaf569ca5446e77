import { openSqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { vault } from "./catalog-records.ts";
import { describeReferenceStoreContract } from "./references.contract.ts";

describeReferenceStoreContract("SqliteReferenceStore", async () => {
  const catalog = openSqliteCatalog(":memory:");
  await catalog.createVault(vault());
  return { refs: catalog.references(), vaultId: "v1", cleanup: () => catalog.close() };
});
