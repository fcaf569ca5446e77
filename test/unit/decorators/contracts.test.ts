import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FsObjectStore } from "../../../lib/adapters/local/fs-object-store.ts";
import { createKeyring } from "../../../lib/adapters/local/keyring.ts";
import { openSqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { LimitedObjectStore } from "../../../lib/decorators/limited-object-store.ts";
import { retryingCatalog } from "../../../lib/decorators/retrying-catalog.ts";
import { RetryingKeyService } from "../../../lib/decorators/retrying-key-service.ts";
import { RetryingObjectStore } from "../../../lib/decorators/retrying-object-store.ts";
import { describeCatalogContract } from "../../contract/catalog.contract.ts";
import { describeKeyServiceContract } from "../../contract/key-service.contract.ts";
import { describeObjectStoreContract } from "../../contract/object-store.contract.ts";
import { instantPolicy } from "./fakes.ts";

// Decorators must keep their port's contract: run the adapters' contract suites through them,
// stacked the way the local vault stacks them.

const tempDir = () => mkdtemp(path.join(os.tmpdir(), "blockvault-decorated-"));

describeObjectStoreContract("RetryingObjectStore(LimitedObjectStore(FsObjectStore))", async () => {
  const root = await tempDir();
  const store = new RetryingObjectStore(new LimitedObjectStore(new FsObjectStore(root), 2), instantPolicy());
  return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
});

describeCatalogContract("Catalog(SqliteCatalog)", async () => {
  const catalog = retryingCatalog(openSqliteCatalog(":memory:"), instantPolicy());
  return { catalog, cleanup: () => catalog.close() };
});

describeKeyServiceContract("RetryingKeyService(LocalKeyService)", async () => {
  const dir = await tempDir();
  return {
    keys: new RetryingKeyService(await createKeyring(path.join(dir, "a.keyring")), instantPolicy()),
    other: new RetryingKeyService(await createKeyring(path.join(dir, "b.keyring")), instantPolicy()),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
