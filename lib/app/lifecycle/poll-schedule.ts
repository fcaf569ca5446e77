import { ValidationError } from "../../errors.ts";
import { optionalCount } from "./input.ts";

/**
 * How the restore state machine polls for rehydration (its `PollSchedule` state sets it as
 * `$.schedule`): the first wait, doubled after every poll up to a ceiling, and how many polls in
 * all. Growing waits answer quick retrievals (Expedited, minutes) quickly and slow ones (Deep
 * Archive bulk, up to 48 h) with few polls, which keeps the execution's history small.
 */
export interface PollSchedule {
  readonly maxPolls: number;
  readonly firstWaitSeconds: number;
  readonly maxWaitSeconds: number;
}

/** The machine's schedule from a task's state input, narrowed by the input's own `maxPolls`. */
export function pollSchedule(input: Readonly<Record<string, unknown>>): PollSchedule {
  const raw = input.schedule;
  if (typeof raw !== "object" || raw === null) {
    throw new ValidationError("schedule must be the restore machine's poll schedule object");
  }
  const given = raw as Readonly<Record<string, unknown>>;
  const machineMax = required(given, "maxPolls");
  const firstWaitSeconds = required(given, "firstWaitSeconds");
  const maxWaitSeconds = required(given, "maxWaitSeconds");
  if (maxWaitSeconds < firstWaitSeconds) {
    throw new ValidationError("schedule.maxWaitSeconds must be at least schedule.firstWaitSeconds");
  }
  // A caller may ask to give up sooner, never later: the machine's budget is what keeps its
  // history under Step Functions' limit.
  const asked = optionalCount(input, "maxPolls", 1);
  return { maxPolls: Math.min(machineMax, asked ?? machineMax), firstWaitSeconds, maxWaitSeconds };
}

function required(obj: Readonly<Record<string, unknown>>, name: string): number {
  const value = obj[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`schedule.${name} must be a whole number >= 1`);
  }
  return value;
}

/** Seconds to wait before poll `polled + 1`, after `polled` polls. */
export function pollWaitSeconds(schedule: PollSchedule, polled: number): number {
  return Math.min(schedule.maxWaitSeconds, schedule.firstWaitSeconds * 2 ** polled);
}

/** Seconds from the rehydration request to the last poll the schedule allows. */
export function pollWindowSeconds(schedule: PollSchedule): number {
  let total = 0;
  for (let polled = 0; polled < schedule.maxPolls; polled++) total += pollWaitSeconds(schedule, polled);
  return total;
}
