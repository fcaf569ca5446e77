import { decoratedClientConfig, dynamoDocumentClient, kmsClient, s3Client } from "../adapters/aws/clients.ts";
import { openDynamoCatalog } from "../adapters/aws/dynamo/catalog.ts";
import { dynamoPrincipalStore } from "../adapters/aws/dynamo/principals.ts";
import { DynamoReferenceStore } from "../adapters/aws/dynamo/references.ts";
import { KmsKeyService } from "../adapters/aws/kms-key-service.ts";
import {
  type AwsVaultLocation,
  configuredKmsKey,
  noVaultError,
  provisionAwsVault,
} from "../adapters/aws/provision.ts";
import { S3ObjectStore } from "../adapters/aws/s3-object-store.ts";
import { callerArn } from "../adapters/aws/sts-identity.ts";
import { gatedCatalog, gatedReferences } from "../decorators/gated-writer.ts";
import type { InitOptions, VaultDeps } from "../engine/store/vault-config.ts";
import { AccessDeniedError, NotFoundError, ValidationError } from "../errors.ts";
import { AuditOutcome } from "../model.ts";
import { type Clock, systemClock } from "../ports/clock.ts";
import type { PrincipalStore } from "../ports/principals.ts";
import type { WriterGate } from "../ports/writer-gate.ts";
import { principalByArn } from "../rules/callers.ts";
import { Vault } from "../vault.ts";
import { decoratePorts, type RawPorts } from "./decorate.ts";

/** Where a vault on AWS lives, and the key and clock it runs with. */
export interface AwsVaultOptions extends AwsVaultLocation {
  /**
   * The KMS key (id, ARN or alias). Opening a vault may leave it out: the vault's config names
   * the key that wrapped its dedup key. `init` creates `alias/blockvault-<name>` when absent.
   */
  readonly kmsKey?: string;
  readonly clock?: Clock;
  /**
   * The writer's gate: when given, the vault may only read the catalog and the reference store
   * itself, and every write goes through the gate (the snapshot function: see
   * ports/writer-gate.ts).
   */
  readonly writerGate?: WriterGate;
}

/** S3 requests in flight per vault: enough to fill a fast link, few enough for memory. */
const S3_CONCURRENCY = 32;

/** The ports of a vault on AWS; `bind` gives them the vault's id once it is open. */
interface AwsPorts {
  readonly deps: VaultDeps;
  readonly close: () => Promise<void>;
  readonly bind: (vault: Vault) => Vault;
}

/**
 * The AWS runtime's ports: packs in S3, the catalog, reference store and principals in one
 * DynamoDB table, keys from KMS, all decorated the way every runtime's are; with a writer's gate,
 * the catalog and reference writes go through it.
 */
function awsPorts(options: AwsVaultOptions, kmsKey: string): AwsPorts {
  // The retry decorators are these clients' one retry layer: the SDK tries once.
  const aws = decoratedClientConfig(options.aws ?? {});
  const s3 = s3Client(aws);
  const kms = kmsClient(aws);
  const dynamo = dynamoDocumentClient(aws);
  const catalog = openDynamoCatalog({ tableName: options.table, client: dynamo });
  const references = new DynamoReferenceStore({ tableName: options.table, client: dynamo });
  const gate = options.writerGate;
  let vaultId: string | undefined;
  const raw: RawPorts = {
    store: new S3ObjectStore(s3, {
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    }),
    catalog: gate ? gatedCatalog(catalog, gate) : catalog,
    keys: new KmsKeyService(kms, kmsKey),
    clock: options.clock ?? systemClock,
    references: gate ? gatedReferences(references, gate) : references,
    principals: dynamoPrincipalStore({ tableName: options.table, client: dynamo, vaultId: () => vaultId }),
  };
  return {
    deps: decoratePorts(raw, { storeConcurrency: S3_CONCURRENCY }),
    bind: (vault) => {
      vaultId = vault.id;
      return vault;
    },
    close: async () => {
      await catalog.close();
      s3.destroy();
      kms.destroy();
      dynamo.destroy();
    },
  };
}

function checkNames(options: AwsVaultOptions): void {
  if (!options.bucket)
    throw new ValidationError("missing the vault's bucket (--bucket or BLOCKVAULT_BUCKET)");
  if (!options.table)
    throw new ValidationError("missing the vault's catalog table (--table or BLOCKVAULT_TABLE)");
}

/** Runs `start` on the ports; on failure closes them and rethrows what `failed` makes of the error. */
async function started(
  ports: AwsPorts,
  start: (deps: VaultDeps, close: () => Promise<void>) => Promise<Vault>,
  failed: (err: unknown) => unknown = (err) => err,
): Promise<Vault> {
  try {
    return ports.bind(await start(ports.deps, ports.close));
  } catch (err) {
    await ports.close();
    throw failed(err);
  }
}

/**
 * Creates a vault on AWS: the bucket, the catalog table and the KMS key where they do not exist
 * yet (see `provisionAwsVault`), then the vault itself.
 */
export async function initAwsVault(options: AwsVaultOptions, init: InitOptions): Promise<Vault> {
  checkNames(options);
  const kmsKey = await provisionAwsVault(options, init.name, options.kmsKey);
  return started(awsPorts(options, kmsKey), (deps, close) => Vault.init(deps, init, close));
}

/** Opens a vault on AWS, with a clear error when the bucket holds none. */
export async function openAwsVault(options: AwsVaultOptions): Promise<Vault> {
  checkNames(options);
  const kmsKey = options.kmsKey ?? (await configuredKmsKey(options));
  return started(
    awsPorts(options, kmsKey),
    (deps, close) => Vault.open(deps, close),
    (err) => (err instanceof NotFoundError ? noVaultError(options, err) : err),
  );
}

/**
 * Opens a vault on AWS as the caller its credentials belong to (STS GetCallerIdentity): the
 * owner while the vault has no principals, else the principal its ARN (or, for an assumed-role
 * session, its role) names; a caller that is not one is an `AccessDeniedError`, and nothing stays
 * open.
 */
export async function openAwsVaultAsCaller(options: AwsVaultOptions): Promise<Vault> {
  const vault = await openAwsVault(options);
  let arn: string | undefined;
  try {
    arn = await callerArn(options.aws ?? {});
    return vault.as(await principalByArn(vault.ctx.deps.principals as PrincipalStore, arn));
  } catch (err) {
    // STS vouches for the name, so a denied caller is worth a line in the audit log.
    if (err instanceof AccessDeniedError && arn !== undefined) await auditDenied(vault, arn, err);
    await vault.close();
    throw err;
  }
}

async function auditDenied(vault: Vault, arn: string, err: Error): Promise<void> {
  await vault.ctx.deps.catalog
    .appendAudit({
      vaultId: vault.id,
      at: vault.ctx.deps.clock.now(),
      principal: arn,
      action: "vault.access",
      outcome: AuditOutcome.Refused,
      detail: { reason: err.message },
    })
    .catch(() => undefined);
}
