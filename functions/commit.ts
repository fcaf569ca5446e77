import { openGateCatalog } from "../lib/compose/lambda-gate.ts";
import { writerGate } from "../lib/rules/writer-gate/gate.ts";
import { observedHandler } from "./observability.ts";
import { awsConfig } from "./runtime.ts";

let gate: ReturnType<typeof writerGate> | undefined;

/**
 * The writer's gate: the snapshot function, whose role may only read the catalog, makes each of
 * its catalog and reference writes through here; this function's role may write them, and makes
 * only what a backup may (lib/rules/writer-gate/serve.ts). The event is the encoded call, the
 * result the encoded reply (a refusal is a reply, so the writer sees it as the error it is).
 */
export const handler = observedHandler(async (event: unknown): Promise<string> => {
  gate ??= writerGate(openGateCatalog(awsConfig()));
  return gate.submit(typeof event === "string" ? event : JSON.stringify(event));
});
