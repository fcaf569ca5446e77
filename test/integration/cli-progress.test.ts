import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliProcess } from "../helpers/cli.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "2";

const SIZE = 16 * 1024 * 1024;

let root: string;
let vault: string;
let image: string;
beforeAll(async () => {
  root = await tempDir("cli-progress");
  vault = join(root, "vault");
  image = join(root, "disk.img");
  await writeFile(image, seededBytes(9, SIZE));
  expect(runCliProcess(["init", "--vault", vault, "--block-size", "4096"], root).code).toBe(0);
});
afterAll(async () => {
  await removeDir(root);
});

interface Status {
  type: string;
  operation: string;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  secondsElapsed: number;
  secondsRemaining?: number | null;
  bytesPerSecond: number;
  [key: string]: unknown;
}

/** The stream's lines, each parsed; every line must be one JSON object. */
function streamOf(stderr: string): Status[] {
  const lines = stderr.trimEnd().split("\n");
  return lines.map((line) => JSON.parse(line) as Status);
}

/** Status lines moving forward to 100 %, then one summary with `fields`. */
function expectStream(stream: Status[], operation: string, fields: Record<string, unknown>): void {
  const statuses = stream.slice(0, -1);
  const summary = stream.at(-1)!;
  expect(statuses.length).toBeGreaterThanOrEqual(1);
  for (const s of statuses) {
    expect(s).toMatchObject({ type: "status", operation, bytesTotal: SIZE });
    expect(s.percent).toBe(Math.floor((s.bytesDone / SIZE) * 1000) / 10);
    expect(s.secondsElapsed).toBeGreaterThanOrEqual(0);
    expect(s).toHaveProperty("secondsRemaining");
    expect(s.bytesPerSecond).toBeGreaterThanOrEqual(0);
  }
  for (let i = 1; i < statuses.length; i++) {
    expect(statuses[i]!.bytesDone).toBeGreaterThan(statuses[i - 1]!.bytesDone);
  }
  expect(statuses.at(-1)).toMatchObject({ bytesDone: SIZE, percent: 100, secondsRemaining: 0 });
  expect(summary).toMatchObject({
    type: "summary",
    operation,
    bytesDone: SIZE,
    bytesTotal: SIZE,
    percent: 100,
    ...fields,
  });
  expect(summary.bytesPerSecond).toBeGreaterThan(0);
}

describe("the JSON progress stream", () => {
  let pointId: string;

  it("comes with --json on a backup: status lines, then a summary naming the point", () => {
    const run = runCliProcess(["backup", image, "--disk", "d", "--vault", vault, "--json"], root);
    expect(run.code, run.stderr).toBe(0);
    pointId = (JSON.parse(run.stdout) as { recoveryPointId: string }).recoveryPointId;
    expectStream(streamOf(run.stderr), "backup", { recoveryPointId: pointId, disk: "d" });
  });

  it("comes with --progress json on a restore, whose stdout stays the human summary", () => {
    const to = join(root, "restored.img");
    const run = runCliProcess(["restore", pointId, "--to", to, "--vault", vault, "--progress", "json"], root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Restored 16\.0 MiB of /);
    expectStream(streamOf(run.stderr), "restore", { recoveryPointId: pointId, target: to });
  });

  it("is left out with --progress none, and no bar is drawn off a terminal", () => {
    for (const extra of [["--json", "--progress", "none"], []]) {
      const to = join(root, `quiet-${extra.length}.img`);
      const run = runCliProcess(["restore", pointId, "--to", to, "--vault", vault, ...extra], root);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
    }
  });

  it("--progress bar draws the bar with throughput and ETA even off a terminal", () => {
    const to = join(root, "bar.img");
    const run = runCliProcess(["restore", pointId, "--to", to, "--vault", vault, "--progress", "bar"], root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /restore \[#{30}\] 100% 16\.0 MiB \/ 16\.0 MiB {2}[\d.]+ [KMG]iB\/s {2}ETA 0:00/,
    );
  });

  it("ends without a summary when the operation fails; the error is the last line", () => {
    const run = runCliProcess(
      ["restore", "no-such-point", "--to", join(root, "x.img"), "--vault", vault, "--json"],
      root,
    );
    expect(run.code).toBe(3);
    const lines = streamOf(run.stderr);
    expect(lines.some((l) => l.type === "summary")).toBe(false);
    expect(lines.at(-1)).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});
