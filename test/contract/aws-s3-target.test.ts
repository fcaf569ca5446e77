import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { openS3ObjectTarget } from "../../lib/adapters/aws/s3-object-target.ts";
import { AlreadyExistsError, TransientError, ValidationError } from "../../lib/errors.ts";
import type { RestoreTarget } from "../../lib/ports/restore-target.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { recordCommands } from "./aws-fixture.ts";

const MIB = 1024 * 1024;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  s3 = s3Client(emulatorConfig());
  bucket = uniqueName("restores");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

async function getObject(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function openUploads(): Promise<string[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => u.Key!);
}

/**
 * Writes `image` into the target as the engine might: disjoint pieces of uneven, unaligned sizes
 * in shuffled order, concurrently, leaving out some pieces that are all zeros (holes).
 */
async function writeShuffled(target: RestoreTarget, image: Buffer, seed: number): Promise<void> {
  const pieces: { offset: number; length: number }[] = [];
  const sizes = seededBytes(seed, 4096);
  for (let at = 0, i = 0; at < image.length; i++) {
    const length = Math.min(
      image.length - at,
      1 + ((sizes.readUInt16BE((2 * i) % 4094) * 17) % (700 * 1024)),
    );
    pieces.push({ offset: at, length });
    at += length;
  }
  const order = pieces
    .map((p, i) => ({ p, key: sizes.readUInt32BE((4 * i) % 4092) ^ i }))
    .sort((a, b) => a.key - b.key)
    .map(({ p }) => p)
    .filter((p) => !image.subarray(p.offset, p.offset + p.length).every((b) => b === 0));
  for (let i = 0; i < order.length; i += 4) {
    await Promise.all(
      order.slice(i, i + 4).map((p) => target.write(p.offset, image.subarray(p.offset, p.offset + p.length))),
    );
  }
}

/** An image of random data with a zero gap spanning a part boundary and a zero tail. */
function sparseImage(size: number): Buffer {
  const image = seededBytes(21, size);
  image.fill(0, 4 * MIB, 6 * MIB + 12345);
  image.fill(0, size - 300_000);
  return image;
}

describe("S3 object restore target on the emulator", () => {
  it("assembles writes in any order into parts and completes the object on commit", async () => {
    const key = "restored/disk.img";
    const image = sparseImage(11 * MIB + 123);
    const target = await openS3ObjectTarget(s3, `s3://${bucket}/${key}`, image.length, { partSize: 5 * MIB });
    expect(target.description).toBe(`s3://${bucket}/${key}`);
    await writeShuffled(target, image, 1);
    // Nothing is visible before commit.
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toThrow();
    expect(await target.commit()).toBe(`s3://${bucket}/${key}`);
    const restored = await getObject(key);
    expect(restored.length).toBe(image.length);
    expect(sha256(restored)).toBe(sha256(image));
    expect(await openUploads()).not.toContain(key);
  });

  it("uploads a part as soon as all of its bytes are written", async () => {
    const client = s3Client(emulatorConfig());
    const sent = recordCommands(client);
    const image = seededBytes(3, 6 * MIB);
    const target = await openS3ObjectTarget(client, `s3://${bucket}/early.img`, image.length, {
      partSize: 5 * MIB,
    });
    // Part 2 (the last MiB) only partly, then part 1 whole.
    await target.write(5 * MIB, image.subarray(5 * MIB, 6 * MIB - 10));
    expect(sent.filter((c) => c === "UploadPartCommand")).toHaveLength(0);
    await target.write(0, image.subarray(0, 5 * MIB));
    expect(sent.filter((c) => c === "UploadPartCommand")).toHaveLength(1);
    await target.write(6 * MIB - 10, image.subarray(6 * MIB - 10));
    expect(sent.filter((c) => c === "UploadPartCommand")).toHaveLength(2);
    await target.commit();
    expect(sent.filter((c) => c === "UploadPartCommand")).toHaveLength(2);
    expect((await getObject("early.img")).equals(image)).toBe(true);
  });

  it("refuses an existing key unless forced, and then replaces it", async () => {
    const url = `s3://${bucket}/existing.img`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "existing.img", Body: "old" }));
    await expect(openS3ObjectTarget(s3, url, 10)).rejects.toBeInstanceOf(AlreadyExistsError);
    const target = await openS3ObjectTarget(s3, url, 10, { force: true });
    await target.write(0, Buffer.from("0123456789"));
    await target.commit();
    expect((await getObject("existing.img")).toString()).toBe("0123456789");
  });

  it("does not replace an object that appeared during the restore, and abort cleans up", async () => {
    const key = "raced.img";
    const target = await openS3ObjectTarget(s3, `s3://${bucket}/${key}`, 4);
    await target.write(0, Buffer.from("mine"));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "theirs" }));
    await expect(target.commit()).rejects.toBeInstanceOf(AlreadyExistsError);
    await target.abort();
    expect((await getObject(key)).toString()).toBe("theirs");
    expect(await openUploads()).not.toContain(key);
  });

  it("abort discards the upload, leaves no object, and is safe twice", async () => {
    const key = "aborted.img";
    const target = await openS3ObjectTarget(s3, `s3://${bucket}/${key}`, 6 * MIB, { partSize: 5 * MIB });
    await target.write(0, seededBytes(4, 5 * MIB + 10));
    expect(await openUploads()).toContain(key);
    await target.abort();
    await target.abort();
    expect(await openUploads()).not.toContain(key);
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toThrow();
    await expect(target.write(0, Buffer.alloc(1))).rejects.toThrow(/aborted/);
    await expect(target.commit()).rejects.toThrow(/aborted/);
  });

  it("refuses writes outside the image and writes overlapping earlier ones", async () => {
    const target = await openS3ObjectTarget(s3, `s3://${bucket}/bounds.img`, 100);
    await expect(target.write(90, Buffer.alloc(11))).rejects.toBeInstanceOf(ValidationError);
    await target.write(0, Buffer.alloc(60, 1));
    await expect(target.write(50, Buffer.alloc(50, 2))).rejects.toBeInstanceOf(ValidationError);
    await target.abort();
  });
});

describe("S3 object restore target (mocked client: sizes and failures moto cannot stand in for)", () => {
  const client = new S3Client({
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });

  it("raises the part size so a large image fits in 10,000 parts", async () => {
    const mock = mockClient(client);
    mock
      .on(HeadObjectCommand)
      .rejects(
        new S3ServiceException({ name: "NotFound", $fault: "client", $metadata: { httpStatusCode: 404 } }),
      );
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: "u" });
    mock.on(UploadPartCommand).resolves({ ETag: '"e"' });
    const size = 10_000 * 5 * MIB + 1;
    const target = await openS3ObjectTarget(client, "s3://b/big.img", size, { partSize: 5 * MIB });
    await target.write(0, Buffer.alloc(6 * MIB, 1));
    const parts = mock.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ PartNumber: 1, ContentLength: 6 * MIB });
    mock.restore();
  });

  it("fails the write whose part upload fails (fault injection: throttling)", async () => {
    const mock = mockClient(client);
    mock
      .on(HeadObjectCommand)
      .rejects(
        new S3ServiceException({ name: "NotFound", $fault: "client", $metadata: { httpStatusCode: 404 } }),
      );
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: "u" });
    mock.on(AbortMultipartUploadCommand).resolves({});
    mock
      .on(UploadPartCommand)
      .rejects(
        new S3ServiceException({ name: "SlowDown", $fault: "server", $metadata: { httpStatusCode: 503 } }),
      );
    const target = await openS3ObjectTarget(client, "s3://b/slow.img", 10);
    await expect(target.write(0, Buffer.alloc(10, 1))).rejects.toBeInstanceOf(TransientError);
    await target.abort();
    expect(mock.commandCalls(UploadPartCommand)).toHaveLength(1);
    expect(mock.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toMatchObject({ UploadId: "u" });
    mock.restore();
  });
});
