import { createHash } from "node:crypto";
import { link, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import { buildLocalApp } from "../../lib/compose/local-app.ts";
import { AccessDeniedError, ValidationError } from "../../lib/errors.ts";
import type { Workflows } from "../../lib/ports/workflows.ts";
import type { Vault } from "../../lib/vault.ts";
import { runCli } from "../helpers/cli.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const SIZE = 40 * 4096;
let root = "";
let dir = "";
let vault: Vault;
let pointId = "";
let packFile = "";
/** A second vault, with principals, whose keyring lives outside its directory. */
let otherDir = "";
let keyringOutside = "";
let otherVault: Vault;
let otherPoint = "";

async function walk(at: string): Promise<{ files: string[]; dirs: string[] }> {
  const out = { files: [] as string[], dirs: [] as string[] };
  for (const e of await readdir(at, { withFileTypes: true })) {
    const p = join(at, e.name);
    if (e.isDirectory()) {
      out.dirs.push(p);
      const inner = await walk(p);
      out.files.push(...inner.files);
      out.dirs.push(...inner.dirs);
    } else out.files.push(p);
  }
  return out;
}

const keyringPath = () => localVaultPaths(dir).keyring;
const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
const digest = async (p: string) =>
  createHash("sha256")
    .update(await readFile(p))
    .digest("hex");

/** The catalog file is still a SQLite database that holds the point (a restore would overwrite it with the image). */
async function expectCatalogIntact(): Promise<void> {
  const head = (await readFile(join(dir, "catalog.sqlite"))).subarray(0, 16).toString("latin1");
  expect(head).toBe("SQLite format 3\0");
  expect((await vault.getPoint(pointId)).id).toBe(pointId);
}

beforeAll(async () => {
  root = await tempDir("vault-files");
  dir = join(root, "vault");
  vault = await initLocalVault(dir, { name: "files", blockSize: 4096 });
  const image = join(root, "disk.img");
  await writeFile(image, seededBytes(1, SIZE));
  pointId = (await backupFile(vault, image, "vm1")).recoveryPointId;
  const packs = join(dir, "objects", "packs");
  const shard = (await readdir(packs))[0]!;
  packFile = join(packs, shard, (await readdir(join(packs, shard)))[0]!);
  otherDir = join(root, "other");
  keyringOutside = join(root, "keys", "other.keyring.json");
  otherVault = await initLocalVault(
    otherDir,
    { name: "other", blockSize: 4096 },
    { keyring: keyringOutside },
  );
  otherPoint = (await backupFile(otherVault, image, "vm1")).recoveryPointId;
  await otherVault.bootstrapPrincipals([{ name: "alice", roles: ["security-admin"] }]);
});

afterAll(async () => {
  await vault?.close();
  await otherVault?.close();
  if (root) await removeDir(root);
});

describe("the local vault's file modes", () => {
  it("objects are read-only (0400), directories 0700, catalog, WAL files, keyring and principals 0600", async () => {
    const paths = localVaultPaths(dir);
    const { files, dirs } = await walk(paths.objects);
    const objects = files.filter((f) => !f.includes("/.tmp/"));
    expect(objects.length).toBeGreaterThan(3); // config, a pack, an index, manifests
    for (const f of objects) expect([f, await modeOf(f)]).toEqual([f, 0o400]);
    for (const d of [dir, paths.objects, ...dirs]) expect([d, await modeOf(d)]).toEqual([d, 0o700]);
    for (const f of [paths.catalog, `${paths.catalog}-wal`, `${paths.catalog}-shm`, paths.keyring])
      expect([f, await modeOf(f)]).toEqual([f, 0o600]);
    expect(await modeOf(keyringOutside)).toBe(0o600);
    expect(await modeOf(localVaultPaths(otherDir).principals)).toBe(0o600);
  });

  it("reclaim still deletes read-only objects: an orphan pack goes, the vault stays whole", async () => {
    const id = "f".repeat(64);
    const orphan = join(dir, "objects", "packs", "ff", id);
    await mkdir(join(dir, "objects", "packs", "ff"), { recursive: true, mode: 0o700 });
    await writeFile(orphan, "orphan", { mode: 0o400 });
    // Older than the liveness window, below which reclaim deletes nothing whatever the grace.
    const old = new Date(Date.now() - 60 * 60 * 1000);
    await utimes(orphan, old, old);
    const r = await vault.reclaim({ graceMs: 0 });
    expect(r.packs).toContain(id);
    await expect(stat(orphan)).rejects.toThrow(/ENOENT/);
    expect((await vault.check({ readData: true })).ok).toBe(true);
  });
});

describe("restoring onto the vault's own files is refused, even with force", () => {
  const refusals: [string, () => Promise<string>, RegExp][] = [
    ["the catalog", async () => join(dir, "catalog.sqlite"), /inside the vault's directory/],
    ["the catalog's WAL file", async () => join(dir, "catalog.sqlite-wal"), /inside the vault's directory/],
    ["a pack", async () => packFile, /inside the vault's directory/],
    [
      "a new file inside the vault",
      async () => join(dir, "objects", "new.img"),
      /inside the vault's directory/,
    ],
    ["the vault directory itself", async () => dir, /inside the vault's directory/],
    [
      "a symlink to the catalog",
      async () => {
        const p = join(root, "catalog-link.img");
        await symlink(join(dir, "catalog.sqlite"), p).catch(() => {});
        return p;
      },
      /inside the vault's directory/,
    ],
    [
      "a new file under a symlink to the vault directory",
      async () => {
        const p = join(root, "vault-link");
        await symlink(dir, p).catch(() => {});
        return join(p, "restored.img");
      },
      /inside the vault's directory/,
    ],
    [
      "a hard link to the catalog",
      async () => {
        const p = join(root, "catalog-hard.db");
        await link(join(dir, "catalog.sqlite"), p).catch(() => {});
        return p;
      },
      /it is the vault's file .*catalog\.sqlite/,
    ],
    [
      "a hard link to a pack",
      async () => {
        const p = join(root, "pack-hard");
        await link(packFile, p).catch(() => {});
        return p;
      },
      /hard link to the vault's file .*packs/,
    ],
  ];

  for (const [what, targetPath, message] of refusals) {
    it(what, async () => {
      const to = await targetPath();
      const packBefore = await digest(packFile);
      const err = await vault.restoreToFile(pointId, to, { force: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/^refusing to restore onto /);
      expect((err as Error).message).toMatch(message);
      await expectCatalogIntact();
      expect(await digest(packFile)).toBe(packBefore);
    });
  }

  it("the keyring, wherever it lives (and a hard link to it)", async () => {
    const before = await digest(keyringOutside);
    for (const to of [keyringOutside, join(root, "keyring-hard.json")]) {
      if (to !== keyringOutside) await link(keyringOutside, to);
      const err = await otherVault.restoreToFile(otherPoint, to, { force: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/it is the vault's file .*other\.keyring\.json/);
    }
    expect(await digest(keyringOutside)).toBe(before);
  });

  it("through the CLI: restore --to <vault>/catalog.sqlite --force exits 2 and the vault still checks clean", async () => {
    const catalog = join(dir, "catalog.sqlite");
    const run = await runCli(["restore", pointId, "--to", catalog, "--force", "--vault", dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^blockvault: refusing to restore onto .*catalog\.sqlite: it is inside the vault's directory/,
    );
    await expectCatalogIntact();
    const check = await runCli(["check", "--read-data", "--vault", dir]);
    expect(check.code, check.stderr).toBe(0);
  });

  it("through the embedded application (serve's file targets), with force", async () => {
    const { app } = buildLocalApp({ vault, workflows: () => ({}) as Workflows });
    for (const path of [join(dir, "catalog.sqlite"), keyringPath()]) {
      // Refused before the vault-file check when no restore directory allows the path; either
      // refusal leaves the file alone.
      const err = await app.openTarget({ kind: "file", path, force: true }, SIZE).catch((e: unknown) => e);
      expect(err instanceof ValidationError || err instanceof AccessDeniedError, String(err)).toBe(true);
      expect((err as Error).message).toMatch(
        /^refusing to restore onto |^file restores over HTTP are refused/,
      );
    }
    await expectCatalogIntact();
  });

  it("a target outside the vault is still restored, and replaced with force", async () => {
    const to = join(root, "restored.img");
    await writeFile(to, "old");
    await vault.restoreToFile(pointId, to, { force: true });
    expect((await readFile(to)).equals(seededBytes(1, SIZE))).toBe(true);
  });
});
