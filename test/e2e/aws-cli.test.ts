import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ebsClient, s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { writeSnapshot } from "../contract/aws-fixture.ts";
import { emulatorConfig, uniqueName, useEmulatorFromCli } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { cliJson, diskImage } from "./cli-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const MIB = 1024 * 1024;
let dir: string;
let bucket: string;
let table: string;
let aws: string[];

beforeAll(async () => {
  ({ bucket, table, flags: aws } = useEmulatorFromCli());
  dir = await tempDir("aws-cli");
});

afterAll(async () => {
  await removeDir(dir);
});

describe("the CLI on the AWS backend (S3, DynamoDB and KMS on the emulator)", () => {
  const points: { id: string; bytes: Buffer }[] = [];

  it("init creates the bucket, the catalog table and a KMS key", async () => {
    const r = await cliJson("init", "--name", "cloud", ...aws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ name: "cloud", bucket, table });
    expect(r.json.kmsKey).toMatch(/^arn:aws:kms:/);
    const again = await cliJson("init", "--name", "cloud", ...aws);
    expect(again.code).toBe(4);
  });

  it("backs up fully and incrementally, and restores each point byte for byte", async () => {
    const first = diskImage(1);
    const second = Buffer.from(first);
    seededBytes(99, 64 * 1024).copy(second, 5 * MIB);
    for (const [i, bytes] of [first, second].entries()) {
      const path = join(dir, `disk-${i}.img`);
      await writeFile(path, bytes);
      const r = await cliJson("backup", path, "--disk", "web", ...aws);
      expect(r.code, r.stderr).toBe(0);
      points.push({ id: r.json.recoveryPointId, bytes });
      if (i === 1) expect(r.json.bytesStored).toBeLessThan(MIB);
    }
    for (const point of points) {
      const target = join(dir, `restore-${point.id}.img`);
      const r = await cliJson("restore", point.id, "--to", target, ...aws);
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(await readFile(target))).toBe(sha256(point.bytes));
    }
    const list = await cliJson("list", ...aws);
    expect(list.json.map((p: { id: string }) => p.id).sort()).toEqual(points.map((p) => p.id).sort());
    const check = await cliJson("check", "--read-data", ...aws);
    expect(check.code, check.stderr).toBe(0);
  });

  it("refuses to read an archived pack until it is restored from the archive", async () => {
    const store = new S3ObjectStore(s3Client(emulatorConfig()), { bucket });
    const packs: string[] = [];
    for await (const info of store.list("packs/")) packs.push(info.key);
    for (const key of packs) await store.setStorageClass(key, "GLACIER");
    const target = join(dir, "archived.img");
    const refused = await cliJson("restore", points[0]!.id, "--to", target, ...aws);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/archived/);
    for (const key of packs) await store.requestRestore(key, { days: 1, tier: "Standard" });
    const r = await cliJson("restore", points[0]!.id, "--to", target, ...aws);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(await readFile(target))).toBe(sha256(points[0]!.bytes));
  });

  it("backs up an EBS snapshot through the EBS direct APIs", async () => {
    const ebs = ebsClient(emulatorConfig());
    const blockBytes = 512; // moto reports 512-byte snapshot blocks
    const blocks = new Map([0, 7, 4096].map((i) => [i, seededBytes(i + 1, blockBytes)] as const));
    const snapshot = await writeSnapshot(ebs, blocks);
    const r = await cliJson("backup", `ebs://${snapshot.id}`, "--disk", "db", ...aws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ format: "ebs-snapshot", logicalSize: snapshot.volumeBytes });
    const target = join(dir, "ebs.img");
    const restored = await cliJson(
      "restore",
      r.json.recoveryPointId,
      "--to",
      target,
      "--offset",
      "0",
      "--length",
      "4194304",
      ...aws,
    );
    expect(restored.code, restored.stderr).toBe(0);
    const bytes = await readFile(target);
    for (const [i, data] of blocks)
      expect(bytes.subarray(i * blockBytes, (i + 1) * blockBytes)).toEqual(data);
  });

  it("names what is missing: no bucket flag, a bucket without a vault", async () => {
    const noBucket = await cliJson("list", "--backend", "aws", "--table", table);
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(/--bucket/);
    const empty = uniqueName("empty");
    await cliJson("init", "--name", "x", "--backend", "aws", "--bucket", empty, "--table", table);
    const other = await cliJson(
      "list",
      "--backend",
      "aws",
      "--bucket",
      uniqueName("nothing"),
      "--table",
      table,
    );
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/holds no blockvault vault|does not exist/);
    const wrongBackend = await cliJson("list", "--backend", "gcp");
    expect(wrongBackend.code).toBe(2);
  });
});
