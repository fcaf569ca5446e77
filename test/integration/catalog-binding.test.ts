import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { localVaultPaths, openLocalVault } from "../../lib/compose/local.ts";
import { IntegrityError } from "../../lib/errors.ts";
import { runCli } from "../helpers/cli.ts";
import { cliJson } from "../helpers/cli-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

// Each restore starts a worker pool; one worker starts fastest.
process.env.BLOCKVAULT_WORKERS = "1";

const SIZE = 64 * 4096;
let root = "";
let vault = "";
/** vm1's full point, vm1's incremental on it, and vm2's full point (same size). */
let first = "";
let second = "";
let other = "";
let pristine: Record<string, unknown> = {};

async function backup(image: string, disk: string): Promise<string> {
  const r = (await cliJson(["backup", image, "--disk", disk, "--vault", vault])) as {
    recoveryPointId: string;
  };
  return r.recoveryPointId;
}

beforeAll(async () => {
  root = await tempDir("binding");
  vault = join(root, "vault");
  const image = join(root, "disk.img");
  await cliJson(["init", "--vault", vault, "--name", "binding", "--block-size", "4096"]);
  await writeFile(image, seededBytes(1, SIZE));
  first = await backup(image, "vm1");
  await writeFile(image, Buffer.concat([seededBytes(2, 4096), seededBytes(1, SIZE).subarray(4096)]));
  second = await backup(image, "vm1");
  await writeFile(image, seededBytes(3, SIZE));
  other = await backup(image, "vm2");
  pristine = row(second);
});

afterAll(async () => {
  if (root) await removeDir(root);
});

/** Runs `sql` on the vault's catalog file, as someone with write access to it could. */
function edit(sql: string, ...args: (string | number | null)[]): void {
  const db = new DatabaseSync(localVaultPaths(vault).catalog);
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

function row(id: string): Record<string, unknown> {
  const db = new DatabaseSync(localVaultPaths(vault).catalog);
  try {
    return { ...db.prepare("SELECT * FROM recovery_points WHERE id = ?").get(id) };
  } finally {
    db.close();
  }
}

afterEach(() => {
  const p = pristine;
  edit(
    "UPDATE recovery_points SET logical_size = ?, manifest = ?, parent = ?, disk = ?, created = ? WHERE id = ?",
    p.logical_size as number,
    p.manifest as string,
    p.parent as string,
    p.disk as string,
    p.created as number,
    second,
  );
});

/** Each way to alter the incremental point's row, and the field the refusal must name. */
const tamperings: [string, () => void, () => RegExp][] = [
  [
    "its manifest swapped for its parent's",
    () =>
      edit(
        "UPDATE recovery_points SET manifest = (SELECT manifest FROM recovery_points WHERE id = ?) WHERE id = ?",
        first,
        second,
      ),
    () => new RegExp(`recovery point ${second}: .*belongs to recovery point ${first}`),
  ],
  [
    "its manifest swapped for another disk's point of the same size",
    () =>
      edit(
        "UPDATE recovery_points SET manifest = (SELECT manifest FROM recovery_points WHERE id = ?) WHERE id = ?",
        other,
        second,
      ),
    () => new RegExp(`recovery point ${second}: .*belongs to recovery point ${other}`),
  ],
  [
    "its size",
    () => edit("UPDATE recovery_points SET logical_size = ? WHERE id = ?", SIZE - 4096, second),
    () =>
      new RegExp(`recovery point ${second}: the catalog's logical size \\(${SIZE - 4096}\\) does not match`),
  ],
  [
    "its parent",
    () => edit("UPDATE recovery_points SET parent = NULL WHERE id = ?", second),
    () =>
      new RegExp(
        `recovery point ${second}: the catalog's parent \\(null\\) does not match its manifest's \\(${first}\\)`,
      ),
  ],
  [
    "its disk",
    () => edit("UPDATE recovery_points SET disk = 'vm2' WHERE id = ?", second),
    () =>
      new RegExp(
        `recovery point ${second}: the catalog's disk \\(vm2\\) does not match its manifest's \\(vm1\\)`,
      ),
  ],
  [
    "its creation time",
    () => edit("UPDATE recovery_points SET created = created + 1 WHERE id = ?", second),
    () => new RegExp(`recovery point ${second}: the catalog's creation time`),
  ],
];

describe("a catalog row altered behind the vault's back", () => {
  it("the untouched vault checks clean and restores", async () => {
    const report = (await cliJson(["check", "--read-data", "--vault", vault])) as { ok: boolean };
    expect(report.ok).toBe(true);
    const run = await runCli(["restore", second, "--to", join(root, "clean.img"), "--vault", vault]);
    expect(run.code, run.stderr).toBe(0);
  });

  for (const [what, tamper, refusal] of tamperings) {
    it(`${what}: check --read-data reports the point, restore refuses it (API and CLI, exit 5)`, async () => {
      tamper();
      const check = await runCli(["check", "--read-data", "--vault", vault, "--json"]);
      expect(check.code).toBe(5);
      const report = JSON.parse(check.stdout) as {
        ok: boolean;
        brokenPoints: { id: string; error: string }[];
      };
      expect(report.ok).toBe(false);
      expect(report.brokenPoints.map((p) => p.id)).toEqual([second]);
      expect(report.brokenPoints[0]!.error).toMatch(refusal());

      const to = join(root, "tampered.img");
      const cli = await runCli(["restore", second, "--to", to, "--vault", vault]);
      expect(cli.code).toBe(5);
      expect(cli.stderr).toMatch(refusal());
      const v = await openLocalVault(vault);
      try {
        const err = await v.restoreToFile(second, to).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toMatch(refusal());
        const range = await v
          .restoreToFile(second, to, { range: { offset: 0, length: 4096 } })
          .catch((e: unknown) => e);
        expect(range).toBeInstanceOf(IntegrityError);
      } finally {
        await v.close();
      }
      await expect(stat(to)).rejects.toThrow(/ENOENT/);
    });
  }

  it("an unknown tier, state or consistency in the row is refused naming the point, field and value", async () => {
    for (const [column, value] of [
      ["tier", "glacier"],
      ["state", "gone"],
      ["consistency", "vibes"],
    ] as const) {
      edit(`UPDATE recovery_points SET ${column} = ? WHERE id = ?`, value, second);
      const run = await runCli(["restore", second, "--to", join(root, "enum.img"), "--vault", vault]);
      expect(run.code, column).toBe(5);
      expect(run.stderr).toMatch(new RegExp(`recovery point ${second}: ${column} "${value}" is not one of`));
      edit(`UPDATE recovery_points SET ${column} = ? WHERE id = ?`, pristine[column] as string, second);
    }
  });
});
