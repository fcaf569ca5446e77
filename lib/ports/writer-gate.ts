/** The two ports whose writes a writer makes through the gate. */
export type GatedPort = "catalog" | "references";

/** One write a writer asks the gate to make: a method of a port and its arguments. */
export interface WriterCall {
  readonly port: GatedPort;
  readonly method: string;
  readonly args: readonly unknown[];
}

/**
 * The gate between the snapshot writer and the vault's records. A writer may read the catalog
 * and the reference store, but every write it makes goes through here, to a process with a role
 * of its own, which checks the write against what a backup may do (see rules/writer-gate/) and
 * only then makes it. So a stolen writer credential cannot rewrite a committed point, a policy,
 * the settings or a finished job, whatever the storage's own access control can express.
 *
 * Contract:
 * - `submit` takes one call encoded as wire JSON (util/wire-json.ts) and resolves to the reply,
 *   encoded the same way: `{ "result": … }` or `{ "error": { "name", "message", "retryable" } }`.
 *   A refused or failed call is a reply, never a rejection; a rejection means the gate could not
 *   be reached or did not answer (retryable when the transport says so).
 * - A call is exactly as idempotent as the port method it names: the gate adds no retries.
 */
export interface WriterGate {
  submit(request: string): Promise<string>;
}
