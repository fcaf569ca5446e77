import { afterEach, beforeEach } from "vitest";
import { openSqliteCatalog, type SqliteCatalog } from "../../lib/adapters/local/sqlite-catalog.ts";
import { removeDir, tempDir } from "./temp-dir.ts";

/** A catalog database file that exists for one test, and the catalogs opened on it. */
export interface CatalogFile {
  /** Path of this test's database file. */
  readonly file: () => string;
  /** Opens a catalog on the file; it is closed after the test. */
  readonly catalogAt: () => SqliteCatalog;
}

/**
 * Registers hooks giving every test of the enclosing `describe` a fresh temp directory with a
 * database path in it, and closing every catalog opened there afterwards.
 */
export function useCatalogFile(prefix: string): CatalogFile {
  let dir = "";
  const open: SqliteCatalog[] = [];
  beforeEach(async () => {
    dir = await tempDir(prefix);
  });
  afterEach(async () => {
    for (const catalog of open.splice(0)) await catalog.close();
    await removeDir(dir);
  });
  const file = () => `${dir}/catalog.db`;
  return {
    file,
    catalogAt: () => {
      const catalog = openSqliteCatalog(file());
      open.push(catalog);
      return catalog;
    },
  };
}
