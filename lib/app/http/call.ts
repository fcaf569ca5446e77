import type { Principal } from "../../rules/roles.ts";
import type { Approval, Vault } from "../../vault.ts";
import type { AppContext } from "../app-context.ts";
import type { HttpRequest, HttpResponse } from "./types.ts";

/** One validated request, ready for its handler. */
export interface Call {
  readonly app: AppContext;
  /** The deployment's vault, acting as the caller: every operation checks its roles. */
  readonly vault: Vault;
  readonly principal: Principal;
  readonly request: HttpRequest;
  /** Path parameters, query and headers (lower-case names), coerced to the spec's types. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The parsed body, valid against the operation's schema; undefined when it takes none. */
  readonly body: unknown;
}

/** Handles one operation. */
export type Handler = (call: Call) => Promise<HttpResponse>;

/** The approved request a critical operation presents (`X-Approval-Id`), if any. */
export function approvalOf(call: Call): Approval {
  const id = call.headers["x-approval-id"];
  return typeof id === "string" ? { approvalId: id } : {};
}

/** A path parameter, validated as a string by the spec. */
export function param(call: Call, name: string): string {
  return String(call.params[name]);
}
