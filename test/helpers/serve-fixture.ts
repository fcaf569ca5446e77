import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { FsObjectArchive } from "../../lib/adapters/local/fs-object-archive.ts";
import { FsObjectStore } from "../../lib/adapters/local/fs-object-store.ts";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { serveTokenPath, serveTokenPrincipals, writeServeToken } from "../../lib/app/http/serve-token.ts";
import { type EmbeddedRuntime, startEmbeddedRuntime } from "../../lib/compose/embedded.ts";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "./image-bytes.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

/** The embedded runtime as `serve` starts it: a vault without principals and the server's token. */
export interface ServeFixture {
  readonly root: string;
  readonly dir: string;
  readonly vault: Vault;
  readonly runtime: EmbeddedRuntime;
  readonly token: string;
  readonly tokenFile: string;
  /** A recovery point of a 40 000-byte disk "web". */
  readonly point: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the fixture; `withPoint` backs up one image first. */
export async function startServeFixture(): Promise<ServeFixture> {
  const root = await tempDir("serve");
  const dir = join(root, "vault");
  const vault = await initLocalVault(dir, { name: "serve", blockSize: 4096 });
  const image = join(root, "web.img");
  await writeFile(image, seededBytes(3, 40_000));
  const point = (await backupFile(vault, image, "web")).recoveryPointId;
  const tokenFile = serveTokenPath(dir);
  const token = await writeServeToken(tokenFile);
  const paths = localVaultPaths(dir);
  const runtime = await startEmbeddedRuntime({
    vault,
    archive: new FsObjectArchive(new FsObjectStore(paths.objects)),
    principals: serveTokenPrincipals({
      serveToken: token,
      tokenFile,
      principals: filePrincipalStore(paths.principals),
    }),
    port: 0,
    tickMs: 0,
    waitMs: 0,
    retryIntervalMs: 0,
  });
  const port = Number(new URL(runtime.url).port);
  return {
    root,
    dir,
    vault,
    runtime,
    token,
    tokenFile,
    point,
    port,
    async close() {
      await runtime.stop();
      await vault.close();
      await removeDir(root);
    },
  };
}

/** A raw response: status, lower-case headers, body parsed when JSON. */
export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: checked field by field.
  readonly body: any;
  readonly text: string;
}

/**
 * One request with exactly the headers given (node:http, so Host and Origin can be anything a
 * browser or an attacker's client would send); `host` defaults to `127.0.0.1:PORT`.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        setHost: false,
        headers: {
          host: `127.0.0.1:${port}`,
          ...(options.body !== undefined
            ? { "content-length": String(Buffer.byteLength(options.body)) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A JSON request as the server's owner (the server's token), or with `token`. */
export function owner(f: ServeFixture, method: string, path: string, body?: unknown, token = f.token) {
  return rawRequest(f.port, method, path, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}
