import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { RetryingObjectStore } from "../../lib/decorators/retrying-object-store.ts";
import { AccessDeniedError } from "../../lib/errors.ts";
import { RetentionMode } from "../../lib/ports/object-store.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { recordCommands } from "./aws-fixture.ts";
import { describeRetentionContract } from "./object-retention.contract.ts";

const DAY = 86_400_000;

/** A bucket with Object Lock on (so versioned), as the deployment makes it, and a store on it. */
async function lockedBucketStore() {
  const s3 = s3Client(emulatorConfig());
  const bucket = uniqueName("bv-lock");
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  const store = new S3ObjectStore(s3, { bucket, prefix: "vault" });
  // Retained versions stay behind, as they would on S3; each test has a bucket of its own.
  return { s3, bucket, store, cleanup: async () => s3.destroy() };
}

describeRetentionContract("S3ObjectStore on moto (Object Lock bucket)", lockedBucketStore);

describe("S3ObjectStore retention on moto", () => {
  let fixture: Awaited<ReturnType<typeof lockedBucketStore>>;
  let s3: S3Client;
  let store: S3ObjectStore;
  beforeEach(async () => {
    fixture = await lockedBucketStore();
    ({ s3, store } = fixture);
  });
  afterEach(() => fixture.cleanup());

  const raw = (key: string) =>
    s3.send(new HeadObjectCommand({ Bucket: fixture.bucket, Key: `vault/${key}` }));
  const versions = async (key: string) =>
    (await s3.send(new ListObjectVersionsCommand({ Bucket: fixture.bucket, Prefix: `vault/${key}` })))
      .Versions ?? [];

  it("sets Object Lock retention on the current version, rounded up to S3's whole seconds", async () => {
    await store.put("packs/ab/1", Buffer.from("pack"));
    const until = Date.now() + DAY + 123;
    await store.retain("packs/ab/1", until, RetentionMode.Governance);
    const head = await raw("packs/ab/1");
    expect(head.ObjectLockMode).toBe("GOVERNANCE");
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBe(Math.ceil(until / 1000) * 1000);
  });

  it("never sends a shorter date or a weaker mode (moto would accept both; S3 refuses them)", async () => {
    await store.put("packs/ab/2", Buffer.from("pack"));
    const until = Date.now() + 10 * DAY;
    await store.retain("packs/ab/2", until, RetentionMode.Compliance);
    const sent = recordCommands(s3);
    await store.retain("packs/ab/2", until - DAY, RetentionMode.Compliance);
    await store.retain("packs/ab/2", until, RetentionMode.Governance);
    expect(sent).toEqual(["HeadObjectCommand", "HeadObjectCommand"]);
    const head = await raw("packs/ab/2");
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime()]).toEqual([
      "COMPLIANCE",
      Math.ceil(until / 1000) * 1000,
    ]);
  });

  it("upgrades governance to compliance by a copy onto itself, without bypassing governance", async () => {
    await store.put("index/1", Buffer.from("index bytes"));
    const until = Date.now() + DAY;
    await store.retain("index/1", until, RetentionMode.Governance);
    const sent = recordCommands(s3);
    await store.retain("index/1", until, RetentionMode.Compliance);
    expect(sent).toEqual(["HeadObjectCommand", "CopyObjectCommand"]);
    expect((await raw("index/1")).ObjectLockMode).toBe("COMPLIANCE");
    expect((await store.get("index/1")).toString()).toBe("index bytes");
    // The governance version stays, noncurrent and still retained, until its own date.
    expect((await versions("index/1")).length).toBe(2);
  });

  it("refuses to delete a retained object instead of hiding it behind a delete marker", async () => {
    await store.put("manifests/a/1", Buffer.from("root"));
    await store.retain("manifests/a/1", Date.now() + DAY, RetentionMode.Governance);
    const sent = recordCommands(s3);
    await expect(store.delete("manifests/a/1")).rejects.toBeInstanceOf(AccessDeniedError);
    expect(sent).toEqual(["HeadObjectCommand"]);
    const list = await s3.send(
      new ListObjectVersionsCommand({ Bucket: fixture.bucket, Prefix: "vault/manifests/a/1" }),
    );
    expect(list.DeleteMarkers ?? []).toEqual([]);
    expect((await store.get("manifests/a/1")).toString()).toBe("root");
  });

  it("keeps the retention when tiering copies the object onto itself", async () => {
    await store.put("packs/ab/3", Buffer.from("pack"));
    const held = await store.retain("packs/ab/3", Date.now() + DAY, RetentionMode.Compliance);
    await store.setStorageClass("packs/ab/3", "STANDARD_IA");
    const head = await raw("packs/ab/3");
    expect(head.StorageClass).toBe("STANDARD_IA");
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime()]).toEqual([
      "COMPLIANCE",
      held.until,
    ]);
    await expect(store.delete("packs/ab/3")).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it("is forwarded by the retrying decorator the AWS vault wraps the store in", async () => {
    const wrapped = new RetryingObjectStore(store);
    await wrapped.put("packs/ab/4", Buffer.from("pack"));
    const held = await wrapped.retain?.("packs/ab/4", Date.now() + DAY, RetentionMode.Governance);
    expect(held?.mode).toBe(RetentionMode.Governance);
    expect((await raw("packs/ab/4")).ObjectLockMode).toBe("GOVERNANCE");
  });
});
