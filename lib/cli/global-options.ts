import type { AwsVaultOptions } from "../adapters/aws/aws-vault.ts";
import { ValidationError } from "../errors.ts";
import { OptionKind, type OptionSpec } from "./spec.ts";

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  vault: {
    kind: OptionKind.Path,
    arg: "DIR",
    default: "$BLOCKVAULT_HOME, else ./.blockvault",
    help: "the vault directory (on AWS: where the server's token is kept)",
  },
  keyring: {
    kind: OptionKind.Path,
    arg: "FILE",
    default: "keyring.json in the vault directory",
    help: "the keyring holding the vault's master key",
  },
  token: {
    kind: OptionKind.String,
    arg: "TOKEN",
    default: "$BLOCKVAULT_TOKEN",
    help: "your API token, once the vault has principals",
  },
  backend: {
    kind: OptionKind.Choice,
    arg: "BACKEND",
    choices: ["local", "aws"],
    default: "$BLOCKVAULT_BACKEND, else local",
    help: "where the vault lives",
  },
  bucket: {
    kind: OptionKind.String,
    arg: "NAME",
    default: "$BLOCKVAULT_BUCKET",
    help: "aws: the vault's S3 bucket",
  },
  prefix: {
    kind: OptionKind.String,
    arg: "PATH",
    default: "$BLOCKVAULT_PREFIX",
    help: "aws: key prefix in the bucket, for several vaults per bucket",
  },
  table: {
    kind: OptionKind.String,
    arg: "NAME",
    default: "$BLOCKVAULT_TABLE",
    help: "aws: the DynamoDB catalog table",
  },
  "kms-key": {
    kind: OptionKind.String,
    arg: "KEY",
    default: "$BLOCKVAULT_KMS_KEY",
    help: "aws: the KMS key id, ARN or alias (init creates one if absent)",
  },
  region: {
    kind: OptionKind.String,
    arg: "REGION",
    default: "$AWS_REGION",
    help: "aws: the region ($AWS_ENDPOINT_URL points at LocalStack or moto)",
  },
  json: { kind: OptionKind.Flag, help: "print machine-readable JSON on stdout (errors as JSON on stderr)" },
  help: { kind: OptionKind.Flag, short: "h", help: "show help" },
};

/** The AWS backend's settings from flags and environment, or undefined for the local backend. */
export function awsOptions(values: Readonly<Record<string, unknown>>): AwsVaultOptions | undefined {
  const flag = (name: string, env: string) => (values[name] as string | undefined) ?? process.env[env];
  const backend = flag("backend", "BLOCKVAULT_BACKEND") ?? "local";
  if (backend === "local") return undefined;
  if (backend !== "aws") throw new ValidationError(`--backend must be "local" or "aws", got "${backend}"`);
  const region = flag("region", "AWS_REGION");
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const prefix = flag("prefix", "BLOCKVAULT_PREFIX");
  const kmsKey = flag("kms-key", "BLOCKVAULT_KMS_KEY");
  return {
    bucket: flag("bucket", "BLOCKVAULT_BUCKET") ?? "",
    table: flag("table", "BLOCKVAULT_TABLE") ?? "",
    ...(prefix ? { prefix } : {}),
    ...(kmsKey ? { kmsKey } : {}),
    aws: { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) },
  };
}
