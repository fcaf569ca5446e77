import type { AwsConfig } from "../adapters/aws/clients.ts";
import { openFileTarget } from "../adapters/local/targets/file-target.ts";
import type { RestoreTargetSpec } from "../app/app-context.ts";
import { ValidationError } from "../errors.ts";
import type { VaultFiles } from "../model.ts";
import type { RestoreTarget } from "../ports/restore-target.ts";
import { overriding } from "../util/overriding.ts";

/** What opening a target needs beyond the spec. */
export interface TargetOptions {
  /** How to reach S3 and EBS. */
  readonly aws?: AwsConfig;
  /** Paths a file restore must never overwrite (the disks' sources). */
  readonly protectedPaths?: readonly string[];
  /** The embedded vault's own files, which a file restore never writes. */
  readonly vaultFiles?: VaultFiles;
  /** Whether file targets are allowed (they are on one machine, not in a Lambda function). */
  readonly files?: boolean;
}

/**
 * Opens the target a restore request names: a new file, a new S3 object or a new EBS snapshot.
 * The target owns the client it opens and releases it once committed or aborted.
 */
export async function openTarget(
  spec: RestoreTargetSpec,
  size: number,
  options: TargetOptions = {},
): Promise<RestoreTarget> {
  if (spec.kind === "file") {
    if (options.files === false) {
      throw new ValidationError('target.kind "file" is only available on the embedded runtime');
    }
    return openFileTarget(spec.path, size, {
      ...(spec.format ? { format: spec.format } : {}),
      force: spec.force ?? false,
      protectedPaths: options.protectedPaths ?? [],
      ...(options.vaultFiles ? { vaultFiles: options.vaultFiles } : {}),
    });
  }
  // The AWS adapters are loaded only for AWS targets: the SDK is heavy to import.
  const { destroyOnError, ebsClient, s3Client } = await import("../adapters/aws/clients.ts");
  if (spec.kind === "s3") {
    const { openS3ObjectTarget } = await import("../adapters/aws/s3-object-target.ts");
    const client = s3Client(options.aws ?? {});
    return releasing(
      await openS3ObjectTarget(client, spec.url, size, { force: spec.force ?? false }).catch(
        destroyOnError(client),
      ),
      client,
    );
  }
  const { openEbsSnapshotTarget } = await import("../adapters/aws/ebs-snapshot-target.ts");
  const client = ebsClient(options.aws ?? {});
  const target = await openEbsSnapshotTarget(client, size, {
    ...(spec.description ? { description: spec.description } : {}),
  }).catch(destroyOnError(client));
  return releasing(target, client);
}

/** The target, with `client` destroyed once it is committed or aborted; every other member its own. */
function releasing(target: RestoreTarget, client: { destroy(): void }): RestoreTarget {
  return overriding(target, {
    async commit() {
      try {
        return await target.commit();
      } finally {
        client.destroy();
      }
    },
    async abort() {
      try {
        await target.abort();
      } finally {
        client.destroy();
      }
    },
  });
}
