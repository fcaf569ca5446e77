import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { openFileTarget } from "../../lib/adapters/local/targets/file-target.ts";
import type { AppContext } from "../../lib/app/app-context.ts";
import { nodeListener } from "../../lib/app/http/node-http.ts";
import { localTokenPrincipals } from "../../lib/app/http/principals.ts";
import { initLocalVault, localVaultPaths } from "../../lib/compose/local.ts";
import { openVmDeps } from "../../lib/compose/vm.ts";
import { ValidationError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { DirectWorkflows } from "./direct-workflows.ts";
import { seededBytes } from "./image-bytes.ts";
import { removeDir, tempDir } from "./temp-dir.ts";
import { backupFile } from "./vault-ops.ts";

/** An embedded vault with principals, served over node:http on a free loopback port. */
export interface HttpFixture {
  readonly root: string;
  readonly image: string;
  readonly imageBytes: Buffer;
  readonly owner: Vault;
  /** The application the server runs on (for driving handleHttp without the server). */
  readonly app: AppContext;
  readonly workflows: DirectWorkflows;
  readonly tokens: Readonly<Record<"reader" | "operator" | "contributor" | "admin" | "admin2", string>>;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the fixture: vault, one image file, principals, the API server. */
export async function startHttpFixture(): Promise<HttpFixture> {
  const root = await tempDir("http");
  let now = Date.parse("2026-05-01T12:00:00Z");
  const dir = join(root, "vault");
  const owner = await initLocalVault(
    dir,
    { name: "http", blockSize: 4096 },
    { clock: { now: () => (now += 1000) } },
  );
  const image = join(root, "disk.img");
  const imageBytes = seededBytes(5, 40_000);
  await writeFile(image, imageBytes);
  const principals = localVaultPaths(dir).principals;
  const added = await owner.bootstrapPrincipals([
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
  const tokens = { reader, operator, contributor, admin, admin2 };
  let app: AppContext | undefined;
  const workflows = new DirectWorkflows(() => app!);
  app = {
    vault: async () => owner,
    queue: { send: async () => {} },
    alerts: { publish: async () => {} },
    workflows,
    openSource: (spec) => openFileSource(spec),
    openVmDeps: (vm) => openVmDeps(vm),
    openTarget: async (spec, size) => {
      if (spec.kind !== "file") throw new ValidationError(`target.kind "${spec.kind}" needs AWS`);
      return openFileTarget(spec.path, size, { force: spec.force ?? false });
    },
  };
  const server: Server = createServer(
    nodeListener(app, localTokenPrincipals(filePrincipalStore(principals))),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    root,
    image,
    imageBytes,
    owner,
    app,
    workflows,
    tokens,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await workflows.settled();
      await owner.close();
      await removeDir(root);
    },
  };
}

/** A response as the tests read it. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field.
  readonly body: any;
}

/** Sends one request to the fixture's server as the holder of `token`. */
export async function call(
  fixture: HttpFixture,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(fixture.url + path, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** The policy the seeded disk is protected by. */
export const DAILY = {
  name: "daily",
  schedule: { kind: "daily", times: ["01:00"] },
  timeZone: "UTC",
  retention: { daily: { days: 30 } },
  snapshotRetentionDays: 2,
};

/** The points {@link seed} made. */
export interface Seeded {
  /** Disk "web" (protected by "daily"), the original image. */
  readonly first: string;
  /** Disk "web", one block changed: `changed`. */
  readonly latest: string;
  readonly changed: Buffer;
  /** Disk "scratch", under no policy (so no retention keeps it). */
  readonly scratch: string;
}

/** Protects disk "web" under "daily", backs it up twice, and disk "scratch" once. */
export async function seed(f: HttpFixture): Promise<Seeded> {
  await f.owner.createPolicy(DAILY);
  const source = await openFileSource(f.image);
  await f.owner.protect(source, "web", "daily").finally(() => source.close());
  const first = (await backupFile(f.owner, f.image, "web")).recoveryPointId;
  const changed = Buffer.from(f.imageBytes);
  changed.fill(7, 8192, 12288);
  const changedPath = join(f.root, "changed.img");
  await writeFile(changedPath, changed);
  const latest = (await backupFile(f.owner, changedPath, "web")).recoveryPointId;
  const scratch = (await backupFile(f.owner, f.image, "scratch")).recoveryPointId;
  return { first, latest, changed, scratch };
}

/** What a reader sees of the vault: what a refused request must leave exactly as it was. */
export async function readerView(f: HttpFixture): Promise<unknown[]> {
  const parts = ["/recovery-points", "/jobs", "/policies", "/protected-items"];
  return Promise.all(parts.map(async (p) => (await call(f, "GET", p, { token: f.tokens.reader })).body));
}

/** An API Gateway HTTP API event (payload 2.0) as IAM authorization delivers it. */
export function apiEvent(overrides: Partial<APIGatewayProxyEventV2WithIAMAuthorizer> = {}, caller?: string) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/jobs",
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    isBase64Encoded: false,
    requestContext: {
      stage: "$default",
      http: { method: "GET", path: "/jobs" },
      authorizer: { iam: { userArn: caller } },
    },
    ...overrides,
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}
