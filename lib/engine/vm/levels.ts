import { Consistency } from "../../model.ts";

/** The consistency levels, lowest first. */
const ORDER: readonly Consistency[] = [Consistency.Crash, Consistency.FileSystem, Consistency.Application];

/** Whether `level` is at least `minimum`. */
export function meetsMinimum(level: Consistency, minimum: Consistency): boolean {
  return ORDER.indexOf(level) >= ORDER.indexOf(minimum);
}
