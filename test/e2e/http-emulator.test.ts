import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ebsClient, s3Client } from "../../lib/adapters/aws/clients.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { OWNER } from "../../lib/rules/roles.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { describeHttpFlow } from "./http-flow.ts";

process.env.BLOCKVAULT_WORKERS = "1";

// The same handlers on the AWS adapters: packs in S3, the catalog and reference records in
// DynamoDB, keys from KMS, archive storage classes and restores from S3 — all on the emulator.
// The queue and the state machines run in process, as moto's Step Functions cannot call them.
describeHttpFlow(
  "the emulator-backed runtime (AWS adapters)",
  async (_root, clock) => {
    const aws = emulatorConfig();
    const bucket = uniqueName("http-flow");
    const vault = await initAwsVault(
      { bucket, table: uniqueName("http-flow"), aws, clock },
      { name: "cloud", blockSize: 4096 },
    );
    const s3 = s3Client(aws);
    const runtime = await startEmbeddedRuntime({
      vault,
      archive: new S3ObjectStore(s3, { bucket }),
      // The caller is the owner here; IAM principal mapping has its own tests.
      principals: async () => OWNER,
      port: 0,
      tickMs: 0,
      waitMs: 0,
      retryIntervalMs: 0,
      queueBackoffMs: () => 1,
      aws,
    });
    const ebs = ebsClient(aws);
    return {
      vault,
      runtime,
      cloudTargets: {
        s3Url: `s3://${bucket}/restores/web.img`,
        async readS3(url) {
          const key = url.slice(`s3://${bucket}/`.length);
          const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return Buffer.from(await res.Body!.transformToByteArray());
        },
        async readSnapshot(snapshotId, length) {
          const source = await openEbsSnapshotSource(ebs, snapshotId);
          try {
            return Buffer.from(await source.read(0, length));
          } finally {
            await source.close();
          }
        },
      },
      async close() {
        ebs.destroy();
        await runtime.stop();
        await vault.close();
        s3.destroy();
      },
    };
  },
  { cloudTargets: true },
);
