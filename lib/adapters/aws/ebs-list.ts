import { type EBSClient, ListChangedBlocksCommand, ListSnapshotBlocksCommand } from "@aws-sdk/client-ebs";
import { SourceError } from "../../errors.ts";
import { EBS_MAX_RESULTS } from "./ebs-blocks.ts";

/** Everything ListSnapshotBlocks says about a snapshot. */
export interface SnapshotBlockListing {
  /** Volume size in GiB. */
  readonly volumeSize: number;
  /** Block size in bytes (524288 on AWS). */
  readonly blockSize: number;
  /** Token of every written block, by block index; absent blocks read as zeros. */
  readonly tokens: Map<number, string>;
}

/** A service that hands back the token it was given would otherwise keep a listing looping. */
function checkProgress(next: string | undefined, previous: string | undefined, what: string): void {
  if (next !== undefined && next === previous)
    throw new SourceError(`${what}: the listing repeated its page token`);
}

/**
 * Lists the written blocks of a snapshot from `startingBlockIndex` on: every page when `onePage`
 * is not set, else only the first (to refresh expired tokens). SDK errors pass through
 * untranslated, for the caller to name the snapshot and decide what they mean.
 */
export async function listSnapshotBlocks(
  client: EBSClient,
  snapshotId: string,
  options: { startingBlockIndex?: number; onePage?: boolean } = {},
): Promise<SnapshotBlockListing> {
  const tokens = new Map<number, string>();
  let volumeSize: number | undefined;
  let blockSize: number | undefined;
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListSnapshotBlocksCommand({
        SnapshotId: snapshotId,
        MaxResults: EBS_MAX_RESULTS,
        NextToken: nextToken,
        ...(options.startingBlockIndex ? { StartingBlockIndex: options.startingBlockIndex } : {}),
      }),
    );
    volumeSize ??= page.VolumeSize;
    blockSize ??= page.BlockSize;
    for (const b of page.Blocks ?? []) {
      if (b.BlockIndex === undefined || !b.BlockToken) {
        throw new SourceError(
          `EBS snapshot ${snapshotId}: the block list has an entry without index or token`,
        );
      }
      tokens.set(b.BlockIndex, b.BlockToken);
    }
    checkProgress(page.NextToken, nextToken, `EBS snapshot ${snapshotId}`);
    nextToken = options.onePage ? undefined : page.NextToken;
  } while (nextToken);
  if (volumeSize === undefined || blockSize === undefined) {
    throw new SourceError(`EBS snapshot ${snapshotId}: the block list gave no volume or block size`);
  }
  return { volumeSize, blockSize, tokens };
}

/**
 * The indexes of every block that differs between snapshot `first` and `second`, from
 * ListChangedBlocks (every page). Throws, rather than return a partial list, when anything is
 * off: a failed page, an entry without an index, or a geometry other than `expected`.
 */
export async function listChangedBlocks(
  client: EBSClient,
  first: string,
  second: string,
  expected: { readonly volumeSize: number; readonly blockSize: number },
): Promise<number[]> {
  const indexes: number[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListChangedBlocksCommand({
        FirstSnapshotId: first,
        SecondSnapshotId: second,
        MaxResults: EBS_MAX_RESULTS,
        NextToken: nextToken,
      }),
    );
    if (page.BlockSize !== undefined && page.BlockSize !== expected.blockSize) {
      throw new SourceError(`block size ${page.BlockSize} differs from ${expected.blockSize}`);
    }
    if (page.VolumeSize !== undefined && page.VolumeSize !== expected.volumeSize) {
      throw new SourceError(`volume size ${page.VolumeSize} GiB differs from ${expected.volumeSize} GiB`);
    }
    for (const b of page.ChangedBlocks ?? []) {
      if (b.BlockIndex === undefined) throw new SourceError("a changed block without an index");
      indexes.push(b.BlockIndex);
    }
    checkProgress(page.NextToken, nextToken, `changes of EBS snapshot ${second}`);
    nextToken = page.NextToken;
  } while (nextToken);
  return indexes;
}
