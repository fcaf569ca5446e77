import {
  AccessDeniedError,
  AlreadyExistsError,
  BlockvaultError,
  ConflictError,
  IntegrityError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../errors.ts";
import type { GatedPort, WriterCall } from "../../ports/writer-gate.ts";
import { fromWire, toWire } from "../../util/wire-json.ts";

/** What the gate answers: the method's result, or the error it ended with. */
export type WriterReply =
  | { readonly result: unknown }
  | { readonly error: { readonly name: string; readonly message: string; readonly retryable: boolean } };

const PORTS: readonly GatedPort[] = ["catalog", "references"];

/** Encodes a call for {@link WriterGate.submit}. */
export function encodeCall(call: WriterCall): string {
  return toWire(call);
}

/** Decodes a call; anything but a well-formed one is a `ValidationError`. */
export function decodeCall(text: string): WriterCall {
  let call: Partial<WriterCall> | null;
  try {
    call = fromWire(text) as Partial<WriterCall> | null;
  } catch (cause) {
    throw new ValidationError("writer call: not valid JSON", { cause });
  }
  if (
    call === null ||
    typeof call !== "object" ||
    !PORTS.includes(call.port as GatedPort) ||
    typeof call.method !== "string" ||
    !Array.isArray(call.args)
  )
    throw new ValidationError("writer call: expected { port, method, args }");
  return { port: call.port as GatedPort, method: call.method, args: call.args };
}

/** Encodes the outcome of a call: its result, or its error as name, message and retryable. */
export function encodeReply(outcome: { result: unknown } | { error: unknown }): string {
  if ("result" in outcome) return toWire({ result: outcome.result });
  const err = outcome.error;
  const name = err instanceof BlockvaultError ? err.name : "BlockvaultError";
  const message = err instanceof Error ? err.message : String(err);
  const retryable = err instanceof BlockvaultError && err.retryable;
  return toWire({ error: { name, message, retryable } });
}

const REBUILT: Record<string, new (message: string, opts: { retryable?: boolean }) => BlockvaultError> = {
  AccessDeniedError,
  AlreadyExistsError,
  ConflictError,
  IntegrityError,
  NotFoundError,
  TransientError,
  ValidationError,
};

/**
 * The result a reply carries, or its error rebuilt as the same class (the engine decides on
 * `instanceof`: a `ConflictError` is a lost race, an `AlreadyExistsError` a landed retry).
 */
export function resultOf(text: string): unknown {
  const reply = fromWire(text) as WriterReply;
  if ("result" in reply) return reply.result;
  const { name, message, retryable } = reply.error;
  const ErrorClass = REBUILT[name] ?? BlockvaultError;
  throw new ErrorClass(message, { retryable });
}
