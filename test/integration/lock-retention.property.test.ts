import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import { BlockvaultError } from "../../lib/errors.ts";
import type { Vault } from "../../lib/vault.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const base = { schedule: { kind: "daily", times: ["01:00"] }, timeZone: "UTC" };
const POLICIES = [
  { ...base, name: "p7", retention: { daily: { days: 7 } }, snapshotRetentionDays: 1 },
  { ...base, name: "p10", retention: { daily: { days: 10 } }, snapshotRetentionDays: 2 },
  {
    ...base,
    name: "p30",
    retention: { daily: { days: 30 }, weekly: { weeks: 4, day: "mon" } },
    snapshotRetentionDays: 3,
  },
] as const;

/** One move of an insider with every role, against a locked vault. */
type Move =
  | { kind: "backup" }
  | { kind: "protect"; policy: number }
  | { kind: "unprotect"; wipe: boolean }
  | { kind: "edit"; policy: number; days: number; snapshot: number }
  | { kind: "delete"; pick: number }
  | { kind: "soft-delete"; days: number; disable: boolean }
  | { kind: "run-due" }
  | { kind: "wait"; hours: number };

const move: fc.Arbitrary<Move> = fc.oneof(
  fc.constant({ kind: "backup" as const }),
  fc.record({ kind: fc.constant("protect" as const), policy: fc.nat(2) }),
  fc.record({ kind: fc.constant("unprotect" as const), wipe: fc.boolean() }),
  fc.record({
    kind: fc.constant("edit" as const),
    policy: fc.nat(2),
    days: fc.integer({ min: 7, max: 40 }),
    snapshot: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat(20) }),
  fc.record({
    kind: fc.constant("soft-delete" as const),
    days: fc.integer({ min: 14, max: 40 }),
    disable: fc.boolean(),
  }),
  fc.constant({ kind: "run-due" as const }),
  fc.record({ kind: fc.constant("wait" as const), hours: fc.integer({ min: 1, max: 96 }) }),
);

async function apply(vault: Vault, image: string, m: Move): Promise<void> {
  const source = () => openFileSource(image);
  switch (m.kind) {
    case "backup":
      return void (await backupFile(vault, image, "web"));
    case "protect": {
      const s = await source();
      return void (await vault.protect(s, "web", POLICIES[m.policy]!.name).finally(() => s.close()));
    }
    case "unprotect":
      return void (await vault.unprotect("web", { deletePoints: m.wipe }));
    case "edit": {
      const p = POLICIES[m.policy]!;
      return void (await vault.updatePolicy(p.name, {
        ...p,
        retention: { daily: { days: m.days } },
        snapshotRetentionDays: m.snapshot,
      }));
    }
    case "delete": {
      const points = await vault.listPoints("web");
      if (points.length === 0) return;
      return void (await vault.deletePoint(points[m.pick % points.length]!.id));
    }
    case "soft-delete":
      return void (await vault.setSoftDelete(m.disable ? { enabled: false } : { days: m.days }));
    case "run-due":
      return void (await vault.runDue(openFileSource));
    case "wait":
      return;
  }
}

describe("a locked vault, property", () => {
  it("no sequence of moves ends a point's life before the end the lock showed for it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(move, { minLength: 4, maxLength: 14 }), async (moves) => {
        const root = await tempDir("lock-prop");
        let now = Date.parse("2026-03-02T10:00:00Z");
        const vault = await initLocalVault(
          join(root, "v"),
          { name: "p", blockSize: 4096 },
          { clock: { now: () => now } },
        );
        try {
          const image = join(root, "disk.img");
          await writeFile(image, seededBytes(4, 12_000));
          for (const p of POLICIES) await vault.createPolicy(p);
          await apply(vault, image, { kind: "protect", policy: 1 });
          await backupFile(vault, image, "web");
          await vault.setLock("enabled");
          await vault.setLock("locked");
          // What the vault has promised each point: the latest end it ever showed while locked.
          const promised = new Map<string, number>();
          const observe = async () => {
            for (const p of (await vault.lockPreview()).points)
              promised.set(p.id, Math.max(promised.get(p.id) ?? 0, p.until));
            for (const p of await vault.listPoints()) {
              if (p.state !== "available") expect(now).toBeGreaterThanOrEqual(promised.get(p.id) ?? 0);
            }
          };
          await observe();
          for (const m of moves) {
            if (m.kind === "wait") now += m.hours * 60 * 60 * 1000;
            else now += 60_000;
            await apply(vault, image, m).catch((err: unknown) => {
              // A refusal is the expected answer to most moves; anything else is a bug.
              if (!(err instanceof BlockvaultError)) throw err;
            });
            await observe();
          }
          expect((await vault.settings()).softDeleteEnabled).toBe(true);
        } finally {
          await vault.close();
          await removeDir(root);
        }
      }),
      { numRuns: 25, seed: 20261206, endOnFailure: true },
    );
  }, 240_000);
});
