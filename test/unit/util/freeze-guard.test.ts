import { describe, expect, it } from "vitest";
import { qemuGuestAgent } from "../../../lib/adapters/local/guest-agents/qemu-ga-agent.ts";
import { ValidationError } from "../../../lib/errors.ts";
import { checkFreezeTargets } from "../../../lib/util/freeze-guard.ts";

describe("the freeze guard", () => {
  it("keeps an explicit list of absolute mount points, normalised", () => {
    expect(checkFreezeTargets(["/srv/data/", "/var//lib/db"])).toEqual(["/srv/data", "/var/lib/db"]);
  });

  it.each([
    ["no list", undefined],
    ["an empty list", []],
    ["the root file system", ["/"]],
    ["the root file system spelt //", ["//"]],
    ["the root file system spelt /.", ["/."]],
    ["the root file system spelt /srv/..", ["/srv/.."]],
    ["a relative path", ["srv"]],
    ["a path with a newline", ["/srv\n/"]],
    ["a mount point twice", ["/srv", "/srv/"]],
    ["something not a string", [42]],
  ])("refuses %s", (_, targets) => {
    expect(() => checkFreezeTargets(targets)).toThrow(ValidationError);
  });

  it("is applied by the qemu-ga agent before anything is sent: an unreachable agent is never even tried", async () => {
    const agent = qemuGuestAgent("/nonexistent/blockvault-test.sock");
    await expect(agent.freeze(["/"])).rejects.toBeInstanceOf(ValidationError);
    await expect(agent.freeze([])).rejects.toThrow(/name the mount points/);
    // A list that passes reaches the (missing) agent and fails there, differently.
    await expect(agent.freeze(["/srv"])).rejects.toThrow(/cannot reach it/);
  });
});
