import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { AwsConfig } from "../../lib/adapters/aws/clients.ts";

/** Client settings for the emulator the global setup started (or `AWS_ENDPOINT_URL`). */
export function emulatorConfig(): AwsConfig {
  return {
    endpoint: inject("awsEndpoint"),
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
}

/** A resource name no other test uses: lower-case, valid for buckets, tables and prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/**
 * Points this process's AWS settings at the emulator, as a user's shell would for the CLI (which
 * reads them from the environment), and returns the CLI flags of a fresh vault's bucket and table.
 */
export function useEmulatorFromCli(): { bucket: string; table: string; flags: string[] } {
  const config = emulatorConfig();
  process.env.AWS_ENDPOINT_URL = config.endpoint;
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  process.env.AWS_REGION = "us-east-1";
  const bucket = uniqueName("vault");
  const table = uniqueName("catalog");
  return { bucket, table, flags: ["--backend", "aws", "--bucket", bucket, "--table", table] };
}
