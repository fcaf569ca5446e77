import { describe, expect, it } from "vitest";
import { meetsMinimum } from "../../../lib/engine/vm/levels.ts";
import { Consistency } from "../../../lib/model.ts";

describe("consistency levels", () => {
  it("order crash < file-system < application", () => {
    expect(meetsMinimum(Consistency.Application, Consistency.FileSystem)).toBe(true);
    expect(meetsMinimum(Consistency.FileSystem, Consistency.FileSystem)).toBe(true);
    expect(meetsMinimum(Consistency.Crash, Consistency.FileSystem)).toBe(false);
    expect(meetsMinimum(Consistency.FileSystem, Consistency.Application)).toBe(false);
    expect(meetsMinimum(Consistency.Crash, Consistency.Crash)).toBe(true);
  });
});
