import type { AppContext } from "../app-context.ts";
import { SYSTEM_PRINCIPAL } from "../system.ts";
import { type DrillOptions, type DrillOutcome, runScheduledDrills } from "./drill.ts";
import { runScheduledVerifications, type VerificationOutcome } from "./verify.ts";

/** What the scheduled checks of one tick did. */
export interface ScheduledChecks {
  readonly verifications: VerificationOutcome[];
  readonly drills: DrillOutcome[];
}

/**
 * The checks policies schedule beyond backups: verifications, then restore drills. They read
 * packs, which only a runtime that may unwrap pack keys can, and drills restore to a local
 * scratch file: the embedded runtime runs them after each tick.
 */
export async function runScheduledChecks(
  app: AppContext,
  options: DrillOptions = {},
): Promise<ScheduledChecks> {
  const vault = (await app.vault()).as(SYSTEM_PRINCIPAL);
  const verifications = await runScheduledVerifications(app, vault);
  return { verifications, drills: await runScheduledDrills(app, vault, options) };
}
