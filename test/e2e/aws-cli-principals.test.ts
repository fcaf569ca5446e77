import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stsClient } from "../../lib/adapters/aws/clients.ts";
import { callerArn } from "../../lib/adapters/aws/sts-identity.ts";
import { emulatorConfig, useEmulatorFromCli } from "../helpers/aws.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { cliJson, diskImage } from "./cli-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

// Callers are told apart by the credentials the CLI finds in its environment, as a user's shell
// would give them: the emulator's default keys (an IAM user no vault names), or the keys of an
// assumed-role session, which STS GetCallerIdentity reports as that session.

const ACCOUNT = "123456789012";
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const DEFAULT_KEYS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
const sessions = new Map<string, Record<string, string>>();
let aws: string[];
let dir: string;

/** Credentials of a session of role `name` (a fresh one for each session name). */
async function session(name: string, sessionName = "s1"): Promise<Record<string, string>> {
  const key = `${name}/${sessionName}`;
  const known = sessions.get(key);
  if (known) return known;
  const sts = stsClient(emulatorConfig());
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({ RoleArn: role(name), RoleSessionName: sessionName }),
    );
    const keys = {
      AWS_ACCESS_KEY_ID: c!.AccessKeyId!,
      AWS_SECRET_ACCESS_KEY: c!.SecretAccessKey!,
      AWS_SESSION_TOKEN: c!.SessionToken!,
    };
    sessions.set(key, keys);
    return keys;
  } finally {
    sts.destroy();
  }
}

/** Runs the CLI on the vault with `keys` in the environment. */
async function as(keys: Record<string, string>, ...args: string[]) {
  const saved = { ...process.env };
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, keys);
  try {
    return await cliJson(...args, ...aws);
  } finally {
    process.env = saved;
  }
}

function requestIn(run: { code: number; stderr: string }): string {
  expect(run.code, run.stderr).toBe(10);
  return /--approval ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
}

beforeAll(async () => {
  ({ flags: aws } = useEmulatorFromCli());
  dir = await tempDir("aws-principals");
});

afterAll(async () => {
  await removeDir(dir);
});

describe("the CLI on AWS acts as its STS caller, with the vault's principals and approvals", () => {
  it("resolves the caller through STS GetCallerIdentity: the emulator's default user, or a session", async () => {
    expect(await callerArn(emulatorConfig())).toMatch(/^arn:aws:(iam|sts)::\d{12}:user\//);
    const keys = await session("sec-a");
    const config = {
      ...emulatorConfig(),
      credentials: {
        accessKeyId: keys.AWS_ACCESS_KEY_ID!,
        secretAccessKey: keys.AWS_SECRET_ACCESS_KEY!,
        sessionToken: keys.AWS_SESSION_TOKEN!,
      },
    };
    expect(await callerArn(config)).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/sec-a/s1`);
  });

  it("a vault without principals is its caller's; the owner adds the first ones, then is denied (exit 9)", async () => {
    expect((await as(DEFAULT_KEYS, "init", "--name", "gov")).code).toBe(0);
    const image = join(dir, "disk.img");
    await writeFile(image, diskImage(3));
    expect((await as(DEFAULT_KEYS, "backup", image, "--disk", "web")).code).toBe(0);
    const added = await as(
      DEFAULT_KEYS,
      "principal",
      "add",
      role("sec-a"),
      role("sec-b"),
      "--role",
      "security-admin",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.map((p: { name: string }) => p.name)).toEqual([role("sec-a"), role("sec-b")]);
    expect(added.json.some((p: object) => "token" in p)).toBe(false);
    const denied = await as(DEFAULT_KEYS, "list");
    expect(denied.code).toBe(9);
    expect(denied.stderr).toMatch(/is not a principal of this vault/);
    expect((await as(await session("sec-a"), "list")).code).toBe(0);
    const log = await as(await session("sec-a"), "audit", "--action", "vault.access");
    expect(log.json).toEqual([
      expect.objectContaining({ principal: expect.stringMatching(/:user\//), outcome: "refused" }),
    ]);
  });

  it("a critical operation without approval exits 10 and records the request; the same role in another session cannot approve it", async () => {
    const id = requestIn(await as(await session("sec-a"), "vault", "soft-delete", "--disable"));
    const pending = await as(await session("sec-b"), "approvals", "list", "--state", "pending");
    expect(pending.json).toEqual([
      expect.objectContaining({ id, requester: role("sec-a"), operation: "soft-delete.disable" }),
    ]);
    const self = await as(await session("sec-a", "another-name"), "approvals", "approve", id);
    expect(self.code).toBe(9);
    expect(self.stderr).toMatch(/cannot approve it/);
    expect((await as(await session("sec-b"), "approvals", "approve", id)).code).toBe(0);
    const done = await as(await session("sec-a"), "vault", "soft-delete", "--disable", "--approval", id);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json).toMatchObject({ softDeleteEnabled: false });
  });

  it("adding a principal is critical too, and a principal sec-a added never approves sec-a's requests", async () => {
    const add = ["principal", "add", role("sec-c"), "--role", "security-admin"];
    const id = requestIn(await as(await session("sec-a"), ...add));
    expect((await as(await session("sec-b"), "approvals", "approve", id)).code).toBe(0);
    expect((await as(await session("sec-a"), ...add, "--approval", id)).code).toBe(0);
    const removal = requestIn(await as(await session("sec-a"), "principal", "remove", role("sec-b")));
    const refused = await as(await session("sec-c"), "approvals", "approve", removal);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/lineage/);
    const audit = await as(await session("sec-b"), "audit", "--action", "approval.approve");
    expect(audit.json.map((e: { principal: string; outcome: string }) => [e.principal, e.outcome])).toEqual([
      [role("sec-a"), "refused"],
      [role("sec-b"), "succeeded"],
      [role("sec-b"), "succeeded"],
      [role("sec-c"), "refused"],
    ]);
    // The removal of the other independent admin waits, still pending.
    const pending = await as(await session("sec-b"), "approvals", "list", "--state", "pending");
    expect(pending.json.map((a: { id: string }) => a.id)).toEqual([removal]);
    const principals = await as(await session("sec-b"), "principal", "list");
    expect(principals.json.map((p: { name: string }) => p.name)).toEqual([
      role("sec-a"),
      role("sec-b"),
      role("sec-c"),
    ]);
  });
});
