import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { openLocalVault } from "../../lib/compose/local.ts";
import { BlockvaultError } from "../../lib/errors.ts";
import type { Clock } from "../../lib/ports/clock.ts";
import type { Vault } from "../../lib/vault.ts";
import type { Outcome } from "./fault-matrix.ts";

/** Ports whose adapters sit under a retrying decorator in every vault (see `openFaultyVault`). */
const RETRIED_PORTS = new Set(["store", "catalog", "keys", "references"]);
/**
 * Calls the decorators deliberately do not retry: a staged put consumes its file, so it cannot
 * be repeated (see `StagingArea.put`); removing a staging area is local cleanup.
 */
const UNRETRIED_METHODS = new Set(["area.put", "area.close"]);

/** Whether the retrying decorators promise to absorb this fault, so the operation must succeed. */
export function absorbedByRetries(outcome: Outcome<unknown>): boolean {
  const { fault, hit } = outcome;
  if (!fault || !hit || fault.kind !== "transient") return false;
  return RETRIED_PORTS.has(hit.port) && !UNRETRIED_METHODS.has(hit.method);
}

/**
 * The operation either succeeded or failed with a {@link BlockvaultError} (never a TypeError,
 * a raw OS or SQLite error); a fault the retries absorb must not fail it at all.
 */
export function expectCleanOutcome(outcome: Outcome<unknown>): void {
  const { error, label } = outcome;
  if (error !== undefined) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    expect(error instanceof BlockvaultError, `${label}: not a BlockvaultError: ${detail}`).toBe(true);
  }
  if (absorbedByRetries(outcome)) {
    expect(error, `${label}: a transient fault must be absorbed by the retries`).toBeUndefined();
  }
}

/** Opens the vault copy on plain local adapters, runs `fn`, closes it. */
export async function inspectVault<T>(
  dir: string,
  clock: Clock,
  fn: (vault: Vault) => Promise<T>,
): Promise<T> {
  const vault = await openLocalVault(dir, { clock });
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/** `check --read-data` finds every point restorable and every stored blob sound. */
export async function expectHealthy(vault: Vault, label: string): Promise<void> {
  const report = await vault.check({ readData: true });
  expect(report.ok, `${label}: check --read-data: ${JSON.stringify(report)}`).toBe(true);
}

/** Restores `pointId` into a fresh file in `scratch` and returns its bytes. */
export async function restoredBytes(vault: Vault, pointId: string, scratch: string): Promise<Buffer> {
  const path = join(scratch, `restored-${randomUUID()}.img`);
  try {
    await vault.restoreToFile(pointId, path);
    return await readFile(path);
  } finally {
    await rm(path, { force: true });
  }
}

/** Every point of `expected` restores to exactly its bytes. */
export async function expectRestorable(
  vault: Vault,
  expected: ReadonlyMap<string, Buffer>,
  scratch: string,
  label: string,
): Promise<void> {
  const restores = [...expected].map(async ([id, bytes]) => {
    const got = await restoredBytes(vault, id, scratch).catch((err: unknown) => err as Error);
    expect(Buffer.isBuffer(got) ? undefined : String(got), `${label}: restoring ${id}`).toBeUndefined();
    expect((got as Buffer).equals(bytes), `${label}: ${id} must restore byte-identical`).toBe(true);
  });
  await Promise.all(restores);
}
