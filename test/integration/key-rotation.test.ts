import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyring, loadKeyring } from "../../lib/adapters/local/keyring.ts";
import { keyIdFingerprint } from "../../lib/adapters/local/wrapped-key.ts";
import { initLocalVault, localVaultPaths, openLocalVault } from "../../lib/compose/local.ts";
import { RetryingKeyService } from "../../lib/decorators/retrying-key-service.ts";
import { readPackTrailer } from "../../lib/engine/pack/pack.ts";
import {
  AccessDeniedError,
  ApprovalRequiredError,
  TransientError,
  ValidationError,
} from "../../lib/errors.ts";
import type { KeyService } from "../../lib/ports/key-service.ts";
import { Role } from "../../lib/rules/roles.ts";
import { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { openLocalPorts } from "../helpers/local-ports.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let root: string;
let dir: string;
let owner: Vault;
let alice: Vault;
let sam: Vault;

/** The request id an operation that needs approval reports. */
async function requestOf(attempt: Promise<unknown>): Promise<string> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalRequiredError);
  return (err as ApprovalRequiredError).requestId;
}

/** The pack files of the vault, by pack id. */
async function packIds(): Promise<Set<string>> {
  const packs = join(localVaultPaths(dir).objects, "packs");
  // No packs directory before the first backup.
  const files = (await readdir(packs, { recursive: true }).catch(() => [])) as string[];
  return new Set(files.filter((f) => /^[0-9a-f]{64}$/.test(basename(f))).map((f) => basename(f)));
}

/** The master key id and the wrapped key's header fingerprint of each pack in `ids`. */
async function packKeys(ids: Iterable<string>): Promise<{ masterKeyId: string; fingerprint: string }[]> {
  const packs = join(localVaultPaths(dir).objects, "packs");
  const out = [];
  for (const id of ids) {
    const { key } = readPackTrailer(id, await readFile(join(packs, id.slice(0, 2), id)));
    const fingerprint = Buffer.from(key.wrapped, "base64").subarray(1, 17).toString("hex");
    out.push({ masterKeyId: key.masterKeyId, fingerprint });
  }
  return out;
}

/** Backs up fresh content as a new point and returns its id and the packs it wrote. */
async function backupNew(vault: Vault, seed: number): Promise<{ id: string; packs: string[] }> {
  const before = await packIds();
  const image = join(root, `disk-${seed}.img`);
  await writeFile(image, seededBytes(seed, 20_000));
  const { recoveryPointId } = await backupFile(vault, image, "web");
  return { id: recoveryPointId, packs: [...(await packIds())].filter((p) => !before.has(p)) };
}

beforeEach(async () => {
  root = await tempDir("keyrot");
  dir = join(root, "vault");
  owner = await initLocalVault(dir, { name: "keyrot", blockSize: 4096 });
  alice = owner.as({ name: "alice", roles: [Role.SecurityAdmin] });
  sam = owner.as({ name: "sam", roles: [Role.SecurityAdmin] });
});

afterEach(async () => {
  await owner.close();
  await removeDir(root);
});

describe("vault key rotation", () => {
  it("new backups use the new key, old points stay restorable, and a reopened vault holds both keys", async () => {
    const first = await backupNew(owner, 1);
    expect(first.packs.length).toBeGreaterThan(0);
    const [oldKeyId] = (await loadKeyring(localVaultPaths(dir).keyring)).keyService.keyIds;
    expect(await packKeys(first.packs)).toEqual(
      first.packs.map(() => ({
        masterKeyId: oldKeyId,
        fingerprint: keyIdFingerprint(oldKeyId!).toString("hex"),
      })),
    );

    const rotation = await owner.rotateKey();
    expect(rotation.previous).toBe(oldKeyId);
    expect(rotation.current).not.toBe(oldKeyId);
    expect((await loadKeyring(localVaultPaths(dir).keyring)).keyService.keyIds).toEqual([
      oldKeyId,
      rotation.current,
    ]);

    const second = await backupNew(owner, 2);
    expect(second.packs.length).toBeGreaterThan(0);
    expect(await packKeys(second.packs)).toEqual(
      second.packs.map(() => ({
        masterKeyId: rotation.current,
        fingerprint: keyIdFingerprint(rotation.current).toString("hex"),
      })),
    );
    expect(await restoreBytes(owner, first.id, root)).toStrictEqual(seededBytes(1, 20_000));
    expect(await restoreBytes(owner, second.id, root)).toStrictEqual(seededBytes(2, 20_000));

    await owner.close();
    owner = await openLocalVault(dir);
    expect(await restoreBytes(owner, first.id, root)).toStrictEqual(seededBytes(1, 20_000));
    expect(await restoreBytes(owner, second.id, root)).toStrictEqual(seededBytes(2, 20_000));
    const report = await owner.check({ readData: true });
    expect(report.badBlobs).toEqual([]);
    expect(report.ok).toBe(true);
    const third = await backupNew(owner, 3);
    expect((await packKeys(third.packs)).map((k) => k.masterKeyId)).toEqual(
      third.packs.map(() => rotation.current),
    );
    const log = await owner.listAudit({ action: "vault.rotate-key" });
    expect(log.map((e) => [e.principal, e.outcome])).toEqual([["owner", "succeeded"]]);
  });

  it("without an approval a pending request is created and nothing changes", async () => {
    const keyring = localVaultPaths(dir).keyring;
    const before = await readFile(keyring);
    const request = await requestOf(alice.rotateKey());
    expect(await readFile(keyring)).toStrictEqual(before);
    const [pending] = await owner.listApprovals({ state: "pending" });
    expect(pending).toMatchObject({ id: request, operation: "vault.rotate-key", requester: "alice" });
    const point = await backupNew(owner, 4);
    expect(point.packs.length).toBeGreaterThan(0);
    const [keyId] = (await loadKeyring(keyring)).keyService.keyIds;
    expect((await packKeys(point.packs)).map((k) => k.masterKeyId)).toEqual(point.packs.map(() => keyId));
    const log = await owner.listAudit({ action: "vault.rotate-key" });
    expect(log.map((e) => [e.principal, e.outcome])).toEqual([["alice", "refused"]]);
  });

  it("the requester cannot approve their own rotation; another security admin's approval rotates once", async () => {
    const keyring = localVaultPaths(dir).keyring;
    const request = await requestOf(alice.rotateKey());
    await expect(alice.approve(request)).rejects.toThrow(/cannot approve it/);
    await expect(alice.rotateKey({ approvalId: request })).rejects.toThrow(/is pending, not approved/);
    expect((await loadKeyring(keyring)).keyService.keyIds).toHaveLength(1);

    await sam.approve(request);
    await expect(sam.rotateKey({ approvalId: request })).rejects.toThrow(/requested by alice/);
    const rotation = await alice.rotateKey({ approvalId: request });
    expect((await loadKeyring(keyring)).keyService.keyIds).toEqual([rotation.previous, rotation.current]);
    await expect(alice.rotateKey({ approvalId: request })).rejects.toThrow(/is used, not approved/);
    expect((await loadKeyring(keyring)).keyService.keyIds).toHaveLength(2);
    expect((await owner.listApprovals())[0]).toMatchObject({ id: request, state: "used", approver: "sam" });
  });

  it("refuses readers, operators and contributors without creating a request", async () => {
    const keyring = localVaultPaths(dir).keyring;
    const before = await readFile(keyring);
    for (const role of [Role.Reader, Role.Operator, Role.Contributor]) {
      const vault = owner.as({ name: `someone-${role}`, roles: [role] });
      const err = await vault.rotateKey().catch((e: unknown) => e);
      expect(err, role).toBeInstanceOf(AccessDeniedError);
      expect((err as Error).message).toMatch(/may not rotate-key: it needs the security-admin role/);
    }
    expect(await owner.listApprovals()).toEqual([]);
    expect(await readFile(keyring)).toStrictEqual(before);
  });

  it("refuses a key service that cannot rotate before asking anyone for approval", async () => {
    const ports = await openLocalPorts(dir);
    // The bare LocalKeyService is not bound to its file, so it has no rotate().
    const bare = await Vault.open(ports.deps, () => ports.catalog.close());
    try {
      const err = await bare
        .as({ name: "alice", roles: [Role.SecurityAdmin] })
        .rotateKey()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/cannot rotate its key/);
      expect(await bare.listApprovals()).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe("RetryingKeyService and rotate", () => {
  it("offers rotate only when the inner service has it", async () => {
    const keys = await createKeyring(join(root, "plain.keyring"));
    expect(new RetryingKeyService(keys).rotate).toBeUndefined();
  });

  it("forwards rotate without retrying it: a lost answer may mean it happened", async () => {
    let calls = 0;
    const inner: KeyService = {
      generateDataKey: () => Promise.reject(new Error("unused")),
      decryptDataKey: () => Promise.reject(new Error("unused")),
      rotate: async () => {
        calls++;
        if (calls === 1) throw new TransientError("connection reset");
        return { previous: "a", current: "b" };
      },
    };
    const keys = new RetryingKeyService(inner);
    await expect(keys.rotate!()).rejects.toBeInstanceOf(TransientError);
    expect(calls).toBe(1);
    expect(await keys.rotate!()).toEqual({ previous: "a", current: "b" });
  });
});
