import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { openS3ImageSource } from "../../lib/adapters/aws/s3-image-source.ts";
import { SourceError, ValidationError } from "../../lib/errors.ts";
import { buildVhdFooter, VhdDiskType, vhdChecksum } from "../../lib/formats/vhd.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { trackConcurrency } from "./aws-fixture.ts";

let s3: S3Client;
let bucket: string;
const image = seededBytes(7, 1_000_003);

beforeAll(async () => {
  s3 = s3Client(emulatorConfig());
  bucket = uniqueName("images");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await put("disk.img", image);
});

async function put(key: string, body: Buffer): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return `s3://${bucket}/${key}`;
}

describe("S3 image source on the emulator", () => {
  it("sizes the image from HeadObject and reads any range byte-exact, clipped at the size", async () => {
    const source = await openS3ImageSource(s3, `s3://${bucket}/disk.img`, { partSize: 65536 });
    expect(source.size).toBe(image.length);
    expect(source.format).toBe("raw");
    expect(source.description).toBe(`s3://${bucket}/disk.img`);
    expect((await source.read(0, image.length)).equals(image)).toBe(true);
    expect((await source.read(12_345, 300_001)).equals(image.subarray(12_345, 312_346))).toBe(true);
    expect((await source.read(image.length - 5, 100)).equals(image.subarray(-5))).toBe(true);
    expect((await source.read(image.length, 100)).length).toBe(0);
    const into = Buffer.alloc(200_000, 0xee);
    const got = await source.read(500_000, 150_000, into);
    expect(got.buffer).toBe(into.buffer);
    expect(got.equals(image.subarray(500_000, 650_000))).toBe(true);
    await expect(source.read(-1, 10)).rejects.toBeInstanceOf(ValidationError);
    await source.close();
    await source.close();
    await expect(source.read(0, 1)).rejects.toThrow(/closed/);
  });

  it("splits a long read into parallel ranged GETs, no more in flight than the limit", async () => {
    const client = s3Client(emulatorConfig());
    const stats = trackConcurrency(client, "GetObjectCommand");
    const source = await openS3ImageSource(client, `s3://${bucket}/disk.img`, {
      partSize: 50_000,
      concurrency: 4,
    });
    expect((await source.read(0, image.length)).equals(image)).toBe(true);
    expect(stats.max).toBeGreaterThan(1);
    expect(stats.max).toBeLessThanOrEqual(4);
  });

  it("detects a fixed VHD and hides its footer", async () => {
    const disk = image.subarray(0, 512 * 1500);
    const url = await put("disk.vhd", Buffer.concat([disk, buildVhdFooter(disk.length)]));
    const source = await openS3ImageSource(s3, url);
    expect(source.format).toBe("vhd-fixed");
    expect(source.size).toBe(disk.length);
    expect((await source.read(0, disk.length + 512)).equals(disk)).toBe(true);
  });

  it("refuses a dynamic VHD and a VHD with a corrupt footer", async () => {
    const disk = image.subarray(0, 512 * 8);
    const dynamic = buildVhdFooter(disk.length);
    dynamic.writeUInt32BE(VhdDiskType.Dynamic, 60);
    dynamic.writeUInt32BE(vhdChecksum(dynamic), 64);
    const url = await put("dynamic.vhd", Buffer.concat([disk, dynamic]));
    await expect(openS3ImageSource(s3, url)).rejects.toThrow(`dynamic VHD is not supported: ${url}`);
    const corrupt = buildVhdFooter(disk.length);
    corrupt.writeUInt8(corrupt.readUInt8(100) ^ 1, 100);
    await expect(
      openS3ImageSource(s3, await put("corrupt.vhd", Buffer.concat([disk, corrupt]))),
    ).rejects.toThrow(/corrupt VHD footer/);
  });

  it("names the version it read in sourceRef; an unchanged object needs no reading", async () => {
    const url = await put("ref.img", image.subarray(0, 4096));
    const first = await openS3ImageSource(s3, url);
    const again = await openS3ImageSource(s3, url);
    expect(again.sourceRef).toBe(first.sourceRef);
    expect(await again.changedRanges!(first.sourceRef!)).toEqual([]);
    await put("ref.img", seededBytes(8, 4096));
    const changed = await openS3ImageSource(s3, url);
    expect(changed.sourceRef).not.toBe(first.sourceRef);
    expect(await changed.changedRanges!(first.sourceRef!)).toBeUndefined();
  });

  it("fails reads of an object replaced after open instead of mixing two images", async () => {
    const url = await put("replaced.img", image.subarray(0, 8192));
    const source = await openS3ImageSource(s3, url);
    await put("replaced.img", seededBytes(9, 8192));
    await expect(source.read(0, 4096)).rejects.toThrow(`image changed while being read: ${url}`);
  });

  it("keeps reading the version it opened in a versioned bucket", async () => {
    const versioned = uniqueName("versioned");
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: "Enabled" } }),
    );
    const old = image.subarray(0, 8192);
    await s3.send(new PutObjectCommand({ Bucket: versioned, Key: "d.img", Body: old }));
    const source = await openS3ImageSource(s3, `s3://${versioned}/d.img`);
    expect(source.sourceRef).toMatch(/versionId=/);
    await s3.send(new PutObjectCommand({ Bucket: versioned, Key: "d.img", Body: seededBytes(10, 8192) }));
    expect((await source.read(0, 8192)).equals(old)).toBe(true);
  });

  it("names the URL when the object or the bucket is missing, or the object is empty", async () => {
    await expect(openS3ImageSource(s3, `s3://${bucket}/nope.img`)).rejects.toThrow(
      new SourceError(`image not found: s3://${bucket}/nope.img`),
    );
    const noBucket = `s3://${uniqueName("absent")}/disk.img`;
    await expect(openS3ImageSource(s3, noBucket)).rejects.toThrow(`bucket does not exist: ${noBucket}`);
    const empty = await put("empty.img", Buffer.alloc(0));
    await expect(openS3ImageSource(s3, empty)).rejects.toThrow(`image is empty (0 bytes): ${empty}`);
    await expect(openS3ImageSource(s3, "https://example.com/disk.img")).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe("S3 image source (fault injection: moto does not enforce IAM)", () => {
  it("reports access denied as a SourceError naming the URL", async () => {
    const client = new S3Client({
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const mock = mockClient(client);
    mock.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: "AccessDenied",
        $fault: "client",
        message: "Access Denied",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const err = await openS3ImageSource(client, "s3://b/k.img").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/^open image s3:\/\/b\/k\.img: access denied/);
    expect((err as SourceError).retryable).toBe(false);
    mock.restore();
  });
});
