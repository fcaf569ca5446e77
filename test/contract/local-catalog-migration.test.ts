import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import {
  SCHEMA_V2,
  SCHEMA_V3,
  SCHEMA_V4,
  SCHEMA_V5,
  SCHEMA_V6,
  SCHEMA_V7,
  SCHEMA_VERSION,
} from "../../lib/adapters/local/sqlite-schema.ts";
import { BlockvaultError } from "../../lib/errors.ts";
import { defaultSettings } from "../../lib/model.ts";
import { useCatalogFile } from "../helpers/catalog-file.ts";
import { disk, job, point, vault } from "./catalog-records.ts";
import { policy, settings } from "./catalog-rules.contract.ts";
import { SCHEMA_V1_AS_RELEASED } from "./catalog-schema-v1.ts";
import { CURRENT_TABLES } from "./catalog-schema-v2.ts";
import { vm, vmPoint } from "./catalog-vms.contract.ts";

/** Rows of vault `v1` as a version-1 catalog held them. */
const V1_ROWS = `
INSERT INTO vaults VALUES ('v1', 'main', 1700000000000, 1048576);
INSERT INTO disks VALUES ('v1', 'd1', 1700000000000, 4096, '/dev/vdb', 'daily');
INSERT INTO recovery_points VALUES (NULL, 'v1', 'p1', 'd1', 1700000100000, NULL, 'crash-consistent',
  4096, 123456, 'manifest-p1', 'vault', 'available', 'snap-1', NULL);
INSERT INTO jobs VALUES (NULL, 'v1', 'j1', 'backup', 'running', NULL, NULL, 1700000200000, NULL,
  0, 0, 0, 1, NULL, '{"slot":3}');
`;

/** The records {@link V1_ROWS} hold. */
const v1Disk = disk({ size: 4096, policy: "daily" });
const v1Point = point("p1", { logicalSize: 4096, sourceRef: "snap-1" });
const v1Job = job("j1", { detail: { slot: 3 } });

/** Writes a version-1 catalog at `file` the way the first release left it, plus `extra` SQL. */
function writeV1Catalog(file: string, extra = ""): void {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`BEGIN; ${SCHEMA_V1_AS_RELEASED} PRAGMA user_version = 1; ${V1_ROWS} ${extra} COMMIT;`);
  } finally {
    db.close();
  }
}

/** The schema version and table names of the catalog at `file`, read without migrating it. */
function inspect(file: string): { version: unknown; tables: unknown[] } {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const version = db.prepare("PRAGMA user_version").get()?.user_version;
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map((row) => row.name);
    return { version, tables };
  } finally {
    db.close();
  }
}

describe("SqliteCatalog schema migration", () => {
  const { file: dbFile, catalogAt } = useCatalogFile("catalog-migration");

  it("creates a fresh catalog at the current schema version, with every table", () => {
    catalogAt();
    expect(SCHEMA_VERSION).toBe(8);
    expect(inspect(dbFile())).toStrictEqual({
      version: 8,
      tables: CURRENT_TABLES,
    });
  });

  it("opens a version-1 catalog: keeps its records and gains policies and settings", async () => {
    writeV1Catalog(dbFile());
    expect(inspect(dbFile()).version).toBe(1);
    const first = catalogAt();
    expect(inspect(dbFile()).version).toBe(SCHEMA_VERSION);
    expect(await first.getVault("v1")).toStrictEqual(vault());
    expect(await first.getDisk("v1", "d1")).toStrictEqual(v1Disk);
    expect(await first.getRecoveryPoint("v1", "p1")).toStrictEqual(v1Point);
    expect(await first.getJob("v1", "j1")).toStrictEqual(v1Job);
    expect(await first.getSettings("v1")).toStrictEqual(defaultSettings("v1"));
    expect(await first.listPolicies("v1")).toStrictEqual([]);

    await first.putPolicy(policy("daily"), null);
    await first.putSettings(settings(1), 0);
    // The old tables still take writes, their AUTOINCREMENT order continuing.
    await first.commitRecoveryPoint(point("p2", { parent: "p1", created: v1Point.created }), "p1");
    await first.createJob(job("j2"));
    await first.close();

    const second = catalogAt();
    expect(await second.getPolicy("v1", "daily")).toStrictEqual(policy("daily"));
    expect(await second.getSettings("v1")).toStrictEqual(settings(1));
    expect((await second.latestRecoveryPoint("v1", "d1"))?.id).toBe("p2");
    expect((await second.listJobs("v1")).map((j) => j.id)).toStrictEqual(["j2", "j1"]);
    expect(inspect(dbFile()).version).toBe(SCHEMA_VERSION);
  });

  it("opens a version-6 catalog: its settings keep their values and allow no restore directory", async () => {
    const upToV6 = [SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6].join("\n");
    writeV1Catalog(
      dbFile(),
      `${upToV6} INSERT INTO settings VALUES ('v1', 30, 1, 0, 'enabled', 3); PRAGMA user_version = 6;`,
    );
    expect(inspect(dbFile()).version).toBe(6);
    const catalog = catalogAt();
    expect(inspect(dbFile()).version).toBe(SCHEMA_VERSION);
    expect(await catalog.getSettings("v1")).toStrictEqual({
      ...defaultSettings("v1"),
      softDeleteDays: 30,
      lock: "enabled",
      version: 3,
    });
    await catalog.putSettings(settings(4), 3);
    expect((await catalog.getSettings("v1")).restoreDirectories).toEqual(settings(4).restoreDirectories);
  });

  it("opens a version-7 catalog: its points stay, and it gains VMs and VM points", async () => {
    const upToV7 = [SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7].join("\n");
    writeV1Catalog(dbFile(), `${upToV7} PRAGMA user_version = 7;`);
    expect(inspect(dbFile()).version).toBe(7);
    const catalog = catalogAt();
    expect(inspect(dbFile())).toStrictEqual({ version: SCHEMA_VERSION, tables: CURRENT_TABLES });
    expect(await catalog.getRecoveryPoint("v1", "p1")).toStrictEqual(v1Point);
    await catalog.putVm(vm());
    expect(await catalog.getVm("v1", "web")).toStrictEqual(vm());
    const disks = ["a1", "b1"].map((id, i) => ({
      point: point(id, { disk: `web.disk${i}` }),
      expectedParent: null,
    }));
    await catalog.commitVmPoint(vmPoint("vp1", ["a1", "b1"]), disks);
    expect(await catalog.getVmPoint("v1", "vp1")).toStrictEqual(vmPoint("vp1", ["a1", "b1"]));
    // The old points' commit order goes on after the VM point's disk points.
    expect((await catalog.listRecoveryPoints("v1")).map((p) => p.id)).toStrictEqual(["b1", "a1", "p1"]);
  });

  it("leaves a version-1 catalog as it was when its migration fails", async () => {
    // A stray table named `settings` fails the step halfway, after it created `policies`.
    writeV1Catalog(dbFile(), "CREATE TABLE settings (x TEXT);");
    expect(() => catalogAt()).toThrow(BlockvaultError);
    expect(inspect(dbFile())).toStrictEqual({
      version: 1,
      tables: ["disks", "jobs", "recovery_points", "settings", "vaults"],
    });
  });
});
