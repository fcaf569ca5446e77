import { afterEach, describe, expect, it } from "vitest";
import { reportError } from "../../../lib/cli/report.ts";
import { NotFoundError } from "../../../lib/errors.ts";

afterEach(() => {
  delete process.env.BLOCKVAULT_DEBUG;
});

function reported(err: unknown, json = false): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = reportError(err, json, (line) => lines.push(line));
  return { code, lines };
}

describe("reportError", () => {
  it("prints a blockvault error's message and exits with its code", () => {
    expect(reported(new NotFoundError("recovery point x does not exist"))).toEqual({
      code: 3,
      lines: ["blockvault: recovery point x does not exist"],
    });
  });

  it("prints an unforeseen system error as one line naming its code and path, exit 1", () => {
    const err = Object.assign(new Error("EACCES: permission denied, open '/v/x'\n    at open"), {
      code: "EACCES",
      path: "/v/x",
    });
    expect(reported(err)).toEqual({
      code: 1,
      lines: ["blockvault: unexpected failure EACCES (/v/x): EACCES: permission denied, open '/v/x'"],
    });
    expect(reported("boom")).toEqual({ code: 1, lines: ["blockvault: unexpected failure: boom"] });
  });

  it("with --json, prints one JSON object", () => {
    const { lines } = reported(new TypeError("x is not a function"), true);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      error: {
        name: "BlockvaultError",
        code: "BLOCKVAULT_ERROR",
        message: "unexpected failure: x is not a function",
      },
    });
  });

  it("adds the stack only when BLOCKVAULT_DEBUG asks for it", () => {
    const err = new Error("deep");
    expect(reported(err).lines).toHaveLength(1);
    process.env.BLOCKVAULT_DEBUG = "1";
    expect(reported(err).lines[1]).toBe(err.stack);
  });
});
