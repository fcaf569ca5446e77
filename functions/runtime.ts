import type { AwsConfig } from "../lib/adapters/aws/clients.ts";
import type { AppContext } from "../lib/app/app-context.ts";
import { buildCloudApp as buildLambdaApp } from "../lib/compose/lambda.ts";
import { traceClient } from "./observability.ts";

/**
 * Client settings of every function: the SDK's defaults, an emulator when AWS_ENDPOINT_URL says
 * so, every client's calls traced.
 */
export function awsConfig(): AwsConfig {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return { ...(endpoint ? { endpoint } : {}), maxAttempts: 3, instrument: traceClient };
}

/** Builds the application on the AWS adapters from the function's environment. */
export function buildCloudApp(): AppContext {
  return buildLambdaApp(awsConfig());
}

let app: AppContext | undefined;

/** The function's application, built on first use and kept for the container's life. */
export async function cloudApp(): Promise<AppContext> {
  app ??= buildCloudApp();
  return app;
}
