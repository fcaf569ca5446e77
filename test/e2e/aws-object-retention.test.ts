import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { retainAllPoints, retainPointObjects } from "../../lib/engine/points/object-retention.ts";
import { VaultObjects } from "../../lib/engine/points/point-objects.ts";
import { RetainedObjectError } from "../../lib/errors.ts";
import { LockState } from "../../lib/model.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const DAY = 86_400_000;
let dir: string;
let s3: S3Client;

beforeAll(async () => {
  dir = await tempDir("aws-retention");
  s3 = s3Client(emulatorConfig());
});
afterAll(async () => {
  s3.destroy();
  await removeDir(dir);
});

async function newVault(name: string): Promise<{ vault: Vault; bucket: string }> {
  const bucket = uniqueName("bv-ret");
  const vault = await initAwsVault(
    { bucket, table: uniqueName("bv-ret"), aws: emulatorConfig() },
    { name, blockSize: 4096 },
  );
  return { vault, bucket };
}

async function backup(vault: Vault, seed: number): Promise<{ id: string; bytes: Buffer }> {
  const bytes = seededBytes(seed, 512 * 1024);
  const path = join(dir, `image-${seed}.img`);
  await writeFile(path, bytes);
  return { id: (await backupFile(vault, path, "web")).recoveryPointId, bytes };
}

describe("storage retention of recovery points on the AWS backend (moto)", () => {
  it("puts every object of a point under Object Lock to its retainUntil, then compliance once locked", async () => {
    const { vault, bucket } = await newVault("retention");
    try {
      const { ctx } = vault;
      const p1 = await backup(vault, 1);
      const until = Date.now() + 30 * DAY;
      const point = await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p1.id, {
        retainUntil: until,
      });
      const result = await retainPointObjects(ctx, point);
      const keys = await (await VaultObjects.load(ctx)).of(point);
      expect(result).toEqual({ objects: keys.length, governanceOnly: [] });
      expect(keys.filter((k) => k.startsWith("packs/")).length).toBeGreaterThan(0);
      const lockOf = async (key: string) => {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return [head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime() ?? 0] as const;
      };
      for (const key of keys) {
        const [mode, date] = await lockOf(key);
        expect(mode, key).toBe("GOVERNANCE");
        expect(date, key).toBeGreaterThanOrEqual(until);
      }
      const pack = keys.find((k) => k.startsWith("packs/"))!;
      await expect(ctx.deps.store.delete(pack)).rejects.toBeInstanceOf(RetainedObjectError);

      // Locking: every object of every retained point becomes compliance-mode, still readable.
      const settings = await ctx.deps.catalog.getSettings(ctx.config.vaultId);
      await ctx.deps.catalog.putSettings(
        { ...settings, lock: LockState.Locked, version: settings.version + 1 },
        settings.version,
      );
      expect((await retainAllPoints(ctx)).governanceOnly).toEqual([]);
      for (const key of keys) {
        const [mode, date] = await lockOf(key);
        expect(mode, key).toBe("COMPLIANCE");
        expect(date, key).toBeGreaterThanOrEqual(until);
      }
      // The governance versions the upgrade replaced are still there, noncurrent.
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: pack }));
      expect(versions.Versions?.length).toBe(2);
      expect(sha256(await restoreBytes(vault, p1.id, dir))).toBe(sha256(p1.bytes));
    } finally {
      await vault.close();
    }
  });

  it("reports a bucket without Object Lock instead of failing, and retains nothing there", async () => {
    const bucket = uniqueName("bv-nolock");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const vault = await initAwsVault(
      { bucket, table: uniqueName("bv-nolock"), aws: emulatorConfig() },
      { name: "no-lock", blockSize: 4096 },
    );
    try {
      const { ctx } = vault;
      const p1 = await backup(vault, 2);
      const point = await ctx.deps.catalog.updateRecoveryPoint(ctx.config.vaultId, p1.id, {
        retainUntil: Date.now() + DAY,
      });
      expect(await retainPointObjects(ctx, point)).toEqual({
        objects: 0,
        governanceOnly: [],
        unsupported: true,
      });
    } finally {
      await vault.close();
    }
  });
});
