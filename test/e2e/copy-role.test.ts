import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assumedRole } from "../../lib/adapters/aws/assumed-role.ts";
import { stsClient } from "../../lib/adapters/aws/clients.ts";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { copyDestinations } from "../../lib/compose/copy-destinations.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { copyRef } from "../../lib/engine/copy/point-source.ts";
import { runCopyWork } from "../../lib/rules/copy-rules.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const ROLE = "arn:aws:iam::123456789012:role/blockvault-copy-writer";

let root: string;
let source: Vault;

beforeEach(async () => {
  root = await tempDir("copy-role");
  source = await initLocalVault(join(root, "source"), { name: "primary", blockSize: 4096 });
});

afterEach(async () => {
  await source.close();
  await removeDir(root);
});

describe("a copy rule naming a role of the destination's account (emulator)", () => {
  it("acts as that role: STS names the assumed role's session", async () => {
    const identity = await stsClient(assumedRole(emulatorConfig(), ROLE, "blockvault-copy")).send(
      new GetCallerIdentityCommand({}),
    );
    expect(identity.Arn).toMatch(/assumed-role\/blockvault-copy-writer\/blockvault-copy$/);
  });

  it("copies into the vault on S3 with the role's credentials, restorable there", async () => {
    const where = { bucket: uniqueName("dr"), table: uniqueName("dr"), aws: emulatorConfig() };
    await (await initAwsVault(where, { name: "dr", blockSize: 4096 })).close();
    const image = join(root, "web.img");
    await writeFile(image, seededBytes(21, 120_000));
    await source.createPolicy({
      name: "copied",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 2,
      copyTo: [{ vault: `s3://${where.bucket}`, table: where.table, roleArn: ROLE, retention: { days: 9 } }],
    });
    const point = (await backupFile(source, image, "web")).recoveryPointId;
    const disk = await source.ctx.deps.catalog.getDisk(source.id, "web");
    await source.ctx.deps.catalog.putDisk({ ...disk, policy: "copied" });

    const open = copyDestinations({ aws: emulatorConfig(), directories: false });
    const outcomes = await runCopyWork(source, { disk: "web", vault: `s3://${where.bucket}` }, open);
    expect(outcomes).toMatchObject([{ status: "copied", sourcePoint: point }]);
    const { openAwsVault } = await import("../../lib/compose/aws.ts");
    const dr = await openAwsVault(where);
    try {
      const [copy] = await dr.listPoints("web");
      expect(copy?.sourceRef).toBe(copyRef(source.id, point));
      expect(await restoreBytes(dr, copy!.id, root)).toEqual(seededBytes(21, 120_000));
    } finally {
      await dr.close();
    }
  });
});
