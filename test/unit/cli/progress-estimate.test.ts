import { describe, expect, it } from "vitest";
import { estimateProgress, formatDuration } from "../../../lib/cli/progress-estimate.ts";

describe("estimateProgress", () => {
  it("projects the time left from the average rate so far", () => {
    // A quarter done in 10 s: 30 s to go at 100 bytes a second.
    expect(estimateProgress(1000, 4000, 10_000)).toEqual({
      bytesDone: 1000,
      bytesTotal: 4000,
      percent: 25,
      secondsElapsed: 10,
      secondsRemaining: 30,
      bytesPerSecond: 100,
    });
  });

  it("knows no ETA before a byte is done, and none is left once all are", () => {
    expect(estimateProgress(0, 4000, 2000).secondsRemaining).toBeNull();
    expect(estimateProgress(0, 4000, 0).secondsRemaining).toBeNull();
    expect(estimateProgress(4000, 4000, 2000)).toMatchObject({ percent: 100, secondsRemaining: 0 });
  });

  it("shows 100 % only when everything is done, and never more", () => {
    expect(estimateProgress(9999, 10_000, 1000).percent).toBe(99.9);
    expect(estimateProgress(12_000, 10_000, 1000)).toMatchObject({ bytesDone: 10_000, percent: 100 });
    expect(estimateProgress(0, 0, 5).percent).toBe(100);
  });
});

describe("formatDuration", () => {
  it("writes minutes and seconds, hours when needed, and dashes when unknown", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(74.2)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("--:--");
  });
});
