import { expect } from "vitest";
import { runCli } from "./cli.ts";
import { cliJson } from "./cli-fixture.ts";

/** The owner's first principals through the CLI, all with `roles`; their tokens by name. */
export async function bootstrapCli(
  vault: string,
  names: string[],
  roles: string[],
): Promise<Record<string, string>> {
  const args = ["principal", "add", ...names, ...roles.flatMap((r) => ["--role", r]), "--vault", vault];
  const out = (await cliJson(args)) as { name: string; token: string }[] | { name: string; token: string };
  return Object.fromEntries((Array.isArray(out) ? out : [out]).map((p) => [p.name, p.token]));
}

/** The id of the approval request a refused critical command (exit 10) names. */
export function requestIn(run: { code: number; stderr: string }): string {
  expect(run.code, run.stderr).toBe(10);
  const id = /--approval ([0-9a-f-]{36})/.exec(run.stderr)?.[1];
  expect(id).toBeDefined();
  return id!;
}

/** Adds a principal through the CLI: `requester` asks, `approver` approves, `requester` repeats. Its token. */
export async function addApprovedCli(
  vault: string,
  name: string,
  roles: string[],
  requester: string,
  approver: string,
): Promise<string> {
  const args = ["principal", "add", name, ...roles.flatMap((r) => ["--role", r]), "--vault", vault];
  const id = requestIn(await runCli([...args, "--token", requester]));
  await cliJson(["approvals", "approve", id, "--vault", vault, "--token", approver]);
  const out = (await cliJson([...args, "--token", requester, "--approval", id])) as { token: string };
  return out.token;
}
