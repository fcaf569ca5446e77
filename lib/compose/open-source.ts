import type { AwsConfig } from "../adapters/aws/clients.ts";
import { openFileSource } from "../adapters/local/sources/file-source.ts";
import type { VolumeSource } from "../ports/volume-source.ts";
import { releasingOnClose } from "../util/overriding.ts";

const EBS_PREFIX = "ebs://";

/** AWS client settings for sources when the vault itself is local: region and endpoint from the environment. */
function environmentAws(): AwsConfig {
  const region = process.env.AWS_REGION;
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) };
}

/**
 * Opens what a user names as a disk to back up: `s3://bucket/key` (an image stored in S3),
 * `ebs://snap-…` (an EBS snapshot, read through the EBS direct APIs, with changed-block
 * tracking against the parent point's snapshot), or a local path (raw image, fixed VHD, block
 * device). The source owns the clients it opens and releases them on close.
 */
export async function openSource(spec: string, aws: AwsConfig = environmentAws()): Promise<VolumeSource> {
  // The AWS adapters are loaded only for AWS sources: the SDK is heavy to import.
  if (spec.startsWith("s3://")) {
    const { destroyOnError, s3Client } = await import("../adapters/aws/clients.ts");
    const { openS3ImageSource } = await import("../adapters/aws/s3-image-source.ts");
    const client = s3Client(aws);
    const source = await openS3ImageSource(client, spec).catch(destroyOnError(client));
    return releasingOnClose(source, () => client.destroy());
  }
  if (spec.startsWith(EBS_PREFIX)) {
    const { destroyOnError, ebsClient } = await import("../adapters/aws/clients.ts");
    const { openEbsSnapshotSource } = await import("../adapters/aws/ebs-snapshot-source.ts");
    const client = ebsClient(aws);
    const source = await openEbsSnapshotSource(client, spec.slice(EBS_PREFIX.length)).catch(
      destroyOnError(client),
    );
    return releasingOnClose(source, () => client.destroy());
  }
  return openFileSource(spec);
}
