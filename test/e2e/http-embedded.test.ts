import { join } from "node:path";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { serveTokenPath, serveTokenPrincipals, writeServeToken } from "../../lib/app/http/serve-token.ts";
import { startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import { describeHttpFlow } from "./http-flow.ts";

process.env.BLOCKVAULT_WORKERS = "1";

describeHttpFlow("the embedded runtime (local adapters)", async (root, clock) => {
  const dir = join(root, "vault");
  const vault = await initLocalVault(dir, { name: "embedded", blockSize: 4096 }, { clock });
  const paths = localVaultPaths(dir);
  const tokenFile = serveTokenPath(dir);
  const token = await writeServeToken(tokenFile);
  const runtime = await startEmbeddedRuntime({
    vault,
    archive: new FsObjectArchive(new FsObjectStore(paths.objects), { clock }),
    principals: serveTokenPrincipals({
      serveToken: token,
      tokenFile,
      principals: filePrincipalStore(paths.principals),
    }),
    port: 0,
    tickMs: 0,
    waitMs: 0,
    retryIntervalMs: 0,
    queueBackoffMs: () => 1,
  });
  return {
    vault,
    runtime,
    token,
    async close() {
      await runtime.stop();
      await vault.close();
    },
  };
});
