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
