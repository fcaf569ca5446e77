import type { AppContext } from "../lib/app/app-context.ts";
import { buildCloudApp } from "../lib/compose/lambda.ts";

export { awsConfig, buildCloudApp } from "../lib/compose/lambda.ts";

let app: AppContext | undefined;

/** The function's application, built on first use and kept for the container's life. */
export async function cloudApp(): Promise<AppContext> {
  app ??= buildCloudApp();
  return app;
}
