import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SPEC } from "../../../lib/app/http/spec.ts";
import { reportSince, SINCE_PATTERN } from "../../../lib/app/observe/usage-report.ts";

const NOW = Date.parse("2026-12-01T00:00:00Z");

describe("a usage report's since", () => {
  it("has the pattern the API spec documents", () => {
    const parameters = (
      SPEC.paths["/reports/usage"] as unknown as { get: { parameters: { schema: { pattern: string } }[] } }
    ).get.parameters;
    expect(parameters[0]!.schema.pattern).toBe(SINCE_PATTERN.source);
  });

  it("is read for every value the pattern allows", () => {
    const two = (min: number, max: number) => fc.integer({ min, max }).map((n) => String(n).padStart(2, "0"));
    const time = fc.tuple(
      two(0, 23),
      two(0, 59),
      fc.option(two(0, 59)),
      fc.constantFrom("", "Z", "+05:30", "-23:59"),
    );
    const value = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), two(1, 12), two(1, 31), fc.option(time))
      .map(([y, m, d, t]) => {
        const date = `${String(y).padStart(4, "0")}-${m}-${d}`;
        return t ? `${date}T${t[0]}:${t[1]}${t[2] ? `:${t[2]}` : ""}${t[3]}` : date;
      });
    fc.assert(
      fc.property(value, (v) => {
        expect(SINCE_PATTERN.test(v)).toBe(true);
        expect(Number.isNaN(reportSince(v, NOW))).toBe(false);
      }),
    );
  });

  it("refuses what is not a date, naming it", () => {
    for (const bad of ["0000-00-00", "2026-13-01", "yesterday", "2026-01-01T24:00", "2026-01-01 10:00"]) {
      expect(() => reportSince(bad, NOW)).toThrow(
        `since must be an ISO 8601 date or time such as 2026-11-01, got "${bad}"`,
      );
    }
    expect(reportSince(undefined, NOW)).toBe(NOW - 30 * 86_400_000);
  });
});
