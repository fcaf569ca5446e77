import {
  CompleteSnapshotCommand,
  EBSClient,
  PutSnapshotBlockCommand,
  RequestThrottledException,
  StartSnapshotCommand,
} from "@aws-sdk/client-ebs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, describe, expect, it } from "vitest";
import { ebsClient } from "../../lib/adapters/aws/clients.ts";
import { sha256Base64 } from "../../lib/adapters/aws/ebs-blocks.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { openEbsSnapshotTarget } from "../../lib/adapters/aws/ebs-snapshot-target.ts";
import { TransientError, ValidationError } from "../../lib/errors.ts";
import { emulatorConfig } from "../helpers/aws.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { recordCommands } from "./aws-fixture.ts";

const GIB = 1024 ** 3;
let ebs: EBSClient;

beforeAll(() => {
  ebs = ebsClient(emulatorConfig());
});

/** Random bytes with zero runs, some aligned to 512-byte blocks and some not. */
function imageWithHoles(size: number): Buffer {
  const image = seededBytes(5, size);
  image.fill(0, 4096, 4096 + 8 * 512);
  image.fill(0, 20_000, 33_333);
  image.fill(0, size - 2000);
  return image;
}

describe("EBS snapshot restore target on the emulator", () => {
  it("writes unaligned pieces in any order, skips zero blocks, and completes on commit", async () => {
    const client = ebsClient(emulatorConfig());
    const sent = recordCommands(client);
    const image = imageWithHoles(100_001);
    const target = await openEbsSnapshotTarget(client, image.length, { description: "restore test" });
    const snapshotId = target.description;
    expect(snapshotId).toMatch(/^snap-/);
    // Pieces of 777 bytes, written back to front, eight at a time.
    const offsets: number[] = [];
    for (let at = 0; at < image.length; at += 777) offsets.unshift(at);
    for (let i = 0; i < offsets.length; i += 8) {
      await Promise.all(offsets.slice(i, i + 8).map((at) => target.write(at, image.subarray(at, at + 777))));
    }
    expect(sent).not.toContain("CompleteSnapshotCommand");
    expect(await target.commit()).toBe(snapshotId);

    const source = await openEbsSnapshotSource(client, snapshotId);
    expect(source.size).toBe(GIB);
    const restored = await source.read(0, image.length + 4096);
    expect(sha256(restored.subarray(0, image.length))).toBe(sha256(image));
    expect(restored.subarray(image.length).every((b) => b === 0)).toBe(true);
    // moto's blocks are 512 bytes: only those holding a non-zero byte were sent.
    let nonZero = 0;
    for (let at = 0; at < image.length; at += 512) {
      if (image.subarray(at, at + 512).some((b) => b !== 0)) nonZero++;
    }
    expect(sent.filter((c) => c === "PutSnapshotBlockCommand")).toHaveLength(nonZero);
    await source.close();
  });

  it("abort never completes the snapshot and refuses further use", async () => {
    const client = ebsClient(emulatorConfig());
    const sent = recordCommands(client);
    const target = await openEbsSnapshotTarget(client, 4096);
    await target.write(0, seededBytes(1, 1000));
    await target.abort();
    await target.abort();
    expect(sent).not.toContain("CompleteSnapshotCommand");
    await expect(target.write(1000, Buffer.alloc(10, 1))).rejects.toThrow(/aborted/);
    await expect(target.commit()).rejects.toThrow(/aborted/);
    expect(sent).not.toContain("CompleteSnapshotCommand");
  });

  it("refuses writes outside the image", async () => {
    const target = await openEbsSnapshotTarget(ebs, 1000);
    await expect(target.write(999, Buffer.alloc(2))).rejects.toBeInstanceOf(ValidationError);
    await target.abort();
  });
});

describe("EBS snapshot restore target (mocked client: moto reports 512-byte blocks where AWS uses 512 KiB)", () => {
  const BS = 524288;
  const client = new EBSClient({
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });

  function mockEbs() {
    const mock = mockClient(client);
    mock
      .on(StartSnapshotCommand)
      .resolves({ SnapshotId: "snap-0ccccccccccccccc3", BlockSize: BS, VolumeSize: 2 });
    mock.on(PutSnapshotBlockCommand).resolves({ Checksum: "x", ChecksumAlgorithm: "SHA256" });
    mock.on(CompleteSnapshotCommand).resolves({ Status: "pending" });
    return mock;
  }

  it("buffers unaligned writes per 512 KiB block and sends each whole block with its SHA-256", async () => {
    const mock = mockEbs();
    const size = GIB + 3 * BS + 100;
    const target = await openEbsSnapshotTarget(client, size, { tags: { restore: "yes" } });
    expect(mock.commandCalls(StartSnapshotCommand)[0]!.args[0].input).toMatchObject({
      VolumeSize: 2,
      Tags: [{ Key: "restore", Value: "yes" }],
    });
    const data = seededBytes(2, 2 * BS);
    // Block 1 arrives in two halves, out of order; block 0 only in part (zeros pad it at commit).
    await target.write(BS + 1000, data.subarray(BS + 1000, 2 * BS));
    expect(mock.commandCalls(PutSnapshotBlockCommand)).toHaveLength(0);
    await target.write(10, data.subarray(10, BS + 1000));
    // A zero block and the image's last, short block (its tail beyond the image is zeros).
    await target.write(2 * BS, Buffer.alloc(BS));
    const lastAt = Math.floor(size / BS) * BS;
    await target.write(lastAt, seededBytes(3, size - lastAt));
    expect(await target.commit()).toBe("snap-0ccccccccccccccc3");

    const puts = mock.commandCalls(PutSnapshotBlockCommand).map((c) => c.args[0].input);
    const expected = new Map<number, Buffer>([
      [1, data.subarray(BS)],
      [0, Buffer.concat([Buffer.alloc(10), data.subarray(10, BS)])],
      [lastAt / BS, Buffer.concat([seededBytes(3, size - lastAt), Buffer.alloc(BS - (size - lastAt))])],
    ]);
    expect(puts.map((p) => p.BlockIndex).sort((a, b) => a! - b!)).toEqual(
      [...expected.keys()].sort((a, b) => a - b),
    );
    for (const p of puts) {
      const want = expected.get(p.BlockIndex!)!;
      expect(Buffer.from(p.BlockData as Uint8Array).equals(want)).toBe(true);
      expect(p).toMatchObject({ DataLength: BS, Checksum: sha256Base64(want), ChecksumAlgorithm: "SHA256" });
    }
    expect(mock.commandCalls(CompleteSnapshotCommand)[0]!.args[0].input).toEqual({
      SnapshotId: "snap-0ccccccccccccccc3",
      ChangedBlocksCount: 3,
    });
    mock.restore();
  });

  it("fails the write whose block upload is throttled (fault injection), and abort does not complete", async () => {
    const mock = mockEbs();
    mock
      .on(PutSnapshotBlockCommand)
      .rejects(new RequestThrottledException({ message: "slow", $metadata: { httpStatusCode: 400 } }));
    const target = await openEbsSnapshotTarget(client, GIB);
    await expect(target.write(0, seededBytes(4, BS))).rejects.toBeInstanceOf(TransientError);
    await target.abort();
    expect(mock.commandCalls(CompleteSnapshotCommand)).toHaveLength(0);
    mock.restore();
  });
});
