import { join } from "node:path";
import { EBSClient, GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from "@aws-sdk/client-ebs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sha256Base64 } from "../../../lib/adapters/aws/ebs-blocks.ts";
import { initLocalVault } from "../../../lib/compose/local.ts";
import { openSource } from "../../../lib/compose/open-source.ts";
import type { VolumeRange } from "../../../lib/ports/volume-source.ts";
import { overriding } from "../../../lib/util/overriding.ts";
import type { Vault } from "../../../lib/vault.ts";
import { body } from "../../contract/aws-fixture.ts";
import { seededBytes } from "../../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "2";

/** EBS's block size, and a 1 GiB snapshot holding blocks 1 and 3 only. */
const BS = 524288;
const SNAP = "snap-0aaaaaaaaaaaaaaa1";
const BLOCKS = new Map([
  [1, seededBytes(11, BS)],
  [3, seededBytes(13, BS)],
]);
const AWS = { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } };
// Every EBSClient, including the one openSource makes for itself.
const mock = mockClient(EBSClient);

let root: string;
let vault: Vault;

beforeAll(async () => {
  root = await tempDir("open-source");
  vault = await initLocalVault(join(root, "vault"), { name: "ebs" });
});

afterAll(async () => {
  await vault.close();
  await removeDir(root);
  mock.restore();
});

afterEach(() => {
  mock.reset();
  vi.restoreAllMocks();
});

function serveSnapshot(): void {
  mock.on(ListSnapshotBlocksCommand).resolves({
    VolumeSize: 1,
    BlockSize: BS,
    Blocks: [...BLOCKS.keys()].map((i) => ({ BlockIndex: i, BlockToken: `t${i}` })),
  });
  mock.on(GetSnapshotBlockCommand).callsFake((input: { BlockIndex: number }) => {
    const bytes = BLOCKS.get(input.BlockIndex)!;
    return {
      BlockData: body(bytes),
      DataLength: BS,
      Checksum: sha256Base64(bytes),
      ChecksumAlgorithm: "SHA256",
    };
  });
}

const listed: VolumeRange[] = [...BLOCKS.keys()].map((i) => ({ offset: i * BS, length: BS }));

describe("openSource (EBS mocked with aws-sdk-client-mock: moto answers block lists partially)", () => {
  it("keeps the EBS source's block list, so a backup reads only the listed blocks", async () => {
    serveSnapshot();
    const source = await openSource(`ebs://${SNAP}`, AWS);
    expect(await source.allocatedRanges?.()).toEqual(listed);
    const spans: VolumeRange[] = [];
    const recorded = overriding(source, {
      read: (offset, length, into) => {
        spans.push({ offset, length });
        return source.read(offset, length, into);
      },
    });
    const result = await vault.backup(recorded, { disk: "ebs-disk" });
    await source.close();
    expect(spans.sort((a, b) => a.offset - b.offset)).toEqual(listed);
    expect(result.bytesScanned).toBe(1024 ** 3);
    expect(result.bytesChanged).toBe(2 * BS);
    expect(mock.commandCalls(GetSnapshotBlockCommand)).toHaveLength(2);
  });

  it("keeps the source's other members and releases its client once, after the source's own close", async () => {
    serveSnapshot();
    const destroy = vi.spyOn(EBSClient.prototype, "destroy");
    const source = await openSource(`ebs://${SNAP}`, AWS);
    expect(source.format).toBe("ebs-snapshot");
    expect(source.sourceRef).toBe(SNAP);
    expect(typeof source.changedRanges).toBe("function");
    await source.close();
    await source.close();
    expect(destroy).toHaveBeenCalledTimes(1);
    await expect(source.read(0, 4096)).rejects.toThrow(SNAP);
  });
});
