import type { TestProject } from "vitest/node";
import { startMoto } from "./moto.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Endpoint of the AWS emulator every AWS-adapter test talks to. */
    awsEndpoint: string;
  }
}

/**
 * Gives the suite an AWS emulator: the one at `AWS_ENDPOINT_URL` when set (LocalStack, say),
 * otherwise a moto server started here on a free loopback port and stopped at the end.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.AWS_ENDPOINT_URL;
  if (given) {
    project.provide("awsEndpoint", given);
    return undefined;
  }
  const moto = await startMoto();
  project.provide("awsEndpoint", moto.endpoint);
  return () => moto.stop();
}
