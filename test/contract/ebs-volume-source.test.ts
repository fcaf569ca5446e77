import { randomBytes } from "node:crypto";
import type { EBSClient } from "@aws-sdk/client-ebs";
import { beforeAll } from "vitest";
import { ebsClient } from "../../lib/adapters/aws/clients.ts";
import { openEbsSnapshotSource } from "../../lib/adapters/aws/ebs-snapshot-source.ts";
import { emulatorConfig } from "../helpers/aws.ts";
import { isZero } from "../helpers/image-bytes.ts";
import { writeSnapshot } from "./aws-fixture.ts";
import { describeVolumeSourceContract } from "./volume-source.contract.ts";

let ebs: EBSClient;
let blockSize: number;
beforeAll(async () => {
  ebs = ebsClient(emulatorConfig());
  // The block size is the service's (moto: 512 bytes, AWS: 512 KiB); an empty snapshot reports it.
  blockSize = (await writeSnapshot(ebs, new Map())).blockSize;
});

/**
 * The disk as a snapshot's blocks: the last one zero-padded to a whole block, and blocks of
 * zeros left out, so they are holes that were never written.
 */
function toBlocks(bytes: Buffer): Map<number, Buffer> {
  const blocks = new Map<number, Buffer>();
  for (let index = 0; index * blockSize < bytes.length; index++) {
    const block = Buffer.alloc(blockSize);
    bytes.copy(block, 0, index * blockSize, (index + 1) * blockSize);
    if (!isZero(block)) blocks.set(index, block);
  }
  return blocks;
}

// The logical size is the snapshot's volume (1 GiB): past the given bytes it reads as zeros.
describeVolumeSourceContract("EBS snapshot", {
  async make(bytes) {
    const snapshot = await writeSnapshot(ebs, toBlocks(bytes));
    return {
      name: snapshot.id,
      size: snapshot.volumeBytes,
      open: () => openEbsSnapshotSource(ebs, snapshot.id, { concurrency: 8 }),
      // moto cannot delete snapshots from its EBS backend; each run's are its own anyway.
      cleanup: async () => undefined,
    };
  },
  openMissing() {
    const id = `snap-${randomBytes(9).toString("hex").slice(0, 17)}`;
    return { name: id, opening: openEbsSnapshotSource(ebs, id) };
  },
});
