import { randomUUID } from "node:crypto";
import {
  AlreadyExistsError,
  IntegrityError,
  KeyError,
  NotFoundError,
  ValidationError,
} from "../../errors.ts";
import type { VaultFiles, VaultRecord } from "../../model.ts";
import type { Catalog } from "../../ports/catalog.ts";
import type { Clock } from "../../ports/clock.ts";
import type { KeyService } from "../../ports/key-service.ts";
import type { LocalFiles } from "../../ports/local-files.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import type { PrincipalStore } from "../../ports/principals.ts";
import type { ReferenceStore } from "../../ports/references.ts";
import { deriveVaultSecrets, metadataId, type VaultSecrets } from "../keys/keys.ts";
import {
  CONFIG_KEY,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_SEGMENT_BLOCKS,
  FORMAT_VERSION,
  isValidBlockSize,
} from "./layout.ts";

/** The ports a vault runs on. */
export interface VaultDeps {
  readonly store: ObjectStore;
  readonly catalog: Catalog;
  readonly keys: KeyService;
  readonly clock: Clock;
  /**
   * Garbage collection's reference records. Without it (or for a vault created before garbage
   * collection existed) backups track nothing and the collector refuses to run.
   */
  readonly references?: ReferenceStore;
  /** An embedded vault's own files, which no restore to a file may write. */
  readonly ownFiles?: VaultFiles;
  /** Who may call the vault; without it the vault is single-user (the caller is its owner). */
  readonly principals?: PrincipalStore;
  /**
   * What this machine can do with local files: read and build the store's objects as files (the
   * fast paths of backups and restores), and restore to a file. Without it the engine uses only
   * the byte-oriented ports, and a restore to a file is refused.
   */
  readonly localFiles?: LocalFiles;
}

/** The vault's `config` object: written once at init, read by every operation. */
export interface VaultConfig {
  readonly format: "blockvault";
  readonly version: number;
  readonly vaultId: string;
  readonly name: string;
  readonly created: number;
  readonly blockSize: number;
  readonly segmentBlocks: number;
  readonly zstdLevel: number;
  /** The dedup key, wrapped by the key service under `{ vault, purpose: "dedup-key" }`. */
  readonly dedupKey: { readonly wrapped: string; readonly masterKeyId: string };
  /**
   * Set on vaults created since root manifests name their recovery point: such a vault holds no
   * version 1 root, so it trusts none (see point-binding.ts). Absent on older vaults.
   */
  readonly boundRoots?: boolean;
  /**
   * HMAC-SHA-256, under the vault's metadata key, of every other field (canonical JSON): the
   * config cannot be altered unnoticed by anyone without the vault's key.
   */
  readonly mac?: string;
}

/** JSON with object keys sorted, so the same config always serialises to the same bytes. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function configMac(secrets: VaultSecrets, config: VaultConfig): string {
  const { mac: _, ...fields } = config;
  return metadataId(secrets, Buffer.from(canonical(fields)));
}

/** An opened vault: its configuration, its working secrets and its ports. */
export interface VaultContext {
  readonly deps: VaultDeps;
  readonly config: VaultConfig;
  readonly secrets: VaultSecrets;
}

/** Options for {@link initVault}. */
export interface InitOptions {
  readonly name: string;
  readonly blockSize?: number;
  readonly zstdLevel?: number;
}

/**
 * Creates a vault in an empty store: a fresh dedup key (wrapped by the key service), the config
 * object (create-only, so two inits cannot both win) and the catalog's vault record.
 */
export async function initVault(deps: VaultDeps, options: InitOptions): Promise<VaultContext> {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!isValidBlockSize(blockSize)) {
    throw new ValidationError(`block size ${blockSize} is invalid: use a power of two from 4096 to 4194304`);
  }
  const zstdLevel = options.zstdLevel ?? 3;
  if (!Number.isInteger(zstdLevel) || zstdLevel < -7 || zstdLevel > 19) {
    throw new ValidationError(`zstd level ${zstdLevel} is invalid: use an integer from -7 to 19`);
  }
  const vaultId = randomUUID();
  const dedup = await deps.keys.generateDataKey({ vault: vaultId, purpose: "dedup-key" });
  const secrets = deriveVaultSecrets(dedup.plaintext, vaultId);
  const config: VaultConfig = {
    format: "blockvault",
    version: FORMAT_VERSION,
    vaultId,
    name: options.name,
    created: deps.clock.now(),
    blockSize,
    segmentBlocks: DEFAULT_SEGMENT_BLOCKS,
    zstdLevel,
    dedupKey: { wrapped: dedup.wrapped.toString("base64"), masterKeyId: dedup.masterKeyId },
    boundRoots: true,
  };
  try {
    const sealed = { ...config, mac: configMac(secrets, config) };
    await deps.store.put(CONFIG_KEY, Buffer.from(JSON.stringify(sealed, null, 2)));
  } catch (err) {
    if (err instanceof AlreadyExistsError)
      throw new AlreadyExistsError("a vault already exists here", { cause: err });
    throw err;
  }
  const record: VaultRecord = { id: vaultId, name: options.name, created: config.created, blockSize };
  await deps.catalog.createVault(record);
  await deps.references?.track(vaultId);
  return { deps, config, secrets };
}

/** Reads the config object and unwraps the dedup key. */
export async function openVault(deps: VaultDeps): Promise<VaultContext> {
  let raw: Buffer;
  try {
    raw = await deps.store.get(CONFIG_KEY);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError("not a vault: no vault configuration found", { cause: err });
    throw err;
  }
  const config = parseConfig(raw);
  let dedupKey: Buffer;
  try {
    dedupKey = await deps.keys.decryptDataKey(Buffer.from(config.dedupKey.wrapped, "base64"), {
      vault: config.vaultId,
      purpose: "dedup-key",
    });
  } catch (err) {
    if (err instanceof KeyError) {
      throw new KeyError(
        `cannot unwrap the key of vault ${config.name} (${config.vaultId}): the key service holds a different master key than ${config.dedupKey.masterKeyId}, or the vault configuration is damaged`,
        { cause: err },
      );
    }
    throw err;
  }
  const secrets = deriveVaultSecrets(dedupKey, config.vaultId);
  if (config.mac !== configMac(secrets, config)) {
    throw new IntegrityError("the vault configuration was altered: its authentication code does not match");
  }
  return { deps, config, secrets };
}

function parseConfig(raw: Buffer): VaultConfig {
  let parsed: Partial<VaultConfig>;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch (cause) {
    throw new IntegrityError("the vault configuration is not valid JSON", { cause });
  }
  if (parsed.format !== "blockvault" || typeof parsed.vaultId !== "string" || !parsed.dedupKey) {
    throw new IntegrityError("the vault configuration is not a blockvault configuration");
  }
  if (parsed.version !== FORMAT_VERSION) {
    throw new IntegrityError(
      `the vault uses format version ${parsed.version}; this blockvault reads version ${FORMAT_VERSION}`,
    );
  }
  if (!isValidBlockSize(parsed.blockSize ?? 0))
    throw new IntegrityError("the vault configuration has an invalid block size");
  return parsed as VaultConfig;
}
