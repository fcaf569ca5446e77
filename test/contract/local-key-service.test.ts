import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyring, LocalKeyService, loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { AlreadyExistsError, KeyError } from "../../lib/errors.ts";
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

  it("writes a version-1 JSON keyring with mode 0600 and no leftover temporary file", async () => {
    const keys = await createKeyring(file, { now: () => 1_700_000_000_000 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(file, "utf8"));
    expect(Object.keys(content).sort()).toEqual(["created", "keyId", "masterKey", "version"]);
    expect(content).toMatchObject({ version: 1, keyId: keys.keyId, created: 1_700_000_000_000 });
    expect(Buffer.from(content.masterKey, "base64")).toHaveLength(32);
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
