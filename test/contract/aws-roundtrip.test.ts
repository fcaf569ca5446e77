import { join } from "node:path";
import type { EBSClient } from "@aws-sdk/client-ebs";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ebsClient, s3Client } from "../../lib/adapters/aws/clients.ts";
import { listSnapshotBlocks } from "../../lib/adapters/aws/ebs-list.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { openEbsSnapshotTarget } from "../../lib/adapters/aws/ebs-snapshot-target.ts";
import { openS3ImageSource } from "../../lib/adapters/aws/s3-image-source.ts";
import { openS3ObjectTarget } from "../../lib/adapters/aws/s3-object-target.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { buildVhdFooter } from "../../lib/formats/vhd.ts";
import type { VolumeSource } from "../../lib/ports/volume-source.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { writeSnapshot } from "./aws-fixture.ts";

const MIB = 1024 * 1024;
let dir: string;
let vault: Vault;
let s3: S3Client;
let ebs: EBSClient;

beforeAll(async () => {
  dir = await tempDir("aws-roundtrip");
  vault = await initLocalVault(join(dir, "vault"), { name: "aws" });
  s3 = s3Client(emulatorConfig());
  ebs = ebsClient(emulatorConfig());
});

afterAll(async () => {
  await vault?.close();
  if (dir) await removeDir(dir);
});

async function backup(source: VolumeSource, disk: string) {
  try {
    return await vault.backup(source, { disk });
  } finally {
    await source.close();
  }
}

describe("backup from and restore to S3 objects through the engine (emulator)", () => {
  it("restores a fixed VHD's disk byte-exact into a new object; an unchanged object is not read again", async () => {
    const bucket = uniqueName("roundtrip");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const disk = seededBytes(11, 7 * MIB);
    disk.fill(0, 2 * MIB, 3 * MIB + 512);
    const body = Buffer.concat([disk, buildVhdFooter(disk.length)]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "vm/disk.vhd", Body: body }));
    const url = `s3://${bucket}/vm/disk.vhd`;

    const full = await backup(await openS3ImageSource(s3, url, { partSize: MIB }), "s3-disk");
    expect(full.logicalSize).toBe(disk.length);
    expect(full.bytesScanned).toBe(disk.length);
    const again = await backup(await openS3ImageSource(s3, url), "s3-disk");
    expect(again.parent).toBe(full.recoveryPointId);
    expect(again.bytesScanned).toBe(0);

    for (const point of [full, again]) {
      const out = `s3://${bucket}/restored/${point.recoveryPointId}.img`;
      const target = await openS3ObjectTarget(s3, out, disk.length, { partSize: 5 * MIB });
      expect((await vault.restore(point.recoveryPointId, target)).target).toBe(out);
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: `restored/${point.recoveryPointId}.img` }),
      );
      expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(disk));
    }
  });
});

describe("backup from and restore to EBS snapshots through the engine (emulator)", () => {
  it("restores full and incremental points into new snapshots holding the same blocks", async () => {
    const bs = (await writeSnapshot(ebs, new Map())).blockSize;
    const last = 1024 ** 3 / bs - 1;
    const indexes = [0, 1, 2, 100, 101, 4000, 9000, 9001, 20_000, last];
    const blocks = new Map(indexes.map((i) => [i, seededBytes(100 + i, bs)]));
    const first = await writeSnapshot(ebs, blocks);
    // Only blocks the parent has are changed: moto's ListChangedBlocks misses blocks that exist
    // only in the newer snapshot (AWS reports them; see the fault-injection tests).
    const childBlocks = new Map(blocks);
    childBlocks.set(100, seededBytes(7000, bs));
    childBlocks.set(9001, seededBytes(7001, bs));
    const second = await writeSnapshot(ebs, childBlocks, { parent: first.id });

    const full = await backup(await openEbsSnapshotSource(ebs, first.id), "ebs-disk");
    expect(full.logicalSize).toBe(1024 ** 3);
    const incremental = await backup(await openEbsSnapshotSource(ebs, second.id), "ebs-disk");
    expect(incremental.parent).toBe(full.recoveryPointId);
    // Only the 4 MiB chunks holding blocks 100 and 9001 are read.
    expect(incremental.bytesScanned).toBe(2 * 4 * MIB);
    expect(incremental.bytesChanged).toBeGreaterThan(0);

    for (const [point, want] of [
      [full, blocks],
      [incremental, childBlocks],
    ] as const) {
      const target = await openEbsSnapshotTarget(ebs, point.logicalSize);
      const restoredId = (await vault.restore(point.recoveryPointId, target)).target;
      expect(restoredId).toMatch(/^snap-/);
      const listing = await listSnapshotBlocks(ebs, restoredId);
      expect([...listing.tokens.keys()].sort((a, b) => a - b)).toEqual(indexes);
      const source = await openEbsSnapshotSource(ebs, restoredId);
      for (const [index, data] of want) {
        expect((await source.read(index * bs, bs)).equals(data), `block ${index}`).toBe(true);
      }
      await source.close();
    }
  });
});
