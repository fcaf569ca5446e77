import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";

describe("AWS emulator tier", () => {
  it("answers S3 calls on the endpoint the global setup provides", async () => {
    const s3 = s3Client(emulatorConfig());
    const bucket = uniqueName("probe");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect(head.$metadata.httpStatusCode).toBe(200);
  });
});
