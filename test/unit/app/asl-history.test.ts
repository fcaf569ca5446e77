import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { statemachinesDir } from "../../../lib/app/lifecycle/definitions.ts";
import { pollSchedule, pollWindowSeconds } from "../../../lib/app/lifecycle/poll-schedule.ts";
import { Machine } from "../../../lib/ports/workflows.ts";
import {
  type AslState,
  cyclicWithout,
  loopOf,
  maxEventsPerVisit,
  type States,
} from "../../helpers/asl-graph.ts";

/** Step Functions (standard workflows) fails an execution whose history reaches this many events. */
const HISTORY_LIMIT = 25_000;
/** The longest rehydration S3 can take: Glacier Deep Archive, bulk retrieval. */
const LONGEST_REHYDRATION_SECONDS = 48 * 3600;
/** ExecutionStarted and the execution's end event. */
const EXECUTION_EVENTS = 2;

async function states(machine: Machine): Promise<States> {
  const text = await readFile(`${statemachinesDir()}/${machine}.asl.json`, "utf8");
  return (JSON.parse(text) as { States: States }).States;
}

/** Every state that lies on some cycle. */
function loopingStates(all: States): Set<string> {
  return new Set(Object.keys(all).filter((name) => loopOf(all, name).size > 1));
}

/**
 * The most events a restore execution can write: the states outside the poll loop at most once
 * each, and the loop's states at most once between two polls (every cycle polls, which the test
 * checks), for each of the schedule's polls and once more before the first.
 */
function worstCaseEvents(all: States, loop: ReadonlySet<string>, maxPolls: number): number {
  const visit = (names: string[]) => names.reduce((sum, n) => sum + maxEventsPerVisit(all[n]!), 0);
  const outside = Object.keys(all).filter((n) => !loop.has(n));
  return EXECUTION_EVENTS + visit(outside) + (maxPolls + 1) * visit([...loop]);
}

describe("restore machine history", () => {
  it("polls in one loop that every cycle takes through PollRehydration", async () => {
    const all = await states(Machine.Restore);
    const loop = loopOf(all, "WaitForRehydration");
    expect(loop.has("PollRehydration")).toBe(true);
    expect(loopingStates(all)).toEqual(loop);
    expect(cyclicWithout(all, loop, "PollRehydration")).toBe(false);
    // Waits grow with the polls: the tasks say how long, the Wait state reads it.
    const wait = all.WaitForRehydration as AslState & { SecondsPath?: string; Seconds?: number };
    expect(wait).toMatchObject({ SecondsPath: "$.poll.waitSeconds" });
    expect(wait.Seconds).toBeUndefined();
  });

  it("stays under the 25,000-event history limit in the worst case", async () => {
    const all = await states(Machine.Restore);
    const schedule = pollSchedule({ schedule: (all.PollSchedule as { Result?: unknown }).Result });
    const loop = loopOf(all, "WaitForRehydration");
    const worst = worstCaseEvents(all, loop, schedule.maxPolls);
    expect(worst).toBeLessThan(HISTORY_LIMIT);
    // Ten polls more would still fit: the bound is not sitting on the limit by accident.
    expect(worstCaseEvents(all, loop, schedule.maxPolls + 10)).toBeLessThan(HISTORY_LIMIT);
  });

  it("polls long enough for the slowest rehydration S3 offers", async () => {
    const all = await states(Machine.Restore);
    const schedule = pollSchedule({ schedule: (all.PollSchedule as { Result?: unknown }).Result });
    expect(pollWindowSeconds(schedule)).toBeGreaterThan(LONGEST_REHYDRATION_SECONDS);
    // The first polls come quickly, for Expedited retrievals (1-5 minutes).
    expect(schedule.firstWaitSeconds).toBeLessThanOrEqual(60);
  });

  it("has no loop in the tiering and expiry machines (their Map runs over a bounded list)", async () => {
    for (const machine of [Machine.Tiering, Machine.Expiry]) {
      expect(loopingStates(await states(machine)), machine).toEqual(new Set());
    }
  });
});

describe("poll schedule", () => {
  const schedule = { maxPolls: 5, firstWaitSeconds: 60, maxWaitSeconds: 300 };

  it("lets the input lower the machine's poll budget but never raise it", () => {
    expect(pollSchedule({ schedule, maxPolls: 2 }).maxPolls).toBe(2);
    expect(pollSchedule({ schedule, maxPolls: 50 }).maxPolls).toBe(5);
  });

  it("doubles the wait up to its ceiling", () => {
    // 60 + 120 + 240 + 300 + 300
    expect(pollWindowSeconds(pollSchedule({ schedule }))).toBe(1020);
  });

  it("refuses a missing or inconsistent schedule, naming it", () => {
    expect(() => pollSchedule({})).toThrow(/schedule must be/);
    expect(() => pollSchedule({ schedule: { ...schedule, maxPolls: 0 } })).toThrow(/schedule.maxPolls/);
    expect(() => pollSchedule({ schedule: { ...schedule, maxWaitSeconds: 10 } })).toThrow(
      /maxWaitSeconds must be at least/,
    );
  });
});
