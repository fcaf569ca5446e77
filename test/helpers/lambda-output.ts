import type { Context } from "aws-lambda";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { METRICS } from "../../lib/metrics.ts";

/** A context as the Lambda runtime passes it to a handler. */
export function lambdaContext(functionName: string, awsRequestId: string): Context {
  return {
    functionName,
    awsRequestId,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/12/07/[$LATEST]0123456789abcdef",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** One EMF document: CloudWatch's directive and the values beside it. */
export interface Emf {
  readonly _aws: {
    readonly CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[];
  };
  readonly [key: string]: unknown;
}

/** What the functions wrote to stdout and stderr during one test, parsed as JSON lines. */
export interface LambdaOutput {
  /** Every JSON line, in order (Powertools writes one object a line). */
  readonly lines: Record<string, unknown>[];
  /** The EMF blobs of the application's metrics (not Powertools' separate cold-start blob). */
  metricBlobs(): Emf[];
  /** The cold-start EMF blobs. */
  coldStarts(): Record<string, unknown>[];
  /** The one application blob flushed (failing otherwise), with each metric's unit. */
  onlyBlob(): { blob: Emf; units: Record<string, string> };
  /** The log lines (not metric blobs) Powertools' logger wrote. */
  logLines(): Record<string, unknown>[];
}

/**
 * Captures the process's output for each test of the calling file (and restores mocks and
 * stubbed environment variables after it).
 */
export function captureLambdaOutput(): LambdaOutput {
  const lines: Record<string, unknown>[] = [];
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split("\n")) {
      if (line.trim().startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  };
  beforeEach(() => {
    lines.length = 0;
    vi.spyOn(process.stdout, "write").mockImplementation(capture);
    vi.spyOn(process.stderr, "write").mockImplementation(capture);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const isEmf = (l: Record<string, unknown>) => "_aws" in l;
  const output: LambdaOutput = {
    lines,
    metricBlobs: () => lines.filter((l) => isEmf(l) && !("ColdStart" in l)) as unknown as Emf[],
    coldStarts: () => lines.filter((l) => isEmf(l) && "ColdStart" in l),
    onlyBlob: () => {
      const blobs = output.metricBlobs();
      expect(blobs).toHaveLength(1);
      const blob = blobs[0]!;
      const directive = blob._aws.CloudWatchMetrics[0]!;
      expect(directive.Namespace).toBe("blockvault");
      return { blob, units: Object.fromEntries(directive.Metrics.map((m) => [m.Name, m.Unit])) };
    },
    logLines: () => lines.filter((l) => "message" in l && "level" in l),
  };
  return output;
}

/** Every unit in `units` is the one lib/metrics.ts gives its metric. */
export function expectUnitsFromVocabulary(units: Record<string, string>): void {
  expect(Object.keys(units).length).toBeGreaterThan(0);
  for (const [name, unit] of Object.entries(units)) {
    expect(unit, name).toBe(METRICS[name as keyof typeof METRICS]);
  }
}
