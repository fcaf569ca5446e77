import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { type AwsConfig, endpointFor } from "./clients.ts";

/** Clients of the VM adapters (SSM Run Command, EC2 snapshots), built like those of clients.ts. */

export function ssmClient(config: AwsConfig): SSMClient {
  const client = new SSMClient(vmClientConfig(config, "SSM"));
  return config.instrument ? config.instrument(client) : client;
}

export function ec2Client(config: AwsConfig): EC2Client {
  const client = new EC2Client(vmClientConfig(config, "EC2"));
  return config.instrument ? config.instrument(client) : client;
}

function vmClientConfig(config: AwsConfig, service: string) {
  const endpoint = endpointFor(config, service);
  return {
    region: config.region ?? process.env.AWS_REGION ?? "us-east-1",
    ...(endpoint ? { endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    ...(config.maxAttempts ? { maxAttempts: config.maxAttempts } : {}),
  };
}
