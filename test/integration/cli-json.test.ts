import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliProcess } from "../helpers/cli.ts";
import { type CliVault, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
beforeAll(async () => {
  fx = await makeCliVault();
  const policy = join(fx.root, "policy.json");
  await writeFile(
    policy,
    JSON.stringify({
      name: "nightly",
      schedule: { kind: "daily", times: ["01:00"] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 5,
    }),
  );
  for (const args of [
    ["policy", "create", "--file", policy],
    ["protect", fx.image, "--disk", "scheduled", "--policy", "nightly"],
  ]) {
    const run = runCliProcess([...args, "--vault", fx.vault], fx.root);
    expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(0);
  }
});
afterAll(async () => {
  if (fx) await removeDir(fx.root);
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
// Epoch milliseconds from 2001 to 2286: a number in this range in the output is a timestamp.
const EPOCH_MS = [1e12, 1e13] as const;

/** Every `[path, value]` leaf of a parsed JSON document. */
function leaves(value: unknown, path = "$"): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => leaves(v, `${path}.${k}`));
  return [[path, value]];
}

function jsonOf(...args: string[]): unknown {
  const run = runCliProcess([...args, "--vault", fx.vault, "--json"], fx.root);
  expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}

describe("--json output", () => {
  const commands = [
    ["list"],
    ["jobs"],
    ["audit"],
    ["policy", "list"],
    ["policy", "show", "nightly"],
    ["vault", "show"],
    ["vault", "lock", "preview"],
    ["delete", "POINT"],
    ["list"],
    ["undelete", "POINT"],
    // Last: years ahead, it runs the protected disk's backup for its slot.
    ["run-due", "--at", "2030-01-03T03:00:00Z"],
  ];

  it("gives every timestamp in ISO 8601, never as an epoch number", () => {
    let times = 0;
    for (const command of commands) {
      const args = command.map((a) => (a === "POINT" ? fx.pointId : a));
      for (const [path, value] of leaves(jsonOf(...args))) {
        const label = `${args.join(" ")} ${path}`;
        if (typeof value === "number") {
          expect(value >= EPOCH_MS[0] && value < EPOCH_MS[1], `${label} = ${value}`).toBe(false);
        }
        if (/\.(created|updated|started|ended|heartbeat|at|slot|deleteAfter|expires|until)$/.test(path)) {
          expect(value, label).toMatch(ISO);
          times++;
        }
      }
    }
    // Points, jobs, audit entries, policies and the run-due slots all have them.
    expect(times).toBeGreaterThan(10);
  });

  it("matches the table's time, to the second", () => {
    const [point] = jsonOf("list", "--disk", fx.disk) as { id: string; created: string }[];
    const table = runCliProcess(["list", "--disk", fx.disk, "--vault", fx.vault], fx.root).stdout;
    expect(table).toContain(point!.created.replace(/\.\d{3}Z$/, "Z"));
  });
});
