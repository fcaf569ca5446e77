import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DECORATED_CLIENT_ATTEMPTS,
  decoratedClientConfig,
  SDK_STANDARD_ATTEMPTS,
  s3Client,
} from "../../lib/adapters/aws/clients.ts";
import { MAX_SETTLE_ATTEMPTS, settlePauseCeilingMs } from "../../lib/adapters/aws/dynamo/retry.ts";
import { redeliveryDelaySeconds } from "../../lib/adapters/aws/sqs-queue.ts";
import { LAMBDA_INVOKE, statemachinesDir } from "../../lib/app/lifecycle/definitions.ts";
import { DEFAULT_RETRY_POLICY } from "../../lib/decorators/retry.ts";
import { Machine } from "../../lib/ports/workflows.ts";
import {
  type AslState,
  type Retrier,
  retrierFor,
  retryDelaySeconds,
  type States,
} from "../helpers/asl-graph.ts";
import { packagedTemplate, REPO } from "./package-fixture.ts";
import { Resolver } from "./template.ts";

/** The AWS SDK's standard retry mode: the first backoff ceiling for throttling errors, doubling. */
const SDK_THROTTLING_DELAY_BASE_MS = 500;

/** One row of docs/design.md's "Retry layers" table, as computed from the configuration. */
interface Layer {
  readonly attempts: number;
  readonly seconds: number;
}

/** Seconds as the table writes them: seconds under ten minutes, minutes under two hours, hours. */
function duration(seconds: number): string {
  const round = (n: number, digits: number) => String(Number(n.toFixed(digits)));
  if (seconds < 600) return `${round(seconds, 1)} s`;
  if (seconds < 7200) return `${round(seconds / 60, 1)} min`;
  return `${round(seconds / 3600, 2)} h`;
}

/** The table under `### Retry layers`: first column -> [attempts, worst-case time]. */
async function documentedLayers(): Promise<Map<string, [string, string]>> {
  const design = await readFile(`${REPO}/docs/design.md`, "utf8");
  const section = design.split("### Retry layers")[1]?.split(/\n#{2,3} /)[0] ?? "";
  const rows = new Map<string, [string, string]>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 6 || cells[1] === "Failure" || cells[1]!.startsWith("-")) continue;
    rows.set(cells[1]!, [cells[3]!, cells[4]!]);
  }
  return rows;
}

/** Every Lambda task of every machine. */
async function lambdaTasks(): Promise<AslState[]> {
  const tasks: AslState[] = [];
  const walk = (states: States) => {
    for (const state of Object.values(states)) {
      const inner = (state as { ItemProcessor?: { States: States } }).ItemProcessor;
      if (inner) walk(inner.States);
      if (state.Type === "Task" && (state as { Resource?: string }).Resource === LAMBDA_INVOKE)
        tasks.push(state);
    }
  };
  for (const machine of Object.values(Machine)) {
    const text = await readFile(`${statemachinesDir()}/${machine}.asl.json`, "utf8");
    walk((JSON.parse(text) as { States: States }).States);
  }
  return tasks;
}

/** Attempts and total backoff of `retrier` (the first attempt included), from its own fields. */
function retried(retrier: Retrier | undefined): Layer {
  const retries = retrier?.MaxAttempts ?? 0;
  let seconds = 0;
  for (let n = 1; n <= retries; n++) seconds += retryDelaySeconds(retrier!, n);
  return { attempts: 1 + retries, seconds };
}

/** The worst over every Lambda task of what `error` gets, `perAttempt` seconds added per attempt. */
function worstTask(tasks: AslState[], error: string, perAttempt: (task: AslState) => number): Layer {
  let worst: Layer = { attempts: 0, seconds: 0 };
  for (const task of tasks) {
    const layer = retried(retrierFor(task, error));
    const seconds = layer.seconds + layer.attempts * perAttempt(task);
    if (seconds > worst.seconds || layer.attempts > worst.attempts) worst = { ...layer, seconds };
  }
  return worst;
}

/** The decorators' policy: attempts, and the sum of the backoff ceilings between them. */
function decorated(): Layer {
  const { maxAttempts, baseDelayMs, maxDelayMs } = DEFAULT_RETRY_POLICY;
  let ms = 0;
  for (let failed = 1; failed < maxAttempts; failed++)
    ms += Math.min(maxDelayMs, baseDelayMs * 2 ** (failed - 1));
  return { attempts: maxAttempts * DECORATED_CLIENT_ATTEMPTS, seconds: ms / 1000 };
}

function sdkStandard(): Layer {
  let ms = 0;
  for (let retry = 0; retry < SDK_STANDARD_ATTEMPTS - 1; retry++)
    ms += SDK_THROTTLING_DELAY_BASE_MS * 2 ** retry;
  return { attempts: SDK_STANDARD_ATTEMPTS, seconds: ms / 1000 };
}

function lostRaces(): Layer {
  let ms = 0;
  for (let n = 1; n < MAX_SETTLE_ATTEMPTS; n++) ms += settlePauseCeilingMs(n);
  return { attempts: MAX_SETTLE_ATTEMPTS, seconds: ms / 1000 };
}

/**
 * docs/design.md's retry table holds for the configuration as it is: the decorators' defaults,
 * the SDK attempts of lib/adapters/aws/clients.ts, the machines' Retry blocks and the packaged
 * queue and function settings. Change one and this test names the row to update.
 */
describe("retry layers", () => {
  let cfn: Resolver;
  let documented: Map<string, [string, string]>;
  let tasks: AslState[];

  beforeAll(async () => {
    cfn = new Resolver(await packagedTemplate("dev"));
    documented = await documentedLayers();
    tasks = await lambdaTasks();
  }, 900_000);

  /** The packaged fan-out queue and snapshot function: deliveries, visibility, run time. */
  function queue() {
    const props = cfn.resource("FanOutQueue").Properties ?? {};
    const { maxReceiveCount } = cfn.resolve(props.RedrivePolicy) as { maxReceiveCount: number };
    const visibility = props.VisibilityTimeout as number;
    const timeout = cfn.resource("SnapshotLambdaFunction").Properties?.Timeout as number;
    return { maxReceiveCount, visibility, timeout };
  }

  function computed(): Map<string, Layer> {
    const { maxReceiveCount, visibility, timeout } = queue();
    let backedOff = 0;
    for (let attempt = 1; attempt < maxReceiveCount; attempt++) backedOff += redeliveryDelaySeconds(attempt);
    const taskTimeout = (task: AslState) => task.TimeoutSeconds ?? 60;
    return new Map([
      ["Throttling or a transient service error, vault port", decorated()],
      ["Throttling or a transient service error, other AWS call", sdkStandard()],
      ["Throttled or failed Lambda invocation", worstTask(tasks, "Lambda.TooManyRequestsException", () => 0)],
      ["Lost race on a DynamoDB write", lostRaces()],
      ["Lifecycle function crash or timeout", worstTask(tasks, "Sandbox.Timedout", taskTimeout)],
      [
        "Snapshot function crash or timeout",
        {
          attempts: maxReceiveCount,
          seconds: maxReceiveCount * timeout + (maxReceiveCount - 1) * visibility,
        },
      ],
      [
        "Backup failing on every delivery",
        { attempts: maxReceiveCount, seconds: maxReceiveCount * timeout + backedOff },
      ],
    ]);
  }

  it("documents every layer with the attempts and worst-case time the configuration gives", () => {
    const layers = computed();
    expect([...documented.keys()]).toEqual([...layers.keys()]);
    for (const [failure, layer] of layers) {
      expect(documented.get(failure), failure).toEqual([String(layer.attempts), duration(layer.seconds)]);
    }
  });

  it("retries each kind in one layer only", async () => {
    // The SDK tries once under the decorators, and the standard three times elsewhere.
    expect(await s3Client(decoratedClientConfig({ region: "us-east-1" })).config.maxAttempts()).toBe(1);
    expect(await s3Client({ region: "us-east-1" }).config.maxAttempts()).toBe(SDK_STANDARD_ATTEMPTS);
    for (const task of tasks) {
      // What the call layers already retried is not retried again by the machines.
      expect(retrierFor(task, "TransientError")).toBeUndefined();
      expect(retrierFor(task, "ConflictError")).toBeUndefined();
      // Lambda service errors and crashes are retried by different retriers (counted apart).
      expect(retrierFor(task, "Lambda.TooManyRequestsException")).not.toBe(
        retrierFor(task, "Lambda.Unknown"),
      );
    }
    // A crashed snapshot run is redelivered by the queue, not retried by anything else: its
    // visibility timeout outlasts the function, so no second worker takes a live message.
    expect(queue().visibility).toBeGreaterThanOrEqual(queue().timeout);
  });
});

describe("duration", () => {
  it("writes seconds, minutes or hours as the table does", () => {
    expect([1.5, 122, 1830, 13_500].map(duration)).toEqual(["1.5 s", "122 s", "30.5 min", "3.75 h"]);
  });
});
