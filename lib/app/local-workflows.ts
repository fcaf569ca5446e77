import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { ConflictError, ValidationError } from "../errors.ts";
import type { Alert } from "../ports/alerts.ts";
import { Machine, type Workflows } from "../ports/workflows.ts";
import type { AppContext } from "./app-context.ts";
import { allStates, LAMBDA_INVOKE, loadDefinition, SNS_PUBLISH } from "./lifecycle/definitions.ts";
import { runLifecycleTask } from "./lifecycle/dispatch.ts";

/** How an execution stands or ended, as Step Functions' DescribeExecution would say. */
export interface ExecutionOutcome {
  readonly executionId: string;
  readonly machine: Machine;
  readonly name: string;
  readonly status: "RUNNING" | "SUCCEEDED" | "FAILED";
  readonly output?: unknown;
  /** The error and cause a failed execution ended with (the Fail state's). */
  readonly error?: string;
  readonly cause?: string;
}

/** Options of {@link LocalWorkflows}. */
export interface LocalWorkflowsOptions {
  /** The application the tasks run against; a function, since the AppContext holds these workflows. */
  readonly app: () => AppContext;
  /** Milliseconds every Wait state waits instead of its own duration (tests use 0). */
  readonly waitMs?: number;
  /** Milliseconds before each retry instead of the machine's backoff (tests use 0). */
  readonly retryIntervalMs?: number;
  /** Where the ASL files are; infra/statemachines/ of this repository by default. */
  readonly definitionsDir?: string;
  /**
   * Told of every `lambda:invoke` task that returned: the state, the payload it was invoked with and
   * what it returned (as JSON), e.g. to replay an execution on Step Functions with those results.
   */
  readonly onTask?: (task: LambdaTaskRecord) => void;
}

/** One `lambda:invoke` task of an execution, as {@link LocalWorkflowsOptions.onTask} is told of it. */
export interface LambdaTaskRecord {
  readonly executionId: string;
  readonly state: string;
  readonly payload: unknown;
  readonly result: unknown;
}

interface Execution {
  /** The input as JSON text: a second start of the name must bring the same. */
  readonly input: string;
  outcome: ExecutionOutcome;
  readonly done: Promise<ExecutionOutcome>;
}

/** Execution names as Step Functions accepts them (a subset: no Unicode). */
const NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MACHINES: readonly string[] = Object.values(Machine);

/** Reports a thrown error the way the Lambda runtime does, so the machines see what they see in the cloud. */
function asLambdaError(err: unknown): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  const reported = new Error(JSON.stringify({ errorType: error.name, errorMessage: error.message }));
  reported.name = error.name;
  return reported;
}

/**
 * The alert an `sns:publish` task sends: its `Message` is the alert object, which Step Functions
 * serialises as JSON, the shape `SnsAlerts` publishes, so subscribers read one format whoever
 * sent it.
 */
function publishedAlert(parameters: unknown): Alert {
  const { Subject, Message } = (parameters ?? {}) as { Subject?: unknown; Message?: unknown };
  const parsed = (typeof Message === "object" && Message !== null ? Message : {}) as Partial<Alert>;
  return {
    subject: typeof parsed.subject === "string" ? parsed.subject : String(Subject ?? "blockvault alert"),
    message: typeof parsed.message === "string" ? parsed.message : String(Message ?? ""),
    ...(typeof parsed.jobId === "string" ? { jobId: parsed.jobId } : {}),
  };
}

/**
 * The embedded runtime's {@link Workflows}: runs the very ASL files serverless.yml deploys on
 * aws-local-stepfunctions, in process. Every `lambda:invoke` task goes to
 * {@link runLifecycleTask} with its `Payload`, and its result comes back shaped like the
 * invocation's (`{StatusCode, Payload}`), JSON round-tripped as a Lambda's would be; every
 * `sns:publish` task (the failure alert) goes to the application's alerts. Executions
 * run in the background; {@link wait} awaits one. Starting a name already used for a machine
 * returns the existing execution, or, with other input, is a `ConflictError` (as on Step Functions).
 */
export class LocalWorkflows implements Workflows {
  readonly #options: LocalWorkflowsOptions;
  readonly #executions = new Map<string, Execution>();
  readonly #definitions = new Map<Machine, Promise<StateMachineDefinition>>();

  constructor(options: LocalWorkflowsOptions) {
    this.#options = options;
  }

  async start(machine: Machine, executionName: string, input: Record<string, unknown>) {
    if (!MACHINES.includes(machine)) throw new ValidationError(`unknown state machine ${machine}`);
    if (!NAME.test(executionName)) {
      throw new ValidationError(`execution name must be 1-80 letters, digits, - or _: ${executionName}`);
    }
    const executionId = `arn:aws:states:local:000000000000:execution:blockvault-${machine}:${executionName}`;
    const text = JSON.stringify(input);
    const existing = this.#executions.get(executionId);
    if (existing) {
      // As Step Functions: the same start again is the same execution; other input is a conflict.
      if (existing.input !== text) {
        throw new ConflictError(`${machine} execution ${executionName} exists with other input`);
      }
      return { executionId };
    }
    const outcome: ExecutionOutcome = { executionId, machine, name: executionName, status: "RUNNING" };
    // Registered before anything is awaited, so that two starts of one name share one execution.
    const execution: Execution = {
      input: text,
      outcome,
      done: this.#run(outcome, JSON.parse(text)).then((ended) => {
        execution.outcome = ended;
        return ended;
      }),
    };
    this.#executions.set(executionId, execution);
    return { executionId };
  }

  /** How an execution stands now. */
  describe(executionId: string): ExecutionOutcome {
    return this.#get(executionId).outcome;
  }

  /** Resolves when the execution has ended (never rejects: a failure is an outcome). */
  wait(executionId: string): Promise<ExecutionOutcome> {
    return this.#get(executionId).done;
  }

  /** Resolves when every execution started so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#executions.values()].map((e) => e.done));
  }

  #get(executionId: string): Execution {
    const execution = this.#executions.get(executionId);
    if (!execution) throw new ValidationError(`no execution ${executionId}`);
    return execution;
  }

  async #run(started: ExecutionOutcome, input: Record<string, unknown>): Promise<ExecutionOutcome> {
    try {
      const definition = await this.#definition(started.machine);
      const run = new StateMachine(definition).run(input as never, {
        overrides: this.#overrides(definition, started.executionId),
        context: {
          Execution: {
            Id: started.executionId,
            Name: started.name,
            Input: input as never,
            StartTime: new Date().toISOString(),
          },
        },
      });
      return { ...started, status: "SUCCEEDED", output: await run.result };
    } catch (err) {
      // aws-local-stepfunctions wraps the error that ended the execution as `cause`.
      const cause = (err as { cause?: unknown }).cause;
      const failure = cause instanceof Error ? cause : (err as Error);
      return { ...started, status: "FAILED", error: failure.name, cause: failure.message };
    }
  }

  #definition(machine: Machine): Promise<StateMachineDefinition> {
    let definition = this.#definitions.get(machine);
    if (!definition) {
      definition = loadDefinition(this.#options.definitionsDir, machine);
      this.#definitions.set(machine, definition);
      definition.catch(() => this.#definitions.delete(machine));
    }
    return definition;
  }

  #overrides(definition: StateMachineDefinition, executionId: string) {
    const tasks: Record<string, (input: unknown) => Promise<unknown>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    const { app, waitMs, retryIntervalMs, onTask } = this.#options;
    for (const [name, state] of allStates(definition)) {
      if (state.Type === "Task" && state.Resource === LAMBDA_INVOKE) {
        tasks[name] = async (input) => {
          const payload = (input as { Payload?: unknown }).Payload;
          try {
            const sent = JSON.parse(JSON.stringify(payload ?? null));
            const result = JSON.parse(JSON.stringify((await runLifecycleTask(app(), sent)) ?? null));
            onTask?.({ executionId, state: name, payload: sent, result });
            return { StatusCode: 200, Payload: result };
          } catch (err) {
            throw asLambdaError(err);
          }
        };
      }
      if (state.Type === "Task" && state.Resource === SNS_PUBLISH) {
        tasks[name] = async (input) => {
          await app().alerts.publish(publishedAlert(input));
          return { MessageId: `local-${name}` };
        };
      }
      if (state.Type === "Wait" && waitMs !== undefined) waits[name] = waitMs;
      if (state.Retry && retryIntervalMs !== undefined) retries[name] = retryIntervalMs;
    }
    return {
      taskResourceLocalHandlers: tasks as never,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    };
  }
}
