import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { localVaultPaths } from "../../lib/compose/local.ts";

/** Everything a vault directory holds, comparable with `toEqual`. */
export interface VaultState {
  /** Object key (path under `objects/`) → SHA-256 of its bytes, `.tmp` leftovers included. */
  readonly objects: Record<string, string>;
  /** SHA-256 of the keyring file. */
  readonly keyring: string;
  /** Catalog rows by table, jobs excluded (see {@link jobs}). */
  readonly rows: Record<string, unknown[]>;
  /** Job rows, kept apart: a failed operation legitimately records a failed job. */
  readonly jobs: Record<string, unknown>[];
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, path)));
    else out.push(relative(root, path));
  }
  return out.sort();
}

/** Reads the objects, keyring and catalog rows of the embedded vault in `dir` (closed). */
export async function readVaultState(dir: string): Promise<VaultState> {
  const paths = localVaultPaths(dir);
  const objects: Record<string, string> = {};
  for (const key of await listFiles(paths.objects)) {
    objects[key] = createHash("sha256")
      .update(await readFile(join(paths.objects, key)))
      .digest("hex");
  }
  const keyring = createHash("sha256")
    .update(await readFile(paths.keyring))
    .digest("hex");
  const db = new DatabaseSync(paths.catalog, { readOnly: true });
  try {
    const rows: Record<string, unknown[]> = {};
    for (const table of ["vaults", "disks", "recovery_points"]) {
      rows[table] = db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
    }
    const jobs = db.prepare("SELECT * FROM jobs ORDER BY seq").all() as Record<string, unknown>[];
    return { objects, keyring, rows, jobs };
  } finally {
    db.close();
  }
}

/** The jobs in `after` that `before` did not have. */
export function newJobs(before: VaultState, after: VaultState): Record<string, unknown>[] {
  const known = new Set(before.jobs.map((j) => j.id));
  return after.jobs.filter((j) => !known.has(j.id));
}
