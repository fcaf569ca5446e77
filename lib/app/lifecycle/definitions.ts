import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { ValidationError } from "../../errors.ts";
import type { Machine } from "../../ports/workflows.ts";

/** The one Task resource the machines use: a Lambda invocation of the lifecycle function. */
export const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";

/** The Task resource of every machine's failure alert: an SNS Publish to the alert topic. */
export const SNS_PUBLISH = "arn:aws:states:::sns:publish";

/** What the ASL files' `${Name}` placeholders become locally (serverless.yml fills them in the cloud). */
export const LOCAL_SUBSTITUTIONS: Readonly<Record<string, string>> = {
  LifecycleFunctionArn: "arn:aws:lambda:local:000000000000:function:blockvault-lifecycle",
  AlertTopicArn: "arn:aws:sns:local:000000000000:blockvault-alerts",
};

/** A state as far as the runner looks at it. */
export interface StateShape {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: unknown[];
  readonly ItemProcessor?: { States: Record<string, StateShape> };
  readonly Iterator?: { States: Record<string, StateShape> };
  readonly Branches?: { States: Record<string, StateShape> }[];
}

/** Every state of a machine by name, those inside Map and Parallel states included (names are unique machine-wide). */
export function allStates(definition: { States: Record<string, unknown> }): [string, StateShape][] {
  const found: [string, StateShape][] = [];
  const walk = (states: Record<string, StateShape>) => {
    for (const [name, state] of Object.entries(states)) {
      found.push([name, state]);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) walk(inner.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States as Record<string, StateShape>);
  return found;
}

/** The directory of this repository's ASL files. */
export function statemachinesDir(): string {
  return fileURLToPath(new URL("../../../infra/statemachines/", import.meta.url));
}

/** Reads a machine's ASL file and fills in its `${Name}` placeholders. */
export async function loadDefinition(
  dir: string | undefined,
  machine: Machine,
): Promise<StateMachineDefinition> {
  const file = `${dir ?? statemachinesDir()}/${machine}.asl.json`;
  const text = (await readFile(file, "utf8")).replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = LOCAL_SUBSTITUTIONS[name];
    if (value === undefined) throw new ValidationError(`${file}: no local value for \${${name}}`);
    return value;
  });
  return JSON.parse(text) as StateMachineDefinition;
}
