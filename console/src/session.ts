import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Caller } from "./types.ts";

/** Who is signed in, for pages to show only what the caller's roles allow. */
export const SessionContext = createContext<Caller>({ name: "", roles: [] });

/** The signed-in caller, for a page to decide what to offer. */
export function useCaller(): Caller {
  return useContext(SessionContext);
}
