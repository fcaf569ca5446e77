/**
 * The policy's observation fields: the grace of its recovery point objective, scheduled
 * verification and restore drills (see {@link BackupPolicy}).
 */
import {
  DRILL_CHECKS,
  type DrillCheck,
  POLICY_LIMITS,
  type RestoreDrill,
  type Verification,
} from "./policy.ts";
import { integer, invalid, object, oneOf } from "./validate-fields.ts";

/** `rpoGraceMinutes`: 15 minutes to 7 days. */
export function validateRpoGrace(value: unknown): number {
  const { min, max } = POLICY_LIMITS.rpoGraceMinutes;
  return integer("rpoGraceMinutes", value, min, max);
}

/** `verification`: how often a run starts, and the period within which every pack is read. */
export function validateVerification(value: unknown): Verification {
  const fields = object("verification", value, ["everyDays", "readAllWithinDays"]);
  const every = POLICY_LIMITS.verifyEveryDays;
  const everyDays = integer("verification.everyDays", fields.everyDays, every.min, every.max);
  const within = POLICY_LIMITS.verifyReadAllWithinDays;
  const readAllWithinDays = integer(
    "verification.readAllWithinDays",
    fields.readAllWithinDays,
    within.min,
    within.max,
  );
  if (readAllWithinDays < everyDays) {
    invalid(
      `verification.readAllWithinDays must be at least verification.everyDays (${everyDays}), got ${readAllWithinDays}`,
    );
  }
  return { everyDays, readAllWithinDays };
}

/** `restoreDrill`: how often, and the optional check of the restored image. */
export function validateRestoreDrill(value: unknown): RestoreDrill {
  const fields = object("restoreDrill", value, ["everyDays", "check"]);
  const { min, max } = POLICY_LIMITS.drillEveryDays;
  const everyDays = integer("restoreDrill.everyDays", fields.everyDays, min, max);
  if (fields.check === undefined) return { everyDays };
  const check: DrillCheck = oneOf("restoreDrill.check", fields.check, DRILL_CHECKS);
  return { everyDays, check };
}
