import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { StateMachine } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../../lib/app/app-context.ts";
import {
  allStates,
  LAMBDA_INVOKE,
  loadDefinition,
  SNS_PUBLISH,
  statemachinesDir,
} from "../../../lib/app/lifecycle/definitions.ts";
import { LIFECYCLE_TASKS, runLifecycleTask } from "../../../lib/app/lifecycle/dispatch.ts";
import { ConflictError, TransientError, ValidationError } from "../../../lib/errors.ts";
import { Machine } from "../../../lib/ports/workflows.ts";

// serverless-step-functions (validate: true) checks definitions with this validator at package time.
const aslValidator = createRequire(import.meta.url)("asl-validator") as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

/**
 * What every Lambda task retries: the Lambda service's errors (the invocation itself throttled or
 * failed) and a crashed or timed-out function. Never `TransientError`: that one has already been
 * retried by the call that raised it (docs/design.md "Retry layers").
 */
const RETRYABLE = [
  "Lambda.ServiceException",
  "Lambda.TooManyRequestsException",
  "Lambda.Unknown",
  "Sandbox.Timedout",
  "States.Timeout",
];
const RETRIED_BELOW = ["TransientError", "States.ALL", "States.TaskFailed"];

interface TaskState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: { FunctionName?: string; Payload?: { task?: string }; TopicArn?: string };
  readonly Retry?: { ErrorEquals: string[] }[];
  readonly Catch?: { ErrorEquals: string[]; Next: string }[];
  readonly TimeoutSeconds?: number;
}

async function raw(machine: Machine): Promise<{ States: Record<string, unknown>; QueryLanguage?: string }> {
  return JSON.parse(await readFile(`${statemachinesDir()}/${machine}.asl.json`, "utf8"));
}

const machines = Object.values(Machine);

describe.each(machines)("%s.asl.json", (machine) => {
  it("is JSONPath ASL that serverless-step-functions and aws-local-stepfunctions accept", async () => {
    const definition = await raw(machine);
    expect(definition.QueryLanguage ?? "JSONPath").toBe("JSONPath");
    const filled = await loadDefinition(undefined, machine);
    // serverless validates the file as written (placeholders in place); the runner gets it filled in.
    for (const asWritten of [definition, filled]) {
      const result = aslValidator(asWritten);
      expect(result.errorsText("\n")).toBe("");
      expect(result.isValid).toBe(true);
    }
    expect(() => new StateMachine(filled)).not.toThrow();
  });

  it("invokes the lifecycle function for every task but the alert, naming a task the dispatcher knows", async () => {
    const definition = await raw(machine);
    const alert = definition.States.Alert as TaskState;
    expect(alert.Resource).toBe(SNS_PUBLISH);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder serverless.yml substitutes
    expect(alert.Parameters?.TopicArn).toBe("${AlertTopicArn}");
    const tasks = allStates(definition).filter(([n, s]) => s.Type === "Task" && n !== "Alert") as [
      string,
      TaskState,
    ][];
    expect(tasks.length).toBeGreaterThan(2);
    for (const [name, state] of tasks) {
      expect(state.Resource, name).toBe(LAMBDA_INVOKE);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder serverless.yml substitutes
      expect(state.Parameters?.FunctionName, name).toBe("${LifecycleFunctionArn}");
      expect(Object.keys(LIFECYCLE_TASKS), name).toContain(state.Parameters?.Payload?.task);
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
    }
  });

  it("retries retryable errors and catches everything on every task, into the failure path", async () => {
    const definition = await raw(machine);
    const states = new Map(allStates(definition));
    for (const [name, state] of allStates(definition) as [string, TaskState][]) {
      if (state.Type !== "Task" || name === "Alert") continue;
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      for (const error of RETRYABLE) expect(retried, name).toContain(error);
      for (const error of RETRIED_BELOW) expect(retried, name).not.toContain(error);
      const catchAll = (state.Catch ?? []).find((c) => c.ErrorEquals.includes("States.ALL"));
      expect(catchAll, name).toBeDefined();
      expect(states.has(catchAll!.Next), name).toBe(true);
    }
    // The failure path marks the job failed (fail-job), publishes the alert from the machine
    // (whether or not fail-job worked), then fails the execution whether or not the alert went out.
    type Step = TaskState & { Next: string };
    const failJob = definition.States.FailJob as Step;
    expect(failJob.Parameters?.Payload?.task).toBe("fail-job");
    expect(failJob.Next).toBe("Alert");
    expect(failJob.Catch?.map((c) => c.Next)).toEqual(["DescribeFailure"]);
    expect((definition.States.DescribeFailure as Step).Next).toBe("Alert");
    const alert = definition.States.Alert as Step;
    expect([alert.Next, ...(alert.Catch ?? []).map((c) => c.Next)]).toEqual(["Failed", "Failed"]);
    expect((definition.States.Failed as { Type: string }).Type).toBe("Fail");
  });
});

describe("the dispatcher", () => {
  it("knows only tasks some state machine names", async () => {
    const named = new Set<string>();
    for (const machine of machines) {
      for (const [, state] of allStates(await raw(machine)) as [string, TaskState][]) {
        if (state.Parameters?.Payload?.task) named.add(state.Parameters.Payload.task);
      }
    }
    expect([...named].sort()).toEqual(Object.keys(LIFECYCLE_TASKS).sort());
  });

  it("refuses an unknown or missing task with a ValidationError", async () => {
    const app = {} as AppContext;
    await expect(runLifecycleTask(app, { task: "format-disk" })).rejects.toBeInstanceOf(ValidationError);
    await expect(runLifecycleTask(app, { task: "toString" })).rejects.toBeInstanceOf(ValidationError);
    await expect(runLifecycleTask(app, null)).rejects.toThrow(/unknown lifecycle task/);
  });

  it("rethrows a retryable error of any class as a TransientError, the name the machines retry", async () => {
    const failing = (err: Error) => ({ vault: () => Promise.reject(err) }) as unknown as AppContext;
    const event = { task: "start-job", type: "tiering" };
    const lost = new ConflictError("lost a race", { retryable: true });
    const retried = await runLifecycleTask(failing(lost), event).catch((err: unknown) => err);
    expect(retried).toBeInstanceOf(TransientError);
    expect(retried).toMatchObject({ name: "TransientError", message: "lost a race", cause: lost });
    const refused = new ConflictError("refused");
    await expect(runLifecycleTask(failing(refused), event)).rejects.toBe(refused);
  });
});
