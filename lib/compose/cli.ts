import { FsObjectArchive } from "../adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../adapters/local/fs-object-store.ts";
import { filePrincipalStore } from "../adapters/local/principals.ts";
import { localVaultPaths } from "../adapters/local/vault-paths.ts";
import type { Clock } from "../ports/clock.ts";
import type { ObjectArchive } from "../ports/object-archive.ts";
import type { PrincipalStore } from "../ports/principals.ts";
import { principalByToken } from "../rules/callers.ts";
import type { Vault } from "../vault.ts";
import type { AwsVaultOptions } from "./aws.ts";
import { openLocalVault } from "./local.ts";

/** What the CLI knows of the vault it is pointed at. */
export interface CliVaultOptions {
  /** The embedded vault's directory (`--vault`); on AWS, where `serve` keeps its token. */
  readonly dir: string;
  readonly keyring?: string | undefined;
  /** The caller's API token, when the embedded vault has principals. */
  readonly token?: string | undefined;
  /** Set when the vault lives on AWS (`--backend aws`). */
  readonly aws?: AwsVaultOptions | undefined;
  readonly clock?: Clock | undefined;
}

/**
 * The CLI's composition root: opens the vault the options name — embedded, or on AWS
 * (CLI-on-AWS) — as the caller. The caller closes it.
 */
export async function openCliVault(options: CliVaultOptions): Promise<Vault> {
  const clock = options.clock ? { clock: options.clock } : {};
  // On AWS the caller is the IAM identity of the credentials in use, mapped by the vault's
  // principals: the same rules and approvals as an embedded vault's, enforced where the data is.
  if (options.aws) {
    // Loaded only for this backend: the AWS SDK adds a tenth of a second and 40 MiB to every run.
    const { openAwsVaultAsCaller } = await import("./aws.ts");
    return openAwsVaultAsCaller({ ...options.aws, ...clock });
  }
  // Who is calling is settled before the vault is opened: a bad token opens nothing.
  const principal = await principalByToken(localPrincipals(options.dir), options.token);
  const vault = await openLocalVault(options.dir, {
    ...(options.keyring ? { keyring: options.keyring } : {}),
    ...clock,
  });
  return vault.as(principal);
}

/** The principals of the embedded vault in `dir` (API tokens and roles). */
export function localPrincipals(dir: string): PrincipalStore {
  return filePrincipalStore(localVaultPaths(dir).principals);
}

/**
 * The archive tier `serve`'s state machines move packs to and from: the bucket's storage classes
 * on AWS, the embedded store's archive otherwise. Loaded lazily on AWS (the SDK is heavy).
 */
export async function vaultArchive(options: CliVaultOptions, clock: Clock): Promise<ObjectArchive> {
  if (options.aws) {
    const { s3Client } = await import("../adapters/aws/clients.ts");
    const { S3ObjectStore } = await import("../adapters/aws/s3-object-store.ts");
    const { bucket, prefix } = options.aws;
    return new S3ObjectStore(s3Client(options.aws.aws ?? {}), { bucket, ...(prefix ? { prefix } : {}) });
  }
  const objects = localVaultPaths(options.dir).objects;
  return new FsObjectArchive(new FsObjectStore(objects, { clock }), { clock });
}
