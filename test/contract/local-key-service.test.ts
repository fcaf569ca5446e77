import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createKeyring,
  KeyringFileKeyService,
  LocalKeyService,
  loadKeyring,
  rotateKeyring,
} from "../../lib/adapters/local/keyring.ts";
import { keyIdFingerprint } from "../../lib/adapters/local/wrapped-key.ts";
import { AlreadyExistsError, ConflictError, KeyError } from "../../lib/errors.ts";
import type { EncryptionContext } from "../../lib/ports/key-service.ts";
import { describeKeyServiceContract } from "./key-service.contract.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "blockvault-keyring-"));
}

const ctx: EncryptionContext = { vault: "v1", purpose: "dedup-key" };

describeKeyServiceContract("LocalKeyService (created keyrings)", async () => {
  const dir = await tempDir();
  return {
    keys: await createKeyring(path.join(dir, "a.keyring")),
    other: await createKeyring(path.join(dir, "b.keyring")),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeKeyServiceContract("LocalKeyService (loaded keyrings)", async () => {
  const dir = await tempDir();
  await createKeyring(path.join(dir, "a.keyring"));
  await createKeyring(path.join(dir, "b.keyring"));
  return {
    keys: (await loadKeyring(path.join(dir, "a.keyring"))).keyService,
    other: (await loadKeyring(path.join(dir, "b.keyring"))).keyService,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeKeyServiceContract("LocalKeyService (rotated keyrings)", async () => {
  const dir = await tempDir();
  await createKeyring(path.join(dir, "a.keyring"));
  await createKeyring(path.join(dir, "b.keyring"));
  return {
    keys: await rotateKeyring(path.join(dir, "a.keyring")),
    other: await rotateKeyring(path.join(dir, "b.keyring")),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe("keyring files", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir();
    file = path.join(dir, "vault.keyring");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a version-2 JSON keyring with mode 0600 and no leftover temporary file", async () => {
    const keys = await createKeyring(file, { now: () => 1_700_000_000_000 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(file, "utf8"));
    expect(Object.keys(content).sort()).toEqual(["keys", "version"]);
    expect(content.version).toBe(2);
    expect(content.keys).toHaveLength(1);
    expect(Object.keys(content.keys[0]).sort()).toEqual(["created", "keyId", "masterKey"]);
    expect(content.keys[0]).toMatchObject({ keyId: keys.keyId, created: 1_700_000_000_000 });
    expect(Buffer.from(content.keys[0].masterKey, "base64")).toHaveLength(32);
    expect(await readdir(dir)).toEqual(["vault.keyring"]);
  });

  it("creates missing parent directories", async () => {
    const nested = path.join(dir, "a", "b", "k.keyring");
    await createKeyring(nested);
    expect((await stat(nested)).mode & 0o777).toBe(0o600);
  });

  it("refuses to overwrite an existing keyring, leaving it byte for byte", async () => {
    const first = await createKeyring(file);
    const before = await readFile(file);
    const err = await createKeyring(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect((err as Error).message).toContain(file);
    expect(await readFile(file)).toStrictEqual(before);
    expect((await loadKeyring(file)).keyService.keyId).toBe(first.keyId);
    expect(await readdir(dir)).toEqual(["vault.keyring"]);
  });

  it("loads a keyring that unwraps what the created one wrapped, with the same key id", async () => {
    const created = await createKeyring(file);
    const key = await created.generateDataKey(ctx);
    const loaded = await loadKeyring(file);
    expect(loaded.insecureMode).toBe(false);
    expect(loaded.keyService.keyId).toBe(created.keyId);
    expect(key.masterKeyId).toBe(created.keyId);
    expect(await loaded.keyService.decryptDataKey(key.wrapped, ctx)).toStrictEqual(key.plaintext);
  });

  it("loads a keyring readable by group or others, flagging it", async () => {
    await createKeyring(file);
    await chmod(file, 0o644);
    expect((await loadKeyring(file)).insecureMode).toBe(true);
    await chmod(file, 0o640);
    expect((await loadKeyring(file)).insecureMode).toBe(true);
    await chmod(file, 0o400);
    expect((await loadKeyring(file)).insecureMode).toBe(false);
  });

  it("rejects a missing keyring with a KeyError naming the path", async () => {
    const err = await loadKeyring(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyError);
    expect((err as Error).message).toContain(file);
    await expect(loadKeyring(dir)).rejects.toBeInstanceOf(KeyError);
  });

  it("rejects malformed keyrings with a KeyError naming the path", async () => {
    const good = { version: 1, keyId: "k1", masterKey: Buffer.alloc(32, 1).toString("base64"), created: 1 };
    const bad = [
      "not json",
      "[]",
      "null",
      JSON.stringify({ ...good, version: 2 }),
      JSON.stringify({ ...good, keyId: "" }),
      JSON.stringify({ ...good, masterKey: Buffer.alloc(16).toString("base64") }),
      JSON.stringify({ ...good, masterKey: "!!not base64!!" }),
      JSON.stringify({ ...good, created: "yesterday" }),
      JSON.stringify({ version: 1 }),
    ];
    await writeFile(file, JSON.stringify(good));
    expect((await loadKeyring(file)).keyService.keyId).toBe("k1");
    for (const text of bad) {
      await writeFile(file, text);
      const err = await loadKeyring(file).catch((e: unknown) => e);
      expect(err, text).toBeInstanceOf(KeyError);
      expect((err as Error).message).toContain(file);
    }
  });

  it("detects a keyring whose master key was replaced under the same key id", async () => {
    const created = await createKeyring(file);
    const key = await created.generateDataKey(ctx);
    const swapped = new LocalKeyService(created.keyId, Buffer.alloc(32, 9));
    const err = await swapped.decryptDataKey(key.wrapped, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyError);
  });

  it("refuses a master key that is not 32 bytes, or an empty key id", () => {
    expect(() => new LocalKeyService("k", Buffer.alloc(31))).toThrow(KeyError);
    expect(() => new LocalKeyService("", Buffer.alloc(32))).toThrow(KeyError);
  });

  it("wraps keys in the documented 77-byte version-1 layout, keyed by the key-id fingerprint", async () => {
    const keys = new LocalKeyService("k1", Buffer.alloc(32, 3));
    const a = await keys.generateDataKey(ctx);
    const b = await keys.generateDataKey(ctx);
    expect(a.wrapped).toHaveLength(77);
    expect(a.wrapped[0]).toBe(1);
    expect(a.wrapped.subarray(1, 17)).toStrictEqual(b.wrapped.subarray(1, 17));
    expect(a.wrapped.subarray(17, 29)).not.toStrictEqual(b.wrapped.subarray(17, 29));
    const otherId = await new LocalKeyService("k2", Buffer.alloc(32, 3)).generateDataKey(ctx);
    expect(otherId.wrapped.subarray(1, 17)).not.toStrictEqual(a.wrapped.subarray(1, 17));
    const err = await keys.decryptDataKey(otherId.wrapped, ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/different master key/);
  });
});

describe("keyring rotation", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir();
    file = path.join(dir, "vault.keyring");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("still loads a version-1 keyring and unwraps what its key wrapped", async () => {
    const masterKey = Buffer.alloc(32, 5);
    const v1 = { version: 1, keyId: "k-old", masterKey: masterKey.toString("base64"), created: 42 };
    await writeFile(file, JSON.stringify(v1), { mode: 0o600 });
    const key = await new LocalKeyService("k-old", masterKey).generateDataKey(ctx);
    const loaded = await loadKeyring(file);
    expect(loaded.created).toBe(42);
    expect(loaded.keyService.keyIds).toEqual(["k-old"]);
    expect(await loaded.keyService.decryptDataKey(key.wrapped, ctx)).toStrictEqual(key.plaintext);
  });

  it("adds a current key, keeps the old one for unwrapping, and rewrites the file as version 2", async () => {
    const first = await createKeyring(file, { now: () => 1 });
    const old = await first.generateDataKey(ctx);
    const rotated = await rotateKeyring(file, { now: () => 2 });
    expect(rotated.keyIds).toEqual([first.keyId, rotated.keyId]);
    expect(rotated.keyId).not.toBe(first.keyId);
    const fresh = await rotated.generateDataKey(ctx);
    expect(fresh.masterKeyId).toBe(rotated.keyId);
    expect(fresh.wrapped.subarray(1, 17)).toStrictEqual(keyIdFingerprint(rotated.keyId));
    expect(old.wrapped.subarray(1, 17)).toStrictEqual(keyIdFingerprint(first.keyId));
    const reloaded = (await loadKeyring(file)).keyService;
    for (const keys of [rotated, reloaded]) {
      expect(await keys.decryptDataKey(old.wrapped, ctx)).toStrictEqual(old.plaintext);
      expect(await keys.decryptDataKey(fresh.wrapped, ctx)).toStrictEqual(fresh.plaintext);
    }
    expect(reloaded.keyId).toBe(rotated.keyId);
    const content = JSON.parse(await readFile(file, "utf8"));
    expect(content.version).toBe(2);
    expect(content.keys.map((k: { keyId: string; created: number }) => [k.keyId, k.created])).toEqual([
      [first.keyId, 1],
      [rotated.keyId, 2],
    ]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["vault.keyring"]);
  });

  it("rotates a version-1 keyring into version 2, keeping its key", async () => {
    const masterKey = Buffer.alloc(32, 6);
    await writeFile(
      file,
      JSON.stringify({ version: 1, keyId: "k1", masterKey: masterKey.toString("base64"), created: 7 }),
    );
    const old = await new LocalKeyService("k1", masterKey).generateDataKey(ctx);
    const rotated = await rotateKeyring(file);
    expect(rotated.keyIds[0]).toBe("k1");
    expect(await rotated.decryptDataKey(old.wrapped, ctx)).toStrictEqual(old.plaintext);
    const content = JSON.parse(await readFile(file, "utf8"));
    expect(content).toMatchObject({ version: 2, keys: [{ keyId: "k1", created: 7 }, {}] });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("refuses a key wrapped by none of the keyring's keys, naming them", async () => {
    await createKeyring(file);
    const rotated = await rotateKeyring(file);
    const stranger = await createKeyring(path.join(dir, "other.keyring"));
    const foreign = await stranger.generateDataKey(ctx);
    const err = await rotated.decryptDataKey(foreign.wrapped, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyError);
    expect((err as Error).message).toMatch(/different master key/);
    for (const id of rotated.keyIds) expect((err as Error).message).toContain(id);
  });

  it("refuses to rotate while another rotation holds the lock, leaving the file as it was", async () => {
    await createKeyring(file);
    const before = await readFile(file);
    const lock = path.join(dir, ".vault.keyring.rotate.lock");
    await writeFile(lock, `${process.pid} 0123456789abcdef\n`);
    const err = await rotateKeyring(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(lock);
    expect(await readFile(file)).toStrictEqual(before);
    await rm(lock);
    expect((await rotateKeyring(file)).keyIds).toHaveLength(2);
  });

  it("takes over the lock of a rotation whose process was killed", async () => {
    await createKeyring(file);
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    await writeFile(path.join(dir, ".vault.keyring.rotate.lock"), `${gone.stdout.toString()}\n`);
    expect((await rotateKeyring(file)).keyIds).toHaveLength(2);
    expect(await readdir(dir)).toEqual(["vault.keyring"]);
  });

  it("serialises concurrent rotations: none loses a key", async () => {
    await createKeyring(file);
    const results = await Promise.allSettled([rotateKeyring(file), rotateKeyring(file), rotateKeyring(file)]);
    const done = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    const held = (await loadKeyring(file)).keyService.keyIds;
    expect(held).toHaveLength(1 + done.length);
    for (const keys of done) expect(held).toContain(keys.keyId);
  });

  it("rejects rotating a missing keyring with a KeyError naming the path, leaving no lock", async () => {
    const err = await rotateKeyring(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyError);
    expect((err as Error).message).toContain(file);
    expect(await readdir(dir)).toEqual([]);
  });

  it("rejects malformed version-2 keyrings with a KeyError naming the path", async () => {
    const entry = { keyId: "k1", masterKey: Buffer.alloc(32, 1).toString("base64"), created: 1 };
    const bad = [
      { version: 2 },
      { version: 2, keys: [] },
      { version: 2, keys: {} },
      { version: 2, keys: [entry, entry] },
      { version: 2, keys: [null] },
      { version: 2, keys: [{ ...entry, masterKey: "short" }] },
      { version: 2, keys: [{ ...entry, created: "now" }] },
      { version: 3, keys: [entry] },
    ];
    await writeFile(file, JSON.stringify({ version: 2, keys: [entry] }));
    expect((await loadKeyring(file)).keyService.keyId).toBe("k1");
    for (const content of bad) {
      await writeFile(file, JSON.stringify(content));
      const err = await loadKeyring(file).catch((e: unknown) => e);
      expect(err, JSON.stringify(content)).toBeInstanceOf(KeyError);
      expect((err as Error).message).toContain(file);
    }
  });

  it("a file-bound key service rotates its file, and a stale copy re-reads it for newer keys", async () => {
    const created = await createKeyring(file);
    const bound = new KeyringFileKeyService(file, created);
    const stale = new KeyringFileKeyService(file, (await loadKeyring(file)).keyService);
    const old = await bound.generateDataKey(ctx);
    const rotation = await bound.rotate();
    expect(rotation).toEqual({ previous: created.keyId, current: bound.keyId });
    expect(bound.keyIds).toEqual([created.keyId, rotation.current]);
    const fresh = await bound.generateDataKey(ctx);
    expect(fresh.masterKeyId).toBe(rotation.current);
    expect(await bound.decryptDataKey(old.wrapped, ctx)).toStrictEqual(old.plaintext);
    expect((await loadKeyring(file)).keyService.keyIds).toEqual(bound.keyIds);
    expect(stale.keyId).toBe(created.keyId);
    expect(await stale.decryptDataKey(fresh.wrapped, ctx)).toStrictEqual(fresh.plaintext);
    expect(stale.keyId).toBe(rotation.current);
  });
});
