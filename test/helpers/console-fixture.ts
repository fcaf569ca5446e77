import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { ensureConsoleAssets } from "../../lib/app/console/assets.ts";
import { serveTokenPath, serveTokenPrincipals, writeServeToken } from "../../lib/app/http/serve-token.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "./image-bytes.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

/** The principals of the console's vault, by role. */
export type ConsoleRole = "reader" | "operator" | "contributor" | "admin" | "admin2";

/**
 * `blockvault serve` as the command starts it (the embedded runtime, the server's token and the
 * console's bundle), on a vault with principals, one restore directory, an image to protect and
 * an unprotected disk "scratch" backed up once. The vault's clock runs `lag` behind the real one
 * until {@link ConsoleFixture.catchUp}: a policy set for the current minute is then due.
 */
export interface ConsoleFixture {
  readonly root: string;
  readonly url: string;
  readonly vault: Vault;
  readonly runtime: EmbeddedRuntime;
  readonly image: string;
  readonly imageBytes: Buffer;
  readonly restoreDir: string;
  readonly tokens: Readonly<Record<ConsoleRole, string>>;
  /** Sets the vault's clock to the real time. */
  catchUp(): void;
  close(): Promise<void>;
}

/** How far the vault's clock is behind until {@link ConsoleFixture.catchUp}. */
export const CLOCK_LAG_MS = 5 * 60 * 1000;

/** Starts the fixture, building the console first if it was not built. */
export async function startConsoleFixture(): Promise<ConsoleFixture> {
  const assets = await ensureConsoleAssets((line) => console.error(line));
  if (!assets) throw new Error("the web console could not be built: run npm run build:console to see why");
  const root = await tempDir("console");
  let lag = CLOCK_LAG_MS;
  const dir = join(root, "vault");
  const vault = await initLocalVault(
    dir,
    { name: "console", blockSize: 4096 },
    { clock: { now: () => Date.now() - lag } },
  );
  const restoreDir = join(root, "restores");
  await mkdir(restoreDir);
  await vault.addRestoreDirectory(restoreDir);
  const image = join(root, "web.img");
  const imageBytes = seededBytes(17, 3 * 1024 * 1024 + 4096);
  await writeFile(image, imageBytes);
  await backupFile(vault, image, "scratch");
  const added = await vault.bootstrapPrincipals([
    { name: "rita", roles: ["reader"] },
    { name: "otto", roles: ["operator"] },
    { name: "carl", roles: ["contributor"] },
    { name: "sam", roles: ["security-admin"] },
    { name: "alice", roles: ["security-admin"] },
  ]);
  const [reader, operator, contributor, admin, admin2] = added.map((a) => a.token as string) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const paths = localVaultPaths(dir);
  const tokenFile = serveTokenPath(dir);
  const runtime = await startEmbeddedRuntime({
    vault,
    archive: new FsObjectArchive(new FsObjectStore(paths.objects)),
    principals: serveTokenPrincipals({
      serveToken: await writeServeToken(tokenFile),
      tokenFile,
      principals: filePrincipalStore(paths.principals),
    }),
    port: 0,
    tickMs: 0,
    waitMs: 0,
    retryIntervalMs: 0,
    // A failing backup is redelivered at once, so it fails for good within the test.
    queueBackoffMs: () => 0,
    console: assets,
  });
  return {
    root,
    url: runtime.url,
    vault,
    runtime,
    image,
    imageBytes,
    restoreDir,
    tokens: { reader, operator, contributor, admin, admin2 },
    catchUp: () => {
      lag = 0;
    },
    async close() {
      await runtime.stop();
      await vault.close();
      await removeDir(root);
    },
  };
}
