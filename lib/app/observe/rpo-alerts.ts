import { AlreadyExistsError } from "../../errors.ts";
import { JobStatus, JobType, type RecoveryPointRecord } from "../../model.ts";
import type { Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import { latestGoodPoints, type RpoStatus, rpoStatus } from "./rpo.ts";

/** What one RPO check found. */
export interface RpoCheck {
  /** Every protected item's status. */
  readonly statuses: RpoStatus[];
  /** The items outside their RPO. */
  readonly missed: RpoStatus[];
  /** The misses alerted by this check (the others were alerted by an earlier one). */
  readonly alerted: RpoStatus[];
}

/** The job that records a miss: one id per (disk, slot), so a miss is alerted once. */
export function rpoMissJobId(disk: string, slot: number): string {
  return `rpo-miss-${disk}-${slot}`;
}

/**
 * The missed-RPO check of a scheduler tick: every protected item whose policy's latest slot due
 * past the grace has no good point gets a failed `rpo-miss` job — a conditional create, so the
 * miss is alerted once however many ticks see it (a later missed slot is a new miss) — and an
 * alert. The record comes first: a crash between the two loses that alert rather than sending
 * it on every tick (alerts are best effort). `points` saves listing them again.
 */
export async function checkRpo(
  app: AppContext,
  vault: Vault,
  points?: readonly RecoveryPointRecord[],
): Promise<RpoCheck> {
  const { catalog, clock } = vault.ctx.deps;
  const now = clock.now();
  const latest = latestGoodPoints(points ?? (await catalog.listRecoveryPoints(vault.id)));
  const statuses: RpoStatus[] = [];
  for (const disk of await catalog.listDisks(vault.id)) {
    statuses.push(await rpoStatus(vault.ctx, disk, latest.get(disk.name), now));
  }
  const missed = statuses.filter((s) => !s.compliant);
  const alerted: RpoStatus[] = [];
  for (const miss of missed) {
    const slot = miss.requiredSince!;
    const error =
      `disk ${miss.disk} has no good recovery point since its slot of ${new Date(slot).toISOString()} ` +
      `(policy "${miss.policy}", ${miss.graceMinutes} minutes' grace); the latest is ` +
      (miss.lastGood === undefined ? "none" : new Date(miss.lastGood).toISOString());
    try {
      await catalog.createJob({
        id: rpoMissJobId(miss.disk, slot),
        vaultId: vault.id,
        type: JobType.RpoMiss,
        status: JobStatus.Failed,
        disk: miss.disk,
        started: now,
        ended: now,
        bytesScanned: 0,
        bytesChanged: 0,
        bytesStored: 0,
        attempts: 0,
        error,
        detail: {
          slot,
          policy: miss.policy ?? "",
          ...(miss.lastGood !== undefined ? { lastGood: miss.lastGood } : {}),
        },
      });
    } catch (err) {
      if (err instanceof AlreadyExistsError) continue;
      throw err;
    }
    alerted.push(miss);
    await app.alerts
      .publish({
        subject: `blockvault: disk ${miss.disk} missed its recovery point objective`,
        message: error,
        jobId: rpoMissJobId(miss.disk, slot),
      })
      .catch(() => undefined);
  }
  return { statuses, missed, alerted };
}
