import { initAwsVault } from "../../lib/adapters/aws/aws-vault.ts";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { startEmbeddedRuntime } from "../../lib/app/embedded.ts";
import { OWNER } from "../../lib/rules/roles.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { describeHttpFlow } from "./http-flow.ts";

process.env.BLOCKVAULT_WORKERS = "1";

// The same handlers on the AWS adapters: packs in S3, the catalog and reference records in
// DynamoDB, keys from KMS, archive storage classes and restores from S3 — all on the emulator.
// The queue and the state machines run in process, as moto's Step Functions cannot call them.
describeHttpFlow("the emulator-backed runtime (AWS adapters)", async (_root, clock) => {
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
  });
  return {
    vault,
    runtime,
    async close() {
      await runtime.stop();
      await vault.close();
      s3.destroy();
    },
  };
});
