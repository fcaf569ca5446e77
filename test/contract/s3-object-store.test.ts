import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import {
  AccessDeniedError,
  ArchivedObjectError,
  IntegrityError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../lib/errors.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { describeObjectStoreContract, listAll } from "./object-store.contract.ts";

async function newBucket(s3: S3Client): Promise<string> {
  const bucket = uniqueName("bv-s3");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

let sharedBucket: Promise<string> | undefined;

/** A store on moto; a fresh prefix in one shared bucket, or a fresh bucket with no prefix. */
async function motoStore(mode: "prefix" | "bucket", options: { storageClass?: "STANDARD_IA" } = {}) {
  const s3 = s3Client(emulatorConfig());
  if (mode === "prefix" && sharedBucket === undefined) sharedBucket = newBucket(s3);
  const bucket = mode === "prefix" && sharedBucket ? await sharedBucket : await newBucket(s3);
  const prefix = mode === "prefix" ? uniqueName("t") : undefined;
  const store = new S3ObjectStore(s3, { bucket, prefix, ...options });
  const cleanup = async () => {
    for await (const info of store.list("")) await store.delete(info.key);
    s3.destroy();
  };
  return { s3, bucket, store, cleanup };
}

describeObjectStoreContract("S3ObjectStore on moto (a unique prefix per test)", () => motoStore("prefix"));
describeObjectStoreContract("S3ObjectStore on moto (a whole bucket, no prefix)", () => motoStore("bucket"));

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("base64");

describe("S3ObjectStore on moto", () => {
  let fixture: Awaited<ReturnType<typeof motoStore>>;
  let store: S3ObjectStore;
  beforeEach(async () => {
    fixture = await motoStore("prefix");
    store = fixture.store;
  });
  afterEach(() => fixture.cleanup());

  /** HeadObject straight from S3, with the stored checksum. */
  const rawHead = (key: string) =>
    fixture.s3.send(
      new HeadObjectCommand({
        Bucket: fixture.bucket,
        Key: `${store.prefix}${key}`,
        ChecksumMode: "ENABLED",
      }),
    );

  it("keeps under the prefix, lists without it, and never sees a neighbouring prefix", async () => {
    // `<prefix>x/` shares the string prefix of `<prefix>/` but is another store's.
    const sibling = `${store.prefix.slice(0, -1)}x`;
    const neighbour = new S3ObjectStore(fixture.s3, { bucket: fixture.bucket, prefix: sibling });
    await store.put("a/1", Buffer.from("mine"));
    await neighbour.put("a/2", Buffer.from("theirs"));
    expect(store.prefix.endsWith("/")).toBe(true);
    expect((await rawHead("a/1")).ContentLength).toBe(4);
    expect(await listAll(store, "")).toEqual([{ key: "a/1", size: 4 }]);
    expect(await listAll(neighbour, "")).toEqual([{ key: "a/2", size: 6 }]);
    await neighbour.delete("a/2");
  });

  it("sends a locally computed SHA-256 that S3 keeps with the object", async () => {
    const data = Buffer.from("checksummed bytes");
    await store.put("sum", data);
    expect((await rawHead("sum")).ChecksumSHA256).toBe(sha256(data));
  });

  it("stores in the store's default class unless a put names another", async () => {
    const ia = await motoStore("prefix", { storageClass: "STANDARD_IA" });
    try {
      await ia.store.put("default", Buffer.from("x"));
      await ia.store.put("explicit", Buffer.from("y"), { storageClass: "STANDARD" });
      expect(await ia.store.storageClass("default")).toBe("STANDARD_IA");
      expect(await ia.store.storageClass("explicit")).toBe("STANDARD");
      expect(await ia.store.restoreState("default")).toBe("online");
    } finally {
      await ia.cleanup();
    }
  });

  it("refuses reads of a GLACIER object with ArchivedObjectError until it is restored, then reads it", async () => {
    const data = Buffer.from("cold data");
    await store.put("cold", data, { storageClass: "GLACIER" });
    expect(await store.storageClass("cold")).toBe("GLACIER");
    expect(await store.restoreState("cold")).toBe("archived");
    expect(await store.head("cold")).toMatchObject({ key: "cold", size: data.length });
    const err = await store.get("cold").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchivedObjectError);
    expect((err as Error).message).toContain("cold");
    await expect(store.get("cold", { offset: 0, length: 2 })).rejects.toBeInstanceOf(ArchivedObjectError);
    // Changing class means copying, which S3 refuses for an archived object.
    await expect(store.setStorageClass("cold", "STANDARD")).rejects.toBeInstanceOf(ArchivedObjectError);

    await store.requestRestore("cold", { days: 1, tier: "Bulk" });
    // moto completes a restore at once; AWS would report "restoring" for hours first.
    expect(await store.restoreState("cold")).toBe("restored");
    await store.requestRestore("cold", { days: 2, tier: "Standard" });
    expect(await store.get("cold")).toEqual(data);
    expect(await store.storageClass("cold")).toBe("GLACIER");

    await store.setStorageClass("cold", "STANDARD");
    expect(await store.restoreState("cold")).toBe("online");
    expect((await rawHead("cold")).ChecksumSHA256).toBe(sha256(data));
  });

  it("moves objects between classes keeping bytes and checksum, and treats the same class as a no-op", async () => {
    const data = Buffer.from("tiered");
    await store.put("t", data);
    await store.setStorageClass("t", "STANDARD");
    await store.setStorageClass("t", "STANDARD_IA");
    await store.setStorageClass("t", "STANDARD_IA");
    expect(await store.storageClass("t")).toBe("STANDARD_IA");
    expect(await store.get("t")).toEqual(data);
    await store.setStorageClass("t", "DEEP_ARCHIVE");
    expect(await store.restoreState("t")).toBe("archived");
    await expect(store.get("t")).rejects.toBeInstanceOf(ArchivedObjectError);
    const head = await rawHead("t");
    expect(head.StorageClass).toBe("DEEP_ARCHIVE");
    expect(head.ChecksumSHA256).toBe(sha256(data));
  });

  it("treats a restore of an online object as done, and refuses bad days", async () => {
    await store.put("warm", Buffer.from("w"));
    await expect(store.requestRestore("warm", { days: 1, tier: "Standard" })).resolves.toBeUndefined();
    expect(await store.restoreState("warm")).toBe("online");
    for (const days of [0, -1, 1.5, Number.NaN]) {
      await expect(store.requestRestore("warm", { days, tier: "Bulk" })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });

  it("rejects archive operations on a missing key with NotFoundError naming it, and invalid keys", async () => {
    const calls = [
      () => store.storageClass("no/such"),
      () => store.setStorageClass("no/such", "GLACIER"),
      () => store.requestRestore("no/such", { days: 1, tier: "Bulk" }),
      () => store.restoreState("no/such"),
    ];
    for (const call of calls) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain("no/such");
    }
    await expect(store.storageClass("a//b")).rejects.toBeInstanceOf(ValidationError);
    await expect(store.requestRestore("../x", { days: 1, tier: "Bulk" })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it("reports a storage class blockvault does not manage as such, not as a wrong guess", async () => {
    await fixture.s3.send(
      new PutObjectCommand({
        Bucket: fixture.bucket,
        Key: `${store.prefix}it`,
        Body: "x",
        StorageClass: "INTELLIGENT_TIERING",
      }),
    );
    const err = await store.storageClass("it").catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("UNSUPPORTED_STORAGE_CLASS");
    expect((err as Error).message).toContain("INTELLIGENT_TIERING");
  });

  it("rejects every call on a missing bucket with a non-retryable NotFoundError naming the bucket", async () => {
    const bucket = uniqueName("bv-missing");
    const missing = new S3ObjectStore(fixture.s3, { bucket });
    const calls = [
      () => missing.put("k", Buffer.from("x")),
      () => missing.get("k"),
      () => missing.head("k"),
      () => missing.delete("k"),
      () => listAll(missing, ""),
    ];
    for (const call of calls) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain(bucket);
      expect((err as NotFoundError).retryable).toBe(false);
    }
  });

  it("refuses an invalid prefix", () => {
    for (const prefix of ["/abs", "a//", "a b", "../up"]) {
      expect(() => new S3ObjectStore(fixture.s3, { bucket: "b", prefix })).toThrow(ValidationError);
    }
  });
});

/** An S3 error as the SDK raises it. */
function s3Error(name: string, status: number, fault: "client" | "server" = "client"): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe("S3ObjectStore failure translation (fault injection)", () => {
  const s3 = s3Client({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const mock = mockClient(s3);
  const store = new S3ObjectStore(s3, { bucket: "fault-bucket", prefix: "vault" });
  afterEach(() => {
    mock.reset();
  });

  const everyCall = () => [
    () => store.put("k", Buffer.from("x")),
    () => store.get("k"),
    () => store.get("k", { offset: 0, length: 1 }),
    () => store.head("k"),
    () => store.delete("k"),
    () => listAll(store, ""),
    () => store.setStorageClass("k", "GLACIER"),
  ];

  it("makes throttling, 5xx and dropped connections retryable TransientErrors", async () => {
    const failures = [
      s3Error("SlowDown", 503, "server"),
      s3Error("InternalError", 500, "server"),
      s3Error("ServiceUnavailable", 503, "server"),
      Object.assign(new Error("socket hang up"), { name: "ECONNRESET", code: "ECONNRESET" }),
    ];
    for (const failure of failures) {
      mock.reset();
      mock.onAnyCommand().rejects(failure);
      for (const call of everyCall()) {
        const err = await call().catch((e: unknown) => e);
        expect(err, failure.name).toBeInstanceOf(TransientError);
        expect((err as TransientError).retryable).toBe(true);
        expect((err as Error).message).toContain("fault-bucket");
      }
    }
  });

  it("makes access denied a non-retryable AccessDeniedError", async () => {
    mock.onAnyCommand().rejects(s3Error("AccessDenied", 403));
    for (const call of everyCall()) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AccessDeniedError);
      expect((err as AccessDeniedError).retryable).toBe(false);
    }
  });

  it("sends a create-only put with the SHA-256 of exactly the given view, in the default class", async () => {
    mock.on(PutObjectCommand).resolves({});
    const backing = Buffer.from("xxPAYLOADyy");
    await store.put("packs/1", new Uint8Array(backing.buffer, backing.byteOffset + 2, 7));
    const input = mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: "fault-bucket",
      Key: "vault/packs/1",
      IfNoneMatch: "*",
      ChecksumSHA256: sha256(Buffer.from("PAYLOAD")),
      ContentLength: 7,
    });
    expect(input.StorageClass).toBeUndefined();
  });

  it("retries a put that met a concurrent conditional write (409), since that write may still fail", async () => {
    mock.on(PutObjectCommand).rejects(s3Error("ConditionalRequestConflict", 409));
    const err = await store.put("k", Buffer.from("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
  });

  it("retries a put whose bytes S3 found damaged in transit (moto does not verify checksums)", async () => {
    mock.on(PutObjectCommand).rejects(s3Error("BadDigest", 400));
    await expect(store.put("k", Buffer.from("x"))).rejects.toBeInstanceOf(TransientError);
  });

  it("makes a body shorter than S3 announced an IntegrityError, whole or ranged", async () => {
    const body = (text: string) => ({ transformToByteArray: async () => new Uint8Array(Buffer.from(text)) });
    mock
      .on(GetObjectCommand)
      .resolvesOnce({ ContentLength: 10, Body: body("0123") as never })
      .resolvesOnce({ ContentRange: "bytes 4-9/10", Body: body("456") as never });
    await expect(store.get("k")).rejects.toBeInstanceOf(IntegrityError);
    const err = await store.get("k", { offset: 4, length: 6 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/got 3 of 6 bytes.*10-byte object/);
  });

  it("reports restoring and restored from the x-amz-restore header (moto never shows a restore in progress)", async () => {
    mock
      .on(HeadObjectCommand)
      .resolvesOnce({ StorageClass: "GLACIER", Restore: 'ongoing-request="true"' })
      .resolvesOnce({
        StorageClass: "DEEP_ARCHIVE",
        Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
      })
      .resolvesOnce({ StorageClass: "DEEP_ARCHIVE" })
      .resolvesOnce({ StorageClass: "STANDARD_IA" });
    expect(await store.restoreState("k")).toBe("restoring");
    expect(await store.restoreState("k")).toBe("restored");
    expect(await store.restoreState("k")).toBe("archived");
    expect(await store.restoreState("k")).toBe("online");
  });

  it("treats a restore already in progress as success (fault injection: moto accepts repeats silently)", async () => {
    mock.on(RestoreObjectCommand).rejects(s3Error("RestoreAlreadyInProgress", 409));
    await expect(store.requestRestore("k", { days: 3, tier: "Expedited" })).resolves.toBeUndefined();
    expect(mock.commandCalls(RestoreObjectCommand)[0]!.args[0].input).toMatchObject({
      Key: "vault/k",
      RestoreRequest: { Days: 3, GlacierJobParameters: { Tier: "Expedited" } },
    });
  });

  it("follows continuation tokens across list pages, skipping keys that are not blockvault's", async () => {
    mock.on(ListObjectsV2Command).callsFake((input: { ContinuationToken?: string; Prefix?: string }) => {
      expect(input.Prefix).toBe("vault/p");
      if (input.ContinuationToken === undefined) {
        return { IsTruncated: true, NextContinuationToken: "t1", Contents: [{ Key: "vault/p1", Size: 1 }] };
      }
      expect(input.ContinuationToken).toBe("t1");
      return {
        IsTruncated: false,
        Contents: [
          { Key: "vault/p2", Size: 2 },
          { Key: "vault/p 3", Size: 3 },
        ],
      };
    });
    expect(await listAll(store, "p")).toEqual([
      { key: "p1", size: 1 },
      { key: "p2", size: 2 },
    ]);
    expect(mock.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });
});
