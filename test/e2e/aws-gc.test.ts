import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { S3ObjectStore } from "../../lib/adapters/aws/s3-object-store.ts";
import { openAwsVault } from "../../lib/compose/aws.ts";
import { idFromKey } from "../../lib/engine/store/layout.ts";
import { purgeExpired } from "../../lib/rules/soft-delete.ts";
import { emulatorConfig, useEmulatorFromCli } from "../helpers/aws.ts";
import { sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { cliJson, diskImage } from "./cli-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const _MIB = 1024 * 1024;
const DAY = 24 * 60 * 60 * 1000;
let dir: string;
let bucket: string;
let table: string;
let aws: string[];

beforeAll(async () => {
  ({ bucket, table, flags: aws } = useEmulatorFromCli());
  dir = await tempDir("aws-gc");
});

afterAll(async () => {
  await removeDir(dir);
});

/** Ids of the pack objects in the vault's bucket. */
async function packsInBucket(): Promise<string[]> {
  const s3 = s3Client(emulatorConfig());
  try {
    const ids: string[] = [];
    for await (const info of new S3ObjectStore(s3, { bucket }).list("packs/")) ids.push(idFromKey(info.key));
    return ids.sort();
  } finally {
    s3.destroy();
  }
}

describe("garbage collection on the AWS backend (references in the DynamoDB catalog table)", () => {
  it("deletes the packs only a purged point used, and the remaining point stays whole", async () => {
    const init = await cliJson("init", "--name", "gc", ...aws);
    expect(init.code, init.stderr).toBe(0);

    const points: { id: string; bytes: Buffer }[] = [];
    for (const seed of [1, 2]) {
      const bytes = diskImage(seed);
      const path = join(dir, `disk-${seed}.img`);
      await writeFile(path, bytes);
      const r = await cliJson("backup", path, "--disk", "web", ...aws);
      expect(r.code, r.stderr).toBe(0);
      points.push({ id: r.json.recoveryPointId, bytes });
    }
    const [first, second] = points as [(typeof points)[0], (typeof points)[0]];
    const before = await packsInBucket();

    const deleted = await cliJson("delete", first.id, ...aws);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json.state).toBe("soft-deleted");
    // Let the soft-delete period pass: a vault opened with a clock past it purges the point.
    const later = await openAwsVault({
      bucket,
      table,
      aws: emulatorConfig(),
      clock: { now: () => Date.now() + 15 * DAY },
    });
    try {
      expect(await purgeExpired(later.ctx)).toEqual([first.id]);
    } finally {
      await later.close();
    }

    const gc = await cliJson("gc", ...aws);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.json.pointsReleased).toEqual([first.id]);
    const packsDeleted: string[] = gc.json.packsDeleted;
    expect(packsDeleted.length).toBeGreaterThan(0);
    expect(gc.json.bytesFreed).toBeGreaterThan(0);
    const after = await packsInBucket();
    for (const id of packsDeleted) {
      expect(before).toContain(id);
      expect(after).not.toContain(id);
    }
    expect(after).toEqual(before.filter((id) => !packsDeleted.includes(id)));
    expect(after.length).toBeGreaterThan(0);

    const target = join(dir, "restored.img");
    const restored = await cliJson("restore", second.id, "--to", target, ...aws);
    expect(restored.code, restored.stderr).toBe(0);
    expect(sha256(await readFile(target))).toBe(sha256(second.bytes));
    const check = await cliJson("check", "--read-data", ...aws);
    expect(check.code, check.stderr).toBe(0);
    expect(check.json.ok).toBe(true);

    // Nothing is left to collect: a second run deletes nothing.
    const again = await cliJson("gc", ...aws);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.packsDeleted).toEqual([]);
  });
});
