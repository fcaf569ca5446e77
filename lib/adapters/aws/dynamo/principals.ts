import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { IntegrityError, NotFoundError, ValidationError } from "../../../errors.ts";
import type { PrincipalStore, StoredPrincipal } from "../../../ports/principals.ts";
import {
  DocumentPrincipalStore,
  type PrincipalDocument,
  type PrincipalDocumentIo,
} from "../../principal-document.ts";
import { itemKey } from "./keys.ts";
import { DynamoTable } from "./store.ts";
import { NOT_EXISTS, vaultExists } from "./vaults.ts";

/**
 * The principals of a vault on AWS: IAM users and roles by ARN, with their roles and lineage, in
 * one item of the vault's partition in the catalog table, `sk = PRINCIPALS`, holding the set's
 * `revision` and the principals as JSON text. One item, so that a change is one conditional
 * write on the revision it was decided on (the rule "never remove the last security admin" looks
 * at every principal); a vault has few principals, far below the 400 KB an item may hold.
 */
export const PRINCIPALS_SK = "PRINCIPALS";

/** Where the store is: the catalog table, and the vault (known once the vault is open). */
export interface DynamoPrincipalStoreOptions {
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
  readonly vaultId: () => string | undefined;
}

export function dynamoPrincipalStore(options: DynamoPrincipalStoreOptions): PrincipalStore {
  return new DocumentPrincipalStore(new PrincipalItem(options), "iam");
}

class PrincipalItem implements PrincipalDocumentIo {
  readonly #table: DynamoTable;
  readonly #vaultId: () => string | undefined;

  constructor(options: DynamoPrincipalStoreOptions) {
    this.#table = new DynamoTable(options.client, options.tableName);
    this.#vaultId = options.vaultId;
  }

  get where(): string {
    return `vault ${this.#vaultId() ?? "(not open)"} in DynamoDB table ${this.#table.name}`;
  }

  #id(): string {
    const id = this.#vaultId();
    if (id === undefined) throw new ValidationError("the vault's principals are read once the vault is open");
    return id;
  }

  #key() {
    return itemKey(this.#id(), PRINCIPALS_SK);
  }

  async load(): Promise<PrincipalDocument> {
    const item = await this.#table.get(this.#key(), `read the principals of ${this.where}`);
    if (item === undefined) return { revision: 0, principals: [] };
    const { revision, principals } = item;
    if (typeof revision !== "number" || typeof principals !== "string")
      throw new IntegrityError(`the principals item of ${this.where} is malformed`);
    try {
      return { revision, principals: JSON.parse(principals) as StoredPrincipal[] };
    } catch (cause) {
      throw new IntegrityError(`the principals item of ${this.where} is not valid JSON`, { cause });
    }
  }

  /** One transaction: the vault exists, and the item is still at `expectedRevision` (absent at 0). */
  async replace(next: PrincipalDocument, expectedRevision: number): Promise<boolean> {
    const what = `write the principals of ${this.where}`;
    const key = this.#key();
    const item = {
      ...key,
      kind: "principals",
      revision: next.revision,
      principals: JSON.stringify(next.principals),
    };
    const put =
      expectedRevision === 0
        ? { put: item, condition: NOT_EXISTS }
        : {
            put: item,
            condition: "#revision = :revision",
            names: { "#revision": "revision" },
            values: { ":revision": expectedRevision },
          };
    const cancelled = await this.#table.transact([put, vaultExists(this.#id())], what);
    if (cancelled === undefined) return true;
    if (cancelled.failed.has(1)) throw new NotFoundError(`${what}: the vault does not exist`);
    // A failed revision condition, or another write at the same moment: the caller reads again.
    return false;
  }
}
