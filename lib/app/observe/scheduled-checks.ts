import type { AppContext } from "../app-context.ts";
import { SYSTEM_PRINCIPAL } from "../system.ts";
import { runScheduledVerifications, type VerificationOutcome } from "./verify.ts";

/** What the scheduled checks of one tick did. */
export interface ScheduledChecks {
  readonly verifications: VerificationOutcome[];
}

/**
 * The checks policies schedule beyond backups: verifications. They read packs, which only a
 * runtime that may unwrap pack keys can: the embedded runtime runs them after each tick.
 */
export async function runScheduledChecks(app: AppContext): Promise<ScheduledChecks> {
  const vault = (await app.vault()).as(SYSTEM_PRINCIPAL);
  return { verifications: await runScheduledVerifications(app, vault) };
}
