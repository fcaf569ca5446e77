import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { initLocalVault, openLocalVault } from "../../lib/compose/local.ts";
import { copyRef } from "../../lib/engine/copy/point-source.ts";
import { AccessDeniedError, KeyError, ValidationError } from "../../lib/errors.ts";
import { Role } from "../../lib/rules/roles.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile, restoreBytes } from "../helpers/vault-ops.ts";

const BLOCK = 4096;
const SIZE = 4 * 1024 * 1024;

/** Where a copy goes: a second embedded vault, or a vault on S3 and DynamoDB (the emulator). */
const DESTINATIONS: readonly (readonly [string, (root: string) => Promise<Vault>])[] = [
  ["embedded", (root) => initLocalVault(join(root, "copy"), { name: "copy", blockSize: BLOCK })],
  [
    "emulator",
    () =>
      initAwsVault(
        { bucket: uniqueName("copy"), table: uniqueName("copy"), aws: emulatorConfig() },
        { name: uniqueName("copy"), blockSize: BLOCK },
      ),
  ],
];

let root: string;
let source: Vault;
let destination: Vault;
let image: string;

afterEach(async () => {
  await source?.close().catch(() => undefined);
  await destination.close();
  await removeDir(root);
});

/** A disk with data in its first and last quarters and a hole between. */
function diskBytes(): Buffer {
  const bytes = Buffer.alloc(SIZE);
  seededBytes(11, SIZE / 4).copy(bytes, 0);
  seededBytes(12, SIZE / 4).copy(bytes, (3 * SIZE) / 4);
  return bytes;
}

describe.each(DESTINATIONS)("copying recovery points to a second vault (%s)", (_name, openDestination) => {
  beforeEach(async () => {
    root = await tempDir("copy-point");
    source = await initLocalVault(join(root, "source"), { name: "source", blockSize: BLOCK });
    destination = await openDestination(root);
    image = join(root, "disk.img");
    await writeFile(image, diskBytes());
  });

  it("makes a point of the destination that restores byte-identically once the source vault is gone", async () => {
    const original = await backupFile(source, image, "web");
    const copy = await source.copyPoint(original.recoveryPointId, destination);
    const stored = await destination.getPoint(copy.recoveryPointId);
    expect(stored).toMatchObject({
      disk: "web",
      parent: null,
      sourceRef: copyRef(source.id, original.recoveryPointId),
    });
    // Holes are not read: half the disk is one, and only the data half is fetched (plus framing).
    expect(copy.bytesFetched).toBeLessThan(SIZE * 0.6);
    const audit = (await source.listAudit()).filter((e) => e.action === "point.copy");
    expect(audit.at(-1)?.detail).toMatchObject({
      destinationVault: destination.id,
      destinationPoint: copy.recoveryPointId,
    });
    await source.close();
    await rm(join(root, "source"), { recursive: true });
    expect(await restoreBytes(destination, copy.recoveryPointId, root)).toEqual(diskBytes());
    expect((await destination.check({ readData: true })).ok).toBe(true);
  });

  it("copies an incremental by reading and storing only the blocks that changed", async () => {
    const first = await backupFile(source, image, "web");
    const firstCopy = await source.copyPoint(first.recoveryPointId, destination);
    const changed = diskBytes();
    const onePercent = SIZE / 100;
    seededBytes(13, onePercent).copy(changed, 1024 * 1024);
    await writeFile(image, changed);
    const second = await backupFile(source, image, "web");
    const copy = await source.copyPoint(second.recoveryPointId, destination);
    expect((await destination.getPoint(copy.recoveryPointId)).parent).toBe(firstCopy.recoveryPointId);
    // 1 % of the disk changed (11 blocks): fetched and stored stay within a few times that.
    expect(copy.bytesFetched).toBeLessThan(onePercent * 3);
    expect(copy.bytesStored).toBeLessThan(onePercent * 3);
    expect(await restoreBytes(destination, copy.recoveryPointId, root)).toEqual(changed);
    expect(await restoreBytes(destination, firstCopy.recoveryPointId, root)).toEqual(diskBytes());
  });

  it("deduplicates against what the destination holds: a second copy of the same data stores almost nothing", async () => {
    const point = await backupFile(source, image, "web");
    await source.copyPoint(point.recoveryPointId, destination);
    const again = await source.copyPoint(point.recoveryPointId, destination, { disk: "web-again" });
    expect(again.disk).toBe("web-again");
    expect(again.blocksNew).toBe(0);
    expect(await restoreBytes(destination, again.recoveryPointId, root)).toEqual(diskBytes());
  });

  it("refuses a copy into the same vault, and a caller without the restore role, auditing the refusal", async () => {
    const point = await backupFile(source, image, "web");
    await expect(source.copyPoint(point.recoveryPointId, source)).rejects.toThrow(ValidationError);
    const reader = source.as({ name: "rita", roles: [Role.Reader] });
    await expect(reader.copyPoint(point.recoveryPointId, destination)).rejects.toThrow(AccessDeniedError);
    const refused = (await source.listAudit()).filter(
      (e) => e.action === "point.copy" && e.outcome === "refused",
    );
    expect(refused.map((e) => e.principal)).toContain("rita");
    await expect(destination.listPoints()).resolves.toEqual([]);
  });
});

describe("a copy of an embedded vault's point", () => {
  it("is encrypted under the destination's keys: its keyring alone restores it", async () => {
    root = await tempDir("copy-keys");
    source = await initLocalVault(join(root, "source"), { name: "source", blockSize: BLOCK });
    destination = await initLocalVault(join(root, "copy"), { name: "copy", blockSize: BLOCK });
    image = join(root, "disk.img");
    await writeFile(image, diskBytes());
    const point = await backupFile(source, image, "web");
    const copy = await source.copyPoint(point.recoveryPointId, destination);
    await destination.close();
    await source.close();
    // The source's keyring next to the copy opens nothing: the copy's data keys are not under it.
    const wrongKeys = openLocalVault(join(root, "copy"), { keyring: join(root, "source", "keyring.json") });
    await expect(wrongKeys.then((v) => restoreBytes(v, copy.recoveryPointId, root))).rejects.toThrow(
      KeyError,
    );
    destination = await openLocalVault(join(root, "copy"));
    expect(await restoreBytes(destination, copy.recoveryPointId, root)).toEqual(diskBytes());
  });
});
