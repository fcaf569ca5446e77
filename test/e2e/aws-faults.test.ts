import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient, kmsClient, s3Client } from "../../lib/adapters/aws/clients.ts";
import { openDynamoCatalog } from "../../lib/adapters/aws/dynamo/catalog.ts";
import { createCatalogTable } from "../../lib/adapters/aws/dynamo/table.ts";
import { createVaultKey, KmsKeyService } from "../../lib/adapters/aws/kms-key-service.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { localFiles } from "../../lib/compose/decorate.ts";
import { PointState } from "../../lib/model.ts";
import { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

/** Fails the `at`-th AWS request counted across every client it is installed on. */
interface FaultPlan {
  calls: number;
  at: number;
  /** "refused": the request never reaches AWS; "lost": it lands, its response is lost. */
  kind: "refused" | "lost";
}

function serviceUnavailable(): Error {
  return Object.assign(new Error("simulated 503"), {
    name: "ServiceUnavailable",
    $fault: "server",
    $metadata: { httpStatusCode: 503 },
  });
}

function install(client: { middlewareStack: unknown }, plan: FaultPlan): void {
  (client.middlewareStack as S3Client["middlewareStack"]).add(
    (next) => async (args) => {
      plan.calls++;
      if (plan.calls !== plan.at) return next(args);
      if (plan.kind === "lost") await next(args);
      throw serviceUnavailable();
    },
    { step: "initialize" },
  );
}

let dir: string;
let vault: Vault;
const plan: FaultPlan = { calls: 0, at: 0, kind: "refused" };

beforeAll(async () => {
  dir = await tempDir("aws-faults");
  const config = emulatorConfig();
  const s3 = s3Client(config);
  const dynamo = dynamoDocumentClient(config);
  const kms = kmsClient(config);
  for (const client of [s3, dynamo, kms]) install(client, plan);
  const bucket = uniqueName("faults");
  const table = uniqueName("faults");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await createCatalogTable(dynamo, table);
  const key = await createVaultKey(kms, { description: "faults" });
  // No retry decorators: every injected fault reaches the engine as a failed call.
  vault = await Vault.init(
    {
      store: new S3ObjectStore(s3, { bucket }),
      catalog: openDynamoCatalog({ tableName: table, client: dynamo }),
      keys: new KmsKeyService(kms, key),
      clock: { now: () => Date.now() },
      // Restores go to local files; the store's objects are not files.
      localFiles: localFiles(undefined),
    },
    { name: "faults", blockSize: 4096 },
  );
});

afterAll(async () => {
  await vault.close();
  await removeDir(dir);
});

describe("a failed AWS call at any point of a backup", () => {
  it("leaves no visible half recovery point, and the next backup succeeds", async () => {
    const base = seededBytes(1, 512 * 1024);
    const images = new Map<string, Buffer>();
    let n = 0;
    const backup = async (bytes: Buffer) => {
      const path = join(dir, `img-${n++}`);
      await writeFile(path, bytes);
      return backupFile(vault, path, "web");
    };
    const first = await backup(base);
    images.set(first.recoveryPointId, base);
    const variant = (seed: number) => {
      const out = Buffer.from(base);
      seededBytes(seed, 16 * 4096).copy(out, (seed % 100) * 4096);
      return out;
    };
    // A dry run counts the calls of one incremental backup.
    plan.calls = 0;
    plan.at = 0;
    const counted = await backup(variant(2));
    images.set(counted.recoveryPointId, variant(2));
    const total = plan.calls;
    expect(total).toBeGreaterThan(10);
    for (const kind of ["refused", "lost"] as const) {
      for (let at = 1; at <= total; at++) {
        const points = await vault.listPoints("web");
        plan.calls = 0;
        plan.at = at;
        plan.kind = kind;
        const image = variant(at + 3);
        const result = await backup(image).catch((e: unknown) => e);
        plan.at = 0;
        const after = await vault.listPoints("web");
        if (result instanceof Error) {
          // A lost commit response may hide a commit that landed: then the point is whole.
          const added = after.filter((p) => !points.some((q) => q.id === p.id));
          for (const p of added) images.set(p.id, image);
          expect(added.length, `${kind} fault at call ${at}`).toBeLessThanOrEqual(kind === "lost" ? 1 : 0);
        } else images.set((result as { recoveryPointId: string }).recoveryPointId, image);
      }
    }
    for (const point of await vault.listPoints("web")) {
      if (point.state !== PointState.Available) continue;
      expect(sha256(await restoreBytes(vault, point.id, dir)), point.id).toBe(sha256(images.get(point.id)!));
    }
    expect((await vault.check()).ok).toBe(true);
  });
});
