import type { AwsConfig } from "../adapters/aws/clients.ts";
import { SYSTEM_PRINCIPAL } from "../app/system.ts";
import { ValidationError } from "../errors.ts";
import type { CopyRule } from "../policy/policy.ts";
import type { OpenCopyDestination } from "../rules/copy-rules.ts";
import type { Vault } from "../vault.ts";
import { openLocalVault } from "./local.ts";

/** Which destinations a runtime can reach. */
export interface CopyDestinationOptions {
  /** How vaults on AWS are reached (the runtime's credentials and endpoints). */
  readonly aws?: AwsConfig;
  /** Whether directories on this machine may be destinations (the embedded runtime). */
  readonly directories: boolean;
}

/**
 * Opens the destination of a copy rule as the scheduler: an embedded vault's directory (with its
 * own keyring, in its directory) or a vault on S3 with its own table and KMS key. The scheduler's
 * principal may back up and so add points there; it can neither delete nor shorten anything.
 */
export function copyDestinations(options: CopyDestinationOptions): OpenCopyDestination {
  return async (rule: CopyRule): Promise<Vault> => {
    if (rule.vault.startsWith("s3://"))
      return (await openS3Destination(rule, options.aws ?? {})).as(SYSTEM_PRINCIPAL);
    if (!options.directories) {
      throw new ValidationError(
        `copy destination ${rule.vault}: a directory is only reachable from the embedded runtime; use s3://BUCKET[/PREFIX]`,
      );
    }
    return (await openLocalVault(rule.vault)).as(SYSTEM_PRINCIPAL);
  };
}

/**
 * A vault on S3, reached as the rule's role when it names one (credentials of the destination's
 * account, assumed for the copy) and writing its catalog through the destination's commit
 * function when it names one (a role that may only write, as the snapshot writer's).
 */
async function openS3Destination(rule: CopyRule, runtime: AwsConfig): Promise<Vault> {
  const [bucket = "", ...prefix] = rule.vault.slice("s3://".length).split("/");
  if (!rule.table) throw new ValidationError(`copy destination ${rule.vault}: a vault on S3 needs its table`);
  // Loaded only for this kind of destination: the AWS SDK is heavy for an embedded runtime.
  const { openAwsVault } = await import("./aws.ts");
  const aws = rule.roleArn
    ? (await import("../adapters/aws/assumed-role.ts")).assumedRole(runtime, rule.roleArn, "blockvault-copy")
    : runtime;
  return openAwsVault({
    bucket,
    table: rule.table,
    ...(prefix.length > 0 ? { prefix: prefix.join("/") } : {}),
    ...(rule.kmsKey ? { kmsKey: rule.kmsKey } : {}),
    ...(rule.commitFunction ? { writerGate: await commitGate(aws, rule.commitFunction) } : {}),
    aws,
  });
}

async function commitGate(aws: AwsConfig, commitFunction: string) {
  const [{ LambdaWriterGate }, { lambdaClient }] = await Promise.all([
    import("../adapters/aws/lambda-writer-gate.ts"),
    import("../adapters/aws/clients.ts"),
  ]);
  return new LambdaWriterGate(lambdaClient(aws), commitFunction);
}
