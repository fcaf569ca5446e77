import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { SourceError } from "../../errors.ts";
import type {
  PreparedSnapshots,
  SnapshotDisk,
  SnapshotProvider,
  TakenSnapshots,
} from "../../ports/snapshot-provider.ts";
import { awsErrorCode } from "./aws-errors.ts";
import type { AwsConfig } from "./clients.ts";
import { ec2Client } from "./vm-clients.ts";

const POLL_MS = 2000;
/** How long the snapshots may take to complete before the backup gives up. */
const COMPLETE_TIMEOUT_MS = 60 * 60 * 1000;

/** Options of {@link ebsSnapshots}. */
export interface EbsSnapshotOptions {
  readonly client?: EC2Client;
  readonly config?: AwsConfig;
  /** The instance whose volumes the VM's disks are (`ec2://i-…/vol-…` sources name it too). */
  readonly instanceId?: string;
}

/**
 * EBS multi-volume snapshots: one EC2 `CreateSnapshots` of the instance captures all its volumes
 * at one moment (crash-consistent as a set); the VM's disks, `ec2://INSTANCE/VOLUME`, are matched
 * to the snapshots by volume id and read as `ebs://snap-…` through the EBS direct APIs once
 * completed. Taking them is one call, so it fits any freeze window (the snapshot's point in time
 * is when the call returns). Released snapshots are deleted.
 */
export function ebsSnapshots(options: EbsSnapshotOptions = {}): SnapshotProvider {
  return {
    kind: "ebs",
    prepare: async (disks) => {
      const volumes = disks.map(volumeOf);
      const instances = new Set(volumes.map((v) => v.instance));
      if (instances.size !== 1)
        throw new SourceError("an EBS multi-volume snapshot needs every disk on one instance");
      const client = options.client ?? ec2Client(options.config ?? {});
      return new PreparedEbs(
        client,
        [...instances][0]!,
        volumes.map((v) => v.volume),
        !options.client,
      );
    },
  };
}

function volumeOf(disk: SnapshotDisk): { instance: string; volume: string } {
  const match = /^ec2:\/\/(i-[0-9a-f]+)\/(vol-[0-9a-f]+)$/.exec(disk.source);
  if (!match) throw new SourceError(`${disk.source} is not an EBS volume of an instance (ec2://i-…/vol-…)`);
  return { instance: match[1]!, volume: match[2]! };
}

class PreparedEbs implements PreparedSnapshots {
  readonly #client: EC2Client;
  readonly #instance: string;
  readonly #volumes: readonly string[];
  readonly #owned: boolean;

  constructor(client: EC2Client, instance: string, volumes: readonly string[], owned: boolean) {
    this.#client = client;
    this.#instance = instance;
    this.#volumes = volumes;
    this.#owned = owned;
  }

  fits(): true {
    return true;
  }

  async take(): Promise<TakenSnapshots> {
    const created = await this.#client
      .send(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: this.#instance, ExcludeBootVolume: false },
          Description: "blockvault VM point",
          CopyTagsFromSource: "volume",
        }),
      )
      .catch((err: unknown) => {
        throw new SourceError(
          `CreateSnapshots of ${this.#instance}: ${awsErrorCode(err) ?? (err as Error).message}`,
        );
      });
    const byVolume = new Map((created.Snapshots ?? []).map((s) => [s.VolumeId, s.SnapshotId]));
    const all = [...byVolume.values()].filter((s): s is string => s !== undefined);
    const release = async () => {
      for (const id of all.splice(0))
        await this.#client.send(new DeleteSnapshotCommand({ SnapshotId: id })).catch(() => undefined);
      if (this.#owned) this.#client.destroy();
    };
    try {
      const ids = this.#volumes.map((volume) => {
        const id = byVolume.get(volume);
        if (!id) throw new SourceError(`CreateSnapshots of ${this.#instance} made no snapshot of ${volume}`);
        return id;
      });
      await this.#completed(ids);
      return { sources: ids.map((id) => `ebs://${id}`), release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  async #completed(ids: readonly string[]): Promise<void> {
    const started = Date.now();
    for (;;) {
      const found = await this.#client.send(new DescribeSnapshotsCommand({ SnapshotIds: [...ids] }));
      const states = (found.Snapshots ?? []).map((s) => s.State);
      if (states.includes("error")) throw new SourceError(`an EBS snapshot of ${this.#instance} failed`);
      if (states.length === ids.length && states.every((s) => s === "completed")) return;
      if (Date.now() - started > COMPLETE_TIMEOUT_MS)
        throw new SourceError(`the EBS snapshots of ${this.#instance} did not complete in time`);
      await sleep(POLL_MS);
    }
  }
}

/** The size in bytes of the EBS volume of an `ec2://INSTANCE/VOLUME` disk source. */
export async function ebsVolumeSize(
  source: string,
  options: Omit<EbsSnapshotOptions, "instanceId"> = {},
): Promise<number> {
  const { volume } = volumeOf({ source, size: 0 });
  const client = options.client ?? ec2Client(options.config ?? {});
  try {
    const found = await client.send(new DescribeVolumesCommand({ VolumeIds: [volume] }));
    const gib = found.Volumes?.[0]?.Size;
    if (gib === undefined) throw new SourceError(`EBS volume ${volume} was not found`);
    return gib * 2 ** 30;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`EBS volume ${volume}: ${awsErrorCode(err) ?? (err as Error).message}`);
  } finally {
    if (!options.client) client.destroy();
  }
}
