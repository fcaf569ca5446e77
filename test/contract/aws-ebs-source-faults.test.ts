import {
  AccessDeniedException,
  EBSClient,
  GetSnapshotBlockCommand,
  ListChangedBlocksCommand,
  ListSnapshotBlocksCommand,
  ResourceNotFoundException,
  ValidationException,
} from "@aws-sdk/client-ebs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Base64 } from "../../lib/adapters/aws/ebs-blocks.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { SourceError } from "../../lib/errors.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { body } from "./aws-fixture.ts";

/** What AWS reports: 512 KiB blocks. */
const BS = 524288;
const SNAP = "snap-0aaaaaaaaaaaaaaa1";
const PARENT = "snap-0bbbbbbbbbbbbbbb2";
const client = new EBSClient({
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
});
const mock = mockClient(client);

afterEach(() => {
  mock.reset();
});

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** A two-page block list (blocks 1 and 3), then GetSnapshotBlock answering from `data`. */
function serveSnapshot(data: Map<number, Buffer>): void {
  mock
    .on(ListSnapshotBlocksCommand, { SnapshotId: SNAP, NextToken: undefined })
    .resolves({
      VolumeSize: 2,
      BlockSize: BS,
      Blocks: [{ BlockIndex: 1, BlockToken: "t1" }],
      NextToken: "page2",
    })
    .on(ListSnapshotBlocksCommand, { SnapshotId: SNAP, NextToken: "page2" })
    .resolves({ VolumeSize: 2, BlockSize: BS, Blocks: [{ BlockIndex: 3, BlockToken: "t3" }] });
  mock.on(GetSnapshotBlockCommand).callsFake((input: { BlockIndex: number }) => {
    const bytes = data.get(input.BlockIndex)!;
    return {
      BlockData: body(bytes),
      DataLength: BS,
      Checksum: sha256Base64(bytes),
      ChecksumAlgorithm: "SHA256",
    };
  });
}

describe("EBS snapshot source (fault injection: moto ignores NextToken, block tokens and EBS error codes)", () => {
  it("follows ListSnapshotBlocks pages and passes each block's token to GetSnapshotBlock", async () => {
    const data = new Map([
      [1, seededBytes(1, BS)],
      [3, seededBytes(3, BS)],
    ]);
    serveSnapshot(data);
    const source = await openEbsSnapshotSource(client, SNAP);
    expect(source.size).toBe(2 * 1024 ** 3);
    const got = await source.read(0, 4 * BS);
    const want = Buffer.concat([Buffer.alloc(BS), data.get(1)!, Buffer.alloc(BS), data.get(3)!]);
    expect(got.equals(want)).toBe(true);
    const tokens = mock.commandCalls(GetSnapshotBlockCommand).map((c) => c.args[0].input.BlockToken);
    expect(tokens.sort()).toEqual(["t1", "t3"]);
  });

  it("fetches a block once for several small reads inside it", async () => {
    serveSnapshot(new Map([[1, seededBytes(1, BS)]]));
    const source = await openEbsSnapshotSource(client, SNAP);
    await Promise.all([0, 1, 2, 3].map((k) => source.read(BS + k * 4096, 4096)));
    expect(mock.commandCalls(GetSnapshotBlockCommand)).toHaveLength(1);
  });

  it("relists an expired block token once and retries the block", async () => {
    const bytes = seededBytes(1, BS);
    serveSnapshot(new Map([[1, bytes]]));
    mock.on(GetSnapshotBlockCommand).callsFake((input: { BlockToken: string }) => {
      if (input.BlockToken !== "fresh") {
        throw new ValidationException({ message: "expired", Reason: "INVALID_BLOCK_TOKEN", ...meta(400) });
      }
      return { BlockData: body(bytes), Checksum: sha256Base64(bytes), ChecksumAlgorithm: "SHA256" };
    });
    mock
      .on(ListSnapshotBlocksCommand, { SnapshotId: SNAP, StartingBlockIndex: 1 })
      .resolves({ VolumeSize: 2, BlockSize: BS, Blocks: [{ BlockIndex: 1, BlockToken: "fresh" }] });
    const source = await openEbsSnapshotSource(client, SNAP);
    expect((await source.read(BS, BS)).equals(bytes)).toBe(true);
    const tokens = mock.commandCalls(GetSnapshotBlockCommand).map((c) => c.args[0].input.BlockToken);
    expect(tokens).toEqual(["t1", "fresh"]);
  });

  it("names the snapshot when it does not exist or may not be read", async () => {
    mock
      .on(ListSnapshotBlocksCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: "no", Reason: "SNAPSHOT_NOT_FOUND", ...meta(404) }),
      )
      .rejectsOnce(
        new AccessDeniedException({ message: "no", Reason: "UNAUTHORIZED_ACCOUNT", ...meta(403) }),
      );
    const missing = await openEbsSnapshotSource(client, SNAP).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SourceError);
    expect((missing as Error).message).toBe(`EBS snapshot ${SNAP} not found (SNAPSHOT_NOT_FOUND)`);
    const denied = await openEbsSnapshotSource(client, SNAP).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(SourceError);
    expect((denied as Error).message).toMatch(new RegExp(`EBS snapshot ${SNAP}: access denied`));
  });

  it("fails a read whose block is shorter than the block size, as retryable", async () => {
    serveSnapshot(new Map([[1, seededBytes(1, BS)]]));
    mock.on(GetSnapshotBlockCommand).resolves({ BlockData: body(Buffer.alloc(100, 1)), DataLength: 100 });
    const source = await openEbsSnapshotSource(client, SNAP);
    const err = (await source.read(BS, 10).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.retryable).toBe(true);
  });
});

describe("EBS change tracking (fault injection: moto's ListChangedBlocks is partial)", () => {
  it("collects every page and includes blocks that exist only in the newer snapshot", async () => {
    serveSnapshot(new Map());
    mock
      .on(ListChangedBlocksCommand, { NextToken: undefined })
      .resolves({
        VolumeSize: 2,
        BlockSize: BS,
        ChangedBlocks: [{ BlockIndex: 7, SecondBlockToken: "s7" }],
        NextToken: "more",
      })
      .on(ListChangedBlocksCommand, { NextToken: "more" })
      .resolves({
        VolumeSize: 2,
        BlockSize: BS,
        ChangedBlocks: [{ BlockIndex: 8, FirstBlockToken: "f8" }, { BlockIndex: 2 }],
      });
    const source = await openEbsSnapshotSource(client, SNAP);
    expect(await source.changedRanges!(PARENT)).toEqual([
      { offset: 2 * BS, length: BS },
      { offset: 7 * BS, length: 2 * BS },
    ]);
    const first = mock.commandCalls(ListChangedBlocksCommand)[0]!.args[0].input;
    expect(first).toMatchObject({ FirstSnapshotId: PARENT, SecondSnapshotId: SNAP });
  });

  it.each([
    ["the parent snapshot was deleted", new ResourceNotFoundException({ message: "gone", ...meta(404) })],
    [
      "the snapshots are unrelated",
      new ValidationException({ message: "unrelated", Reason: "UNRELATED_SNAPSHOTS", ...meta(400) }),
    ],
    [
      "the API is refused",
      new AccessDeniedException({ message: "no", Reason: "UNAUTHORIZED_ACCOUNT", ...meta(403) }),
    ],
  ])("returns undefined, never an empty list, when %s", async (_why, error) => {
    serveSnapshot(new Map());
    mock.on(ListChangedBlocksCommand).rejects(error);
    const reasons: string[] = [];
    const source = await openEbsSnapshotSource(client, SNAP, {
      onChangeTrackingUnavailable: (e) => reasons.push(e.message),
    });
    expect(await source.changedRanges!(PARENT)).toBeUndefined();
    expect(reasons).toHaveLength(1);
  });

  it("returns undefined when a later page fails, dropping the pages already read", async () => {
    serveSnapshot(new Map());
    mock
      .on(ListChangedBlocksCommand)
      .resolvesOnce({ VolumeSize: 2, BlockSize: BS, ChangedBlocks: [{ BlockIndex: 1 }], NextToken: "n" })
      .rejectsOnce(new Error("socket hang up"));
    const source = await openEbsSnapshotSource(client, SNAP);
    expect(await source.changedRanges!(PARENT)).toBeUndefined();
  });

  it("returns undefined when the listing describes another geometry", async () => {
    serveSnapshot(new Map());
    mock.on(ListChangedBlocksCommand).resolves({ VolumeSize: 4, BlockSize: BS, ChangedBlocks: [] });
    const source = await openEbsSnapshotSource(client, SNAP);
    expect(await source.changedRanges!(PARENT)).toBeUndefined();
  });
});
